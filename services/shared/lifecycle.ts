/**
 * The one lifecycle skeleton of the services and their Kafka components:
 *
 *   created -> starting -> running -> stopping -> stopped
 *                      \-> failed (start threw; cleanup ran)
 *
 * start() runs once; stop() is idempotent (concurrent and repeated calls share one shutdown) and bounded:
 * if the shutdown has not finished within `stopTimeoutMs`, the state becomes stopped anyway and stop()
 * rejects with ShutdownTimeoutError (what is still running is abandoned). Signals stay in signals.ts.
 */
import { ShutdownTimeoutError } from './errors.ts';

export type LifecycleState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export class Lifecycle {
  private _state: LifecycleState = 'created';
  private stopping?: Promise<void>;

  constructor(
    private readonly what: string,
    private readonly stopTimeoutMs = 30_000,
  ) {}

  get state(): LifecycleState {
    return this._state;
  }
  get running(): boolean {
    return this._state === 'running';
  }
  /** Starting or running: the state in which work should go on. */
  get active(): boolean {
    return this._state === 'starting' || this._state === 'running';
  }

  /** Runs `start`; on failure the state is failed, `cleanup` runs, and the error is rethrown. */
  async start(start: () => Promise<void>, cleanup: () => Promise<void>): Promise<void> {
    if (this._state !== 'created') throw new Error(`${this.what} cannot start from state ${this._state}`);
    this._state = 'starting';
    try {
      await start();
    } catch (e) {
      this._state = 'failed';
      await cleanup().catch(() => undefined);
      throw e;
    }
    // stop() may have been called while starting.
    if (this._state === 'starting') this._state = 'running';
  }

  /** Idempotent and bounded (see the module comment). */
  stop(shutdown: () => Promise<void>): Promise<void> {
    this.stopping ??= (async () => {
      if (this._state === 'created' || this._state === 'stopped') {
        this._state = 'stopped';
        return;
      }
      this._state = 'stopping';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ShutdownTimeoutError(this.stopTimeoutMs)), this.stopTimeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([shutdown(), timeout]);
      } finally {
        clearTimeout(timer);
        this._state = 'stopped';
      }
    })();
    return this.stopping;
  }
}
