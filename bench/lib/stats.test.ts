import { describe, expect, it } from 'vitest';
import { median, orderFor, pairedRatio, ratio, spread } from './stats.ts';

describe('bench statistics', () => {
  it('median and spread of repeated measurements', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(spread([10, 20, 15])).toMatchObject({ median: 15, min: 10, max: 20, relSpread: 10 / 15 });
  });

  it('ratio rounds to 2 decimals and is NaN when a side is missing', () => {
    expect(ratio(2, 3)).toBe(0.67);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(undefined, 1)).toBeNaN();
  });

  it('orderFor rotates and reverses every other repetition', () => {
    expect(orderFor(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(orderFor(['a', 'b', 'c'], 1)).toEqual(['a', 'c', 'b']);
    expect(orderFor(['a', 'b', 'c'], 2)).toEqual(['c', 'a', 'b']);
  });

  it('pairedRatio compares within each repetition, so a machine that speeds up between repetitions cancels', () => {
    // The machine doubles its speed each repetition; a is always 90% of b in the same repetition.
    const runs = [0, 1, 2].flatMap((rep) => [
      { repetition: rep, id: 'a', v: 0.9 * 10_000 * 2 ** rep },
      { repetition: rep, id: 'b', v: 10_000 * 2 ** rep },
    ]);
    expect(pairedRatio(runs, (r) => r.id === 'a', (r) => r.id === 'b', (r) => r.v)).toBe(0.9);
    // Without a's rep-1 run the ratio of the medians mixes machine states (a: 9k, 36k -> 22.5k; b: 20k) and
    // says a is faster; the paired ratio still says 0.9.
    const gappy = runs.filter((r) => !(r.id === 'a' && r.repetition === 1));
    expect(pairedRatio(gappy, (r) => r.id === 'a', (r) => r.id === 'b', (r) => r.v)).toBe(0.9);
    expect(ratio(median(gappy.filter((r) => r.id === 'a').map((r) => r.v)), median(gappy.filter((r) => r.id === 'b').map((r) => r.v)))).toBe(1.13);
    expect(pairedRatio(runs, (r) => r.id === 'a', (r) => r.id === 'missing', (r) => r.v)).toBeNaN();
  });
});
