import { describe, expect, it } from 'vitest';
import { isClosed, windowEnd, windowSpecProblems, windowStart, windowsOf, windowingId, type WindowSpec } from './windows.ts';

/** Brute force: every k in a wide range whose [start, end) holds x. */
function containing(s: WindowSpec, x: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(x / s.hop) - 200; k <= Math.floor(x / s.hop) + 200; k++) if (windowStart(s, k) <= x && x < windowEnd(s, k)) out.push(k);
  return out;
}

describe('window assignment', () => {
  const specs: WindowSpec[] = [
    { by: 'time', size: 60_000, hop: 60_000, lateness: 5000 },
    { by: 'time', size: 60_000, hop: 15_000, lateness: 0 },
    { by: 'time', size: 10, hop: 3, lateness: 0 },
    { by: 'count', size: 1000, hop: 250, lateness: 0 },
  ];
  it('gives exactly the windows whose [start, end) holds x, for tumbling and hopping, at and around boundaries', () => {
    for (const s of specs) {
      for (const x of [0, 1, s.hop - 1, s.hop, s.hop + 1, s.size - 1, s.size, 7 * s.hop + 2, 1_700_000_000_123, -1, -s.size - 3]) {
        const { first, last } = windowsOf(s, x);
        const got = [];
        for (let k = first; k <= last; k++) got.push(k);
        expect(got, `${windowingId(s)} x=${x}`).toEqual(containing(s, x));
      }
    }
  });
  it('tumbling windows give one window per record', () => {
    const s = specs[0]!;
    for (const x of [0, 59_999, 60_000, 123_456_789]) {
      const { first, last } = windowsOf(s, x);
      expect(first).toBe(last);
    }
  });
  it('closes a window once progress reaches end + lateness', () => {
    const s = specs[0]!;
    expect(isClosed(s, 0, 64_999)).toBe(false);
    expect(isClosed(s, 0, 65_000)).toBe(true);
  });
  it('rejects definitions that leave gaps or put a record in too many windows', () => {
    expect(windowSpecProblems({ by: 'time', size: 10, hop: 20, lateness: 0 })).toHaveLength(1);
    expect(windowSpecProblems({ by: 'time', size: 1000, hop: 1, lateness: 0 })).toHaveLength(1);
    expect(windowSpecProblems({ by: 'count', size: 10, hop: 10, lateness: 5 })).toHaveLength(1);
    expect(windowSpecProblems(specs[1]!)).toEqual([]);
  });
});
