import { describe, expect, it } from 'vitest';
import { chiSquareSf, gammaQ, kolmogorovSf, logGamma } from './stats.ts';

// Reference values computed with scipy 1.17.1 (scipy.special.gammaln, scipy.stats.chi2.sf, scipy.stats.kstwobign.sf).
const SCIPY_GAMMALN: [number, number][] = [
  [0.1, 2.252712651734206],
  [0.5, 0.5723649429247],
  [2.5, 0.2846828704729192],
  [10, 12.801827480081469],
  [100.3, 360.5147057290581],
];
const SCIPY_CHI2_SF: [number, number, number][] = [
  [0.5, 1, 0.47950012218695337],
  [3.84, 1, 0.05004352124870519],
  [10, 9, 0.3504852123233613],
  [16.92, 9, 0.04998360638750561],
  [100, 9, 1.5735176303753876e-17],
  [0.01, 9, 0.9999999999991591],
  [50, 3, 7.989179244951495e-11],
  [300, 9, 2.6102773472069844e-59],
  [7, 12, 0.8576135530957782],
];
const SCIPY_KSTWOBIGN_SF: [number, number][] = [
  [0.2, 0.999999999999495],
  [0.5, 0.9639452436648751],
  [0.8, 0.5441424115741981],
  [1.0, 0.26999967167735456],
  [1.1799, 0.12351204971188676],
  [1.18, 0.1234538094297657],
  [1.36, 0.049485876755377876],
  [2.0, 0.0006709252557796953],
  [3.0, 3.045995948942526e-8],
];

describe('logGamma', () => {
  it('matches factorials at integers', () => {
    let f = 1;
    for (let n = 1; n < 20; n++) {
      f *= n;
      expect(logGamma(n + 1)).toBeCloseTo(Math.log(f), 10);
    }
  });
  it('matches scipy', () => {
    for (const [x, want] of SCIPY_GAMMALN) expect(Math.abs(logGamma(x) - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
  });
});

describe('chiSquareSf', () => {
  it('is exp(-x/2) for 2 degrees of freedom', () => {
    for (const x of [0.001, 0.3, 1, 4.6, 13.8, 60]) expect(chiSquareSf(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
  });
  it('matches scipy to 1e-10 relative', () => {
    for (const [x, df, want] of SCIPY_CHI2_SF) {
      const got = chiSquareSf(x, df);
      expect(Math.abs(got - want) / want, `chi2.sf(${x}, ${df}) = ${got}, scipy ${want}`).toBeLessThan(1e-10);
    }
  });
  it('is 1 at 0, decreasing, and Q(a, x) is continuous where the method switches', () => {
    expect(chiSquareSf(0, 9)).toBe(1);
    let prev = 1;
    for (let x = 0.5; x < 60; x += 0.5) {
      const v = chiSquareSf(x, 9);
      expect(v).toBeLessThan(prev);
      prev = v;
    }
    expect(Math.abs(gammaQ(4.5, 5.5 - 1e-9) - gammaQ(4.5, 5.5 + 1e-9))).toBeLessThan(1e-8);
  });
});

describe('kolmogorovSf', () => {
  it('matches scipy kstwobign.sf on both sides of the series switch', () => {
    for (const [z, want] of SCIPY_KSTWOBIGN_SF) expect(Math.abs(kolmogorovSf(z) - want), `z=${z}`).toBeLessThan(1e-12);
  });
  it('is 1 at 0 and tends to 0', () => {
    expect(kolmogorovSf(0)).toBe(1);
    expect(kolmogorovSf(10)).toBeLessThan(1e-80);
  });
});
