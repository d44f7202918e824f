/**
 * Distribution functions the drift tests need, in plain TypeScript (no dependency): log-gamma, the
 * regularized incomplete gamma functions, the chi-square survival function, and the survival function of
 * the Kolmogorov distribution. Pure.
 */

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-16;
const MAX_ITER = 10_000;

/** Series for the lower regularized gamma P(a, x), good for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let sum = 1 / a;
  let term = sum;
  for (let n = 1; n < MAX_ITER; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Continued fraction (modified Lentz) for the upper regularized gamma Q(a, x), good for x >= a + 1. */
function gammaQFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Upper regularized incomplete gamma Q(a, x) = Γ(a, x) / Γ(a). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQFraction(a, x);
}

/** P(X >= x) for X ~ chi-square with `df` degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0)) return NaN;
  return gammaQ(df / 2, x / 2);
}

/**
 * Survival function of the Kolmogorov distribution (the limit of sqrt(n)·D_n): P(K > z) =
 * 2 Σ_{j>=1} (-1)^(j-1) exp(-2 j² z²). For small z the alternating series converges slowly, so the
 * equivalent theta-function form is used there.
 */
export function kolmogorovSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z <= 0) return 1;
  if (z < 1.18) {
    // P(K <= z) = sqrt(2π)/z Σ_{j>=1} exp(-(2j-1)² π² / (8 z²))
    const w = (Math.PI * Math.PI) / (8 * z * z);
    let s = 0;
    for (let j = 1; j < 50; j++) {
      const t = Math.exp(-(2 * j - 1) * (2 * j - 1) * w);
      s += t;
      if (t < 1e-300 || t < s * EPS) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / z) * s;
  }
  let s = 0;
  for (let j = 1; j < 100; j++) {
    const t = Math.exp(-2 * j * j * z * z);
    s += j % 2 === 1 ? t : -t;
    if (t < s * EPS) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}
