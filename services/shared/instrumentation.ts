/**
 * Instrumentation as events: services emit `{type, timestamp, payload}`; metrics and logs attach as
 * listeners, so the core never imports prom-client or a logger.
 */
export interface InstrumentationEvent<T extends string = string, P = unknown> {
  readonly type: T;
  readonly timestamp: number;
  readonly payload: P;
}

export type Listener<E extends InstrumentationEvent> = (event: E) => void;

export class Instrumentation<E extends InstrumentationEvent> {
  private readonly listeners = new Map<string, Set<Listener<E>>>();

  on<T extends E['type']>(type: T | '*', listener: Listener<Extract<E, { type: T }>>): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener as Listener<E>);
    this.listeners.set(type, set);
    return () => set.delete(listener as Listener<E>);
  }

  emit<T extends E['type']>(type: T, payload: Extract<E, { type: T }>['payload']): void {
    const event = { type, timestamp: Date.now(), payload } as unknown as E;
    for (const key of [type, '*']) {
      for (const l of this.listeners.get(key) ?? []) {
        try {
          l(event);
        } catch {
          // A broken listener must never break the pipeline.
        }
      }
    }
  }

  /** Times `fn`, emitting `type` with `{durationMs, ok}` merged into the payload in `finally`. */
  async timed<T extends E['type'], R>(
    type: T,
    payload: Omit<Extract<E, { type: T }>['payload'], 'durationMs' | 'ok'>,
    fn: () => Promise<R>,
  ): Promise<R> {
    const start = performance.now();
    let ok = false;
    try {
      const r = await fn();
      ok = true;
      return r;
    } finally {
      this.emit(type, { ...payload, durationMs: performance.now() - start, ok } as Extract<E, { type: T }>['payload']);
    }
  }
}
