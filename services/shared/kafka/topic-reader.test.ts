import { describe, expect, it } from 'vitest';
import { reachedEnds } from './topic-reader.ts';

describe('reachedEnds', () => {
  const ends = new Map([
    [0, { low: 0n, high: 3n }],
    [1, { low: 5n, high: 5n }], // empty (compacted away or never written): nothing to wait for
    [2, { low: 2n, high: 4n }],
  ]);

  it('is true once every non-empty partition was delivered up to its end', () => {
    expect(reachedEnds(ends, new Map([[0, 3n], [2, 4n]]))).toBe(true);
    expect(reachedEnds(ends, new Map([[0, 7n], [2, 9n]]))).toBe(true);
  });

  it('is false while a partition is behind or not read at all', () => {
    expect(reachedEnds(ends, new Map([[0, 2n], [2, 4n]]))).toBe(false);
    expect(reachedEnds(ends, new Map([[0, 3n]]))).toBe(false);
    expect(reachedEnds(new Map(), new Map())).toBe(true);
  });
});
