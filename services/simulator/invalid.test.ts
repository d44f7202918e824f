import { describe, expect, it } from 'vitest';
import { isInvalidIndex } from './invalid.ts';

describe('isInvalidIndex', () => {
  it.each([
    [10_000, 0.05, 500],
    [1000, 0.1, 100],
    [999, 0.5, 499],
    [100, 0, 0],
  ])('marks exactly floor(n * share) of %i messages at share %f', (n, share, expected) => {
    let count = 0;
    for (let i = 0; i < n; i++) if (isInvalidIndex(i, share)) count++;
    expect(count).toBe(expected);
  });
});
