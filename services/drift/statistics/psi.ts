/**
 * Population Stability Index over frozen reference bins, and its p-value. Pure.
 *
 *   PSI = Σ_i (a_i − e_i) · ln(a_i / e_i),   a_i = max(count_i / n, ε),  e_i = max(expected_i, ε)
 *
 * PSI is the Jeffreys divergence between the window and the reference. With no drift, to second order
 * PSI ≈ (1/n + 1/N) · X with X ~ χ²(B − 1) (n window records, N reference records, B bins in use), so
 * E[PSI] ≈ (B − 1)(1/n + 1/N): about 0.09 for 10 bins and a 100-record window — why windows have a
 * minimum size, and why the p-value is reported beside the fixed bands.
 */
import { chiSquareSf } from './stats.ts';

export const DEFAULT_EPSILON = 1e-4;

/** PSI of window `counts` (over bins) against `expected` proportions (same bins), proportions floored at `eps`. */
export function psi(counts: ArrayLike<number>, expected: ArrayLike<number>, eps = DEFAULT_EPSILON, from = 0): number {
  const bins = expected.length;
  let n = 0;
  for (let i = 0; i < bins; i++) n += counts[from + i]!;
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < bins; i++) {
    const a = Math.max(counts[from + i]! / n, eps);
    const e = Math.max(expected[i]!, eps);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/** Degrees of freedom: bins the reference or the window uses, minus one (at least 1). */
export function psiDegreesOfFreedom(counts: ArrayLike<number>, expected: ArrayLike<number>, from = 0): number {
  let used = 0;
  for (let i = 0; i < expected.length; i++) if (expected[i]! > 0 || counts[from + i]! > 0) used++;
  return Math.max(1, used - 1);
}

/** P(PSI >= observed | no drift) from PSI / (1/n + 1/N) ~ χ²(df). `referenceRecords` may be Infinity. */
export function psiPValue(value: number, n: number, referenceRecords: number, df: number): number {
  if (!(n > 0) || Number.isNaN(value)) return NaN;
  const scale = 1 / n + (Number.isFinite(referenceRecords) && referenceRecords > 0 ? 1 / referenceRecords : 0);
  return chiSquareSf(value / scale, df);
}

export type Severity = 'NONE' | 'WARN' | 'ALERT' | 'INSUFFICIENT';

export interface Bands {
  readonly warn: number;
  readonly alert: number;
}

export function severityOf(value: number, bands: Bands): Severity {
  if (value >= bands.alert) return 'ALERT';
  if (value >= bands.warn) return 'WARN';
  return 'NONE';
}
