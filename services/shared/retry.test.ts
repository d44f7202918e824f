import { describe, expect, it } from 'vitest';
import { ServiceError } from './errors.ts';
import { backoffDelay, pollUntil, withRetry } from './retry.ts';

const fast = { retries: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 2 };

describe('withRetry', () => {
  it('retries retriable errors until success', async () => {
    let calls = 0;
    const r = await withRetry(async () => {
      if (++calls < 3) throw new ServiceError('KAFKA_UNAVAILABLE', 'down', true);
      return 'ok';
    }, fast);
    expect(r).toBe('ok');
    expect(calls).toBe(3);
  });
  it('does not retry a non-retriable error', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new ServiceError('MODEL_INVALID', 'bad', false);
      }, fast),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });
  it('gives up after the configured retries', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new ServiceError('KAFKA_UNAVAILABLE', 'down', true);
      }, fast),
    ).rejects.toThrow('down');
    expect(calls).toBe(4);
  });
  it('backs off exponentially up to the ceiling, jittered within [50%, 100%]', () => {
    const o = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect(backoffDelay(0, o, () => 1)).toBe(100);
    expect(backoffDelay(3, o, () => 1)).toBe(800);
    expect(backoffDelay(10, o, () => 1)).toBe(1000);
    expect(backoffDelay(3, o, () => 0)).toBe(400);
  });
});

describe('pollUntil', () => {
  it('resolves true as soon as the check holds, after asking again while it does not', async () => {
    let calls = 0;
    expect(await pollUntil(async () => ++calls >= 3, 1_000, 1)).toBe(true);
    expect(calls).toBe(3);
  });

  it('resolves false with the check still false once the time is up, having asked at least twice', async () => {
    let calls = 0;
    const started = Date.now();
    expect(await pollUntil(async () => (++calls, false), 30, 5)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
