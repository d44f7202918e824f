/** trimOldest: the oldest entries go, down to the bound, only once the map is a tenth above it. */
import { describe, expect, it } from 'vitest';
import { trimOldest } from './bounded.ts';

describe('trimOldest', () => {
  it('lets the map grow a tenth above the bound, then drops the oldest down to it, in insertion order', () => {
    const m = new Map<string, number>();
    const dropped: string[] = [];
    for (let i = 0; i < 11; i++) {
      m.set(`k${i}`, i);
      expect(trimOldest(m, 10, (k) => dropped.push(k))).toBe(0);
    }
    m.set('k11', 11);
    expect(trimOldest(m, 10, (k) => dropped.push(k))).toBe(2);
    expect(dropped).toEqual(['k0', 'k1']);
    expect([...m.keys()]).toEqual(Array.from({ length: 10 }, (_, i) => `k${i + 2}`));
  });

  it('a re-inserted key counts as new (Map order), a bound of 1 keeps at most 2', () => {
    const m = new Map([['a', 1], ['b', 2]]);
    m.delete('a');
    m.set('a', 3);
    m.set('c', 4);
    expect(trimOldest(m, 1)).toBe(2);
    expect([...m.entries()]).toEqual([['c', 4]]);
  });
});
