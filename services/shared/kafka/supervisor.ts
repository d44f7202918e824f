/**
 * The one client supervisor: keeps a set of long-lived Kafka clients (a "session": e.g. the scorer's
 * consumer + transactional producer + admin) alive for the lifetime of a service.
 *
 * librdkafka rides out broker restarts and leader moves by itself; what ends a client for good is a fatal
 * error (a fenced or invalid-epoch transactional producer, a fatal consumer error), which the session
 * reports through `fail(client, reason)`; the supervisor then closes the whole session (bounded: a hung
 * client is abandoned after closeTimeoutMs), and opens a fresh one with exponential backoff. A fresh
 * consumer resumes from the committed offsets; a fresh transactional producer's initTransactions fences
 * the old one. Every recovery is reported (`onRestart`, counted as
 * `<service>_kafka_client_restarts_total{client,reason}` by the services' metrics).
 *
 * Liveness: `alive` is false from a failure until the new session reports `healthy()` (for a consumer:
 * joined its group). If that does not happen within `deadlineMs`, the supervisor gives up (`onGiveUp`) and
 * the service exits non-zero so its own supervisor (systemd, Kubernetes) restarts the process.
 *
 * States: idle -> opening -> running <-> recovering -> stopped | gave-up.
 */
import { ServiceError } from '../errors.ts';
import { errorChain, kafkaErrorCodes } from './errors.ts';

export type SupervisorState = 'idle' | 'opening' | 'running' | 'recovering' | 'stopped' | 'gave-up';

export interface SessionContext {
  /** Report that a client of this session died; the supervisor replaces the session. Stale calls are ignored. */
  fail(client: string, reason: unknown): void;
  /** Report that the session works (e.g. the consumer joined); ends a recovery. */
  healthy(): void;
  /** How many sessions were opened before this one (0 for the first). */
  readonly attempt: number;
  /**
   * False once the supervisor has replaced (or stopped) this session. A replaced session's clients must do
   * no more work: a batch still in flight when its session was replaced must not commit with a producer
   * that is being closed. Handlers consult this before processing a batch.
   */
  readonly current: boolean;
}

/** Thrown by a replaced session's batch handler: non-retriable (its consumer is being closed). */
export class StaleSessionError extends Error {
  override readonly name = 'StaleSessionError';
  readonly retriable = false;
  constructor(name: string) {
    super(`${name}: this kafka session was replaced; its consumer stops`);
  }
}

export interface SupervisorOptions<S> {
  /** Name for logs, e.g. "scorer" or "drift-instance". */
  readonly name: string;
  readonly open: (ctx: SessionContext) => Promise<S>;
  readonly close: (session: S) => Promise<void>;
  /** Give up if not healthy again within this long after a failure. */
  readonly deadlineMs: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long closing a failed session may take before its clients are abandoned. */
  readonly closeTimeoutMs?: number;
  readonly onRestart?: (e: { client: string; reason: string; error: string; attempt: number }) => void;
  readonly onRecovered?: (e: { downMs: number }) => void;
  readonly onOpenFailed?: (e: { error: string; attempt: number; retryInMs: number }) => void;
  readonly onGiveUp?: (e: { client: string; reason: string; downMs: number }) => void;
}

/**
 * A short, stable label for why a client failed (a metric label): the librdkafka error code in the chain
 * (ILLEGAL_GENERATION, _TRANSPORT), else our ServiceError code, else the error's name.
 */
export function failureReason(e: unknown): string {
  const kafka = kafkaErrorCodes(e)[0];
  if (kafka) return kafka;
  for (const x of errorChain(e)) {
    const c = x as { type?: unknown; code?: unknown };
    if (x instanceof ServiceError) return x.code;
    if (typeof c.type === 'string' && c.type) return c.type;
  }
  const name = (e as { name?: unknown })?.name;
  return typeof name === 'string' && name ? name : 'unknown';
}

export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class ClientSupervisor<S> {
  private _state: SupervisorState = 'idle';
  private session?: S;
  private epoch = 0;
  private opened = 0;
  private downSince?: number;
  private down?: { client: string; reason: string };
  private deadline?: NodeJS.Timeout;
  private recovering?: Promise<void>;
  private readonly wake = new Set<() => void>();

  constructor(private readonly o: SupervisorOptions<S>) {}

  get state(): SupervisorState {
    return this._state;
  }
  /** False while a client is dead and being replaced, or after giving up. */
  get alive(): boolean {
    return this._state === 'opening' || this._state === 'running' || this._state === 'idle';
  }
  /** Why the service is not alive, for /health. */
  get deadReason(): string | undefined {
    if (this.alive) return undefined;
    if (this._state === 'stopped') return `${this.o.name} kafka clients stopped`;
    return `${this.o.name} kafka ${this.down?.client ?? 'client'} failed (${this.down?.reason ?? 'unknown'})${this._state === 'gave-up' ? '; gave up' : '; recovering'}`;
  }
  get current(): S | undefined {
    return this.session;
  }

  /** Opens the first session; its failure is the caller's (a service that cannot start exits 1). */
  async start(): Promise<void> {
    if (this._state !== 'idle') throw new Error(`supervisor ${this.o.name} cannot start from ${this._state}`);
    this._state = 'opening';
    const epoch = ++this.epoch;
    const s = await this.o.open(this.context(epoch));
    this.opened++;
    // A client of this session already failed while it opened: recovery owns the session slot now.
    if (epoch !== this.epoch) await this.closeBounded(s);
    else this.session = s;
  }

  private context(epoch: number): SessionContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by the getter below
    const sup = this;
    return {
      attempt: this.opened,
      get current() {
        return epoch === sup.epoch && sup._state !== 'stopped' && sup._state !== 'gave-up';
      },
      fail: (client, reason) => {
        if (epoch === this.epoch) this.fail(client, reason);
      },
      healthy: () => {
        if (epoch === this.epoch) this.markHealthy();
      },
    };
  }

  private markHealthy(): void {
    if (this._state === 'stopped' || this._state === 'gave-up') return;
    this._state = 'running';
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    if (this.downSince !== undefined) {
      this.o.onRecovered?.({ downMs: Date.now() - this.downSince });
      this.downSince = undefined;
      this.down = undefined;
    }
  }

  /** Replace the current session now (a failure its owner saw, e.g. a commit that left state behind). */
  fail(client: string, error: unknown): void {
    if (this._state === 'stopped' || this._state === 'gave-up' || this.recovering) return;
    const reason = failureReason(error);
    this._state = 'recovering';
    this.down = { client, reason };
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.deadline = setTimeout(() => this.giveUp(), this.o.deadlineMs);
      this.deadline.unref();
    }
    this.o.onRestart?.({ client, reason, error: (error as Error)?.message ?? String(error), attempt: this.opened });
    this.recovering = this.recover().finally(() => (this.recovering = undefined));
  }

  private async recover(): Promise<void> {
    const old = this.session;
    this.session = undefined;
    this.epoch++; // late reports from the old session are ignored from here on
    if (old !== undefined) await this.closeBounded(old);
    const initial = this.o.initialBackoffMs ?? 500;
    const max = this.o.maxBackoffMs ?? 5_000;
    for (let attempt = 0; this._state === 'recovering'; attempt++) {
      const epoch = ++this.epoch;
      try {
        const s = await this.o.open(this.context(epoch));
        this.opened++;
        // Stopped (or gave up) while opening. (A session that already reported healthy() is 'running'.)
        const now = this._state as SupervisorState; // may have changed while open() awaited
        if (epoch !== this.epoch || now === 'stopped' || now === 'gave-up') {
          await this.closeBounded(s);
          return;
        }
        this.session = s;
        return;
      } catch (e) {
        const wait = backoffMs(attempt, initial, max);
        this.o.onOpenFailed?.({ error: (e as Error)?.message ?? String(e), attempt, retryInMs: wait });
        await this.interruptibleSleep(wait);
      }
    }
  }

  private interruptibleSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      t.unref();
      this.wake.add(done);
    });
  }

  private async closeBounded(s: S): Promise<void> {
    await Promise.race([this.o.close(s).catch(() => undefined), sleep(this.o.closeTimeoutMs ?? 10_000)]);
  }

  private giveUp(): void {
    if (this._state === 'stopped' || this._state === 'running') return;
    this._state = 'gave-up';
    for (const w of [...this.wake]) w();
    this.o.onGiveUp?.({ client: this.down?.client ?? 'client', reason: this.down?.reason ?? 'unknown', downMs: Date.now() - (this.downSince ?? Date.now()) });
  }

  /** Idempotent: closes the current session and stops recovering. */
  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    const wasGaveUp = this._state === 'gave-up';
    this._state = 'stopped';
    if (this.deadline) clearTimeout(this.deadline);
    for (const w of [...this.wake]) w();
    await this.recovering?.catch(() => undefined);
    const s = this.session;
    this.session = undefined;
    this.epoch++;
    if (s !== undefined) await (wasGaveUp ? this.closeBounded(s) : this.o.close(s).catch(() => undefined));
  }
}
