/**
 * Samplers of the distributions a population spec may name, over a seeded {@link Rng}. They sample
 * the same distributions as numpy's Generator (not the same stream). Pure apart from consuming rng.
 *
 * @example
 * const rng = createRng(1);
 * const late = poisson(rng, 0.4);
 */
import type { Rng } from './rng.ts';

function requireFinite(name: string, ...values: number[]): void {
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError(`${name}: parameters must be finite, got ${values.join(', ')}`);
}

/** Uniform on [low, high). */
export function uniform(rng: Rng, low: number, high: number): number {
  requireFinite('uniform', low, high);
  return low + (high - low) * rng.next();
}

/** Standard normal by the Marsaglia polar method (the second variate is discarded: no hidden state). */
export function standardNormal(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.next() - 1;
    const v = 2 * rng.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Normal with mean and standard deviation sd >= 0. */
export function normal(rng: Rng, mean: number, sd: number): number {
  requireFinite('normal', mean, sd);
  if (sd < 0) throw new RangeError(`normal: sd must be >= 0, got ${sd}`);
  return mean + sd * standardNormal(rng);
}

/** exp(Normal(meanlog, sdlog)). */
export function lognormal(rng: Rng, meanlog: number, sdlog: number): number {
  return Math.exp(normal(rng, meanlog, sdlog));
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000), boosted by U^(1/shape) when shape < 1. */
function standardGamma(rng: Rng, shape: number): number {
  if (shape === 0) return 0;
  if (shape < 1) {
    const u = rng.next();
    return standardGamma(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Gamma with shape >= 0 and scale >= 0 (mean shape * scale). */
export function gamma(rng: Rng, shape: number, scale: number): number {
  requireFinite('gamma', shape, scale);
  if (shape < 0 || scale < 0) throw new RangeError(`gamma: shape and scale must be >= 0, got ${shape}, ${scale}`);
  return scale * standardGamma(rng, shape);
}

/** Beta(a, b), a, b > 0, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function beta(rng: Rng, a: number, b: number): number {
  requireFinite('beta', a, b);
  if (a <= 0 || b <= 0) throw new RangeError(`beta: a and b must be > 0, got ${a}, ${b}`);
  const x = standardGamma(rng, a);
  const y = standardGamma(rng, b);
  return x / (x + y);
}

/** log Gamma(x) for x >= 1 (Stirling series, as numpy's random_loggam). */
function logGamma(x: number): number {
  const a = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4, 8.417508417508418e-4,
    -1.917526917526918e-3, 6.41025641025641e-3, -2.955065359477124e-2, 1.796443723688307e-1, -1.3924322169059,
  ];
  if (x === 1 || x === 2) return 0;
  const n = x < 7 ? Math.floor(7 - x) : 0;
  let x0 = x + n;
  const x2 = (1 / x0) * (1 / x0);
  let gl0 = a[9]!;
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + a[k]!;
  let gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}

/** Poisson(rate >= 0): multiplication method below 10, else Hörmann's PTRS (1993), as numpy does. */
export function poisson(rng: Rng, rate: number): number {
  requireFinite('poisson', rate);
  if (rate < 0) throw new RangeError(`poisson: rate must be >= 0, got ${rate}`);
  if (rate === 0) return 0;
  if (rate < 10) {
    const limit = Math.exp(-rate);
    let k = 0;
    let product = rng.next();
    while (product > limit) {
      k++;
      product *= rng.next();
    }
    return k;
  }
  const slam = Math.sqrt(rate);
  const loglam = Math.log(rate);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + rate + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -rate + k * loglam - logGamma(k + 1)) return k;
  }
}
