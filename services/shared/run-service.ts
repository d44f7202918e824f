/**
 * The entry-point lifecycle every service shares: load and validate the config (exit 2 naming the bad
 * variables), create the service, install the signal handlers, start it (exit 1 if it cannot start).
 */
import { ConfigError } from './errors.ts';
import { threadpoolProblem } from './kafka/native.ts';
import { createLogger, type Logger } from './log.ts';
import { installSignalHandlers } from './signals.ts';

export interface RunnableService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Settles if the running service can no longer do its job (e.g. Kafka clients not recovered in time): exit 1. */
  readonly fatal?: Promise<Error>;
}

export async function runService<C extends { readonly logLevel: string; readonly shutdownTimeoutMs: number }>(
  name: string,
  loadConfig: () => C,
  create: (config: C, log: Logger) => RunnableService,
): Promise<void> {
  let config: C;
  try {
    const pool = threadpoolProblem();
    if (pool) throw new ConfigError(pool, ['UV_THREADPOOL_SIZE']);
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`${name}: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(name, config.logLevel);
  const service = create(config, log);
  installSignalHandlers(() => service.stop(), { timeoutMs: config.shutdownTimeoutMs, log: (m, extra) => log.info(extra ?? {}, m) });
  void service.fatal?.then(async (e) => {
    log.fatal({ err: e }, `${name} cannot do its job; exiting`);
    const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    timer.unref();
    await service.stop().catch(() => undefined);
    process.exit(1);
  });
  try {
    await service.start();
  } catch (e) {
    log.fatal({ err: e }, `${name} failed to start`);
    await service.stop().catch(() => undefined);
    process.exit(1);
  }
}
