import { describe, expect, it } from 'vitest';
import { OutcomeJoin } from '../windows/join.ts';
import { binnedAuc, PerformanceCounts, summarize } from './performance.ts';

/** Exact AUC by comparing every (default, repaid) pair; ties count one half. */
function exactAuc(p: number[], y: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  p.forEach((pi, i) => {
    if (!y[i]) return;
    p.forEach((pj, j) => {
      if (y[j]) return;
      pairs++;
      wins += pi > pj ? 1 : pi === pj ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('performance counts', () => {
  let s = 3;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const p = Array.from({ length: 1500 }, () => u());
  const y = p.map((pi) => u() < pi * 0.8);

  it('default rate and Brier are exact; AUC from 2000 bins is within 1e-3 of the exact pairwise AUC', () => {
    const c = new PerformanceCounts();
    p.forEach((pi, i) => c.add(pi, y[i]!));
    const sum = summarize(c);
    expect(sum.labelled).toBe(1500);
    expect(sum.defaultRate).toBe(y.filter(Boolean).length / 1500);
    expect(Math.abs(sum.brier - p.reduce((a, pi, i) => a + (pi - (y[i] ? 1 : 0)) ** 2, 0) / 1500)).toBeLessThan(1e-12);
    expect(Math.abs(sum.rocAuc! - exactAuc(p, y))).toBeLessThan(1e-3);
  });
  it('is additive: merged halves equal the whole', () => {
    const whole = new PerformanceCounts();
    const a = new PerformanceCounts();
    const b = new PerformanceCounts();
    p.forEach((pi, i) => {
      whole.add(pi, y[i]!);
      (i % 3 ? a : b).add(pi, y[i]!);
    });
    a.merge(b);
    const [x, w] = [summarize(a), summarize(whole)];
    expect({ ...x, brier: 0 }).toEqual({ ...w, brier: 0 });
    expect(Math.abs(x.brier - w.brier)).toBeLessThan(1e-12); // float sums in another order
  });
  it('has no AUC with one class only', () => {
    expect(binnedAuc([1, 2], [0, 0])).toBeUndefined();
  });
});

describe('outcome join', () => {
  it('joins in either order, once', () => {
    const j = new OutcomeJoin(100);
    expect(j.onScored('a', { probability: 0.2, first: 1, last: 1 })).toBeUndefined();
    expect(j.onOutcome('a', true)).toEqual({ probability: 0.2, first: 1, last: 1, defaulted: true });
    expect(j.onOutcome('b', false)).toBeUndefined();
    expect(j.onScored('b', { probability: 0.7, first: 2, last: 3 })).toEqual({ probability: 0.7, first: 2, last: 3, defaulted: false });
    expect(j.size).toBe(0);
  });
  it('evicts the oldest entries beyond its bound (once a tenth above it, down to it)', () => {
    const j = new OutcomeJoin(2);
    for (const id of ['a', 'b', 'c']) j.onScored(id, { probability: 0.1, first: 0, last: 0 });
    expect(j.evicted).toBe(0);
    j.onScored('d', { probability: 0.1, first: 0, last: 0 });
    expect(j.evicted).toBe(2);
    expect(j.onOutcome('a', true)).toBeUndefined();
    expect(j.onOutcome('b', true)).toBeUndefined();
    expect(j.onOutcome('d', true)).toBeDefined();
  });
});
