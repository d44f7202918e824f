import { isRetriable } from './errors.ts';

export interface RetryOptions {
  readonly retries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Called before each wait; for logs and metrics. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = Object.freeze({ retries: 8, initialDelayMs: 100, maxDelayMs: 10_000, factor: 2 });

/** Exponential backoff with full jitter, as a pure function of the attempt number and a random draw. */
export function backoffDelay(attempt: number, o: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor'>, random = Math.random): number {
  const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** attempt);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** Runs `fn`, retrying only errors whose `retriable` flag is true. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetriable(e) || attempt >= opts.retries || opts.signal?.aborted) throw e;
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(e, attempt + 1, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Asks `check` every `everyMs` until it says true or `withinMs` passed; resolves with its last answer.
 * For conditions that settle by themselves (metadata reaching every broker), where no error is thrown to
 * read a retriable flag from.
 */
export async function pollUntil(check: () => Promise<boolean>, withinMs: number, everyMs = 250): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
