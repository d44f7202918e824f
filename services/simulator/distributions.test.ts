/** Moments of the samplers, and the PRNG's basic properties. */
import { describe, expect, it } from 'vitest';
import { beta, gamma, lognormal, normal, poisson, uniform } from './distributions.ts';
import { createRng } from './rng.ts';

const N = 100_000;

function moments(draw: () => number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < N; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / N;
  return { mean, variance: sumSq / N - mean * mean };
}

/** Mean within 5 standard errors, variance within 5% (these samples are large). */
function expectMoments(draw: () => number, mean: number, variance: number): void {
  const m = moments(draw);
  expect(Math.abs(m.mean - mean)).toBeLessThanOrEqual(5 * Math.sqrt(variance / N));
  expect(Math.abs(m.variance / variance - 1)).toBeLessThanOrEqual(0.05);
}

describe('rng', () => {
  it('is deterministic under seed and gives doubles in [0, 1)', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createRng(124).next()).not.toBe(xs[0]);
    expect(new Set(xs).size).toBe(1000);
  });

  it('is uniform: each tenth of [0, 1) gets about a tenth of the draws', () => {
    const rng = createRng(7);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < N; i++) counts[Math.floor(rng.next() * 10)]! += 1;
    for (const c of counts) expect(Math.abs(c / N - 0.1)).toBeLessThan(0.005);
  });
});

describe('samplers', () => {
  const rng = createRng(2024);
  it('uniform', () => expectMoments(() => uniform(rng, 2, 5), 3.5, 9 / 12));
  it('normal', () => expectMoments(() => normal(rng, -1, 2), -1, 4));
  it('lognormal', () => expectMoments(() => lognormal(rng, 0.5, 0.4), Math.exp(0.5 + 0.08), (Math.exp(0.16) - 1) * Math.exp(1 + 0.16)));
  it('gamma, shape >= 1', () => expectMoments(() => gamma(rng, 2.5, 9), 22.5, 2.5 * 81));
  it('gamma, shape < 1', () => expectMoments(() => gamma(rng, 0.4, 2), 0.8, 0.4 * 4));
  it('beta', () => expectMoments(() => beta(rng, 2.5, 1.5), 2.5 / 4, (2.5 * 1.5) / (16 * 5)));
  it('poisson, small rate (multiplication method)', () => expectMoments(() => poisson(rng, 0.35), 0.35, 0.35));
  it('poisson, large rate (PTRS)', () => expectMoments(() => poisson(rng, 42), 42, 42));
  it('poisson P(0) = exp(-rate)', () => {
    const zeros = Array.from({ length: N }, () => poisson(rng, 4)).filter((k) => k === 0).length / N;
    expect(Math.abs(zeros - Math.exp(-4))).toBeLessThan(0.002);
  });
  it('rejects invalid parameters', () => {
    expect(() => gamma(rng, -1, 1)).toThrow(RangeError);
    expect(() => poisson(rng, Number.NaN)).toThrow(RangeError);
    expect(() => beta(rng, 0, 1)).toThrow(RangeError);
  });
});
