/**
 * Signals are handled here and nowhere else: SIGTERM/SIGINT start one graceful stop; if it has not finished
 * within the timeout, the process exits with a ShutdownTimeoutError. A second signal forces exit at once.
 */
import { ShutdownTimeoutError } from './errors.ts';

export function installSignalHandlers(
  stop: () => Promise<void>,
  opts: { timeoutMs: number; log: (msg: string, extra?: Record<string, unknown>) => void; exit?: (code: number) => void },
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.log(`received ${signal} again; exiting now`);
      exit(130);
      return;
    }
    stopping = true;
    opts.log(`received ${signal}; stopping gracefully`, { timeoutMs: opts.timeoutMs });
    const timer = setTimeout(() => {
      const e = new ShutdownTimeoutError(opts.timeoutMs);
      opts.log(e.message, { code: e.code });
      exit(1);
    }, opts.timeoutMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        exit(0);
      },
      (e: unknown) => {
        clearTimeout(timer);
        opts.log(`error during shutdown: ${(e as Error).message}`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
