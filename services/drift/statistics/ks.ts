/**
 * The two-sample Kolmogorov–Smirnov test of a window against the reference sample, computed exactly from
 * counts over the reference sample's grid (see binning.ts gridCell), so it merges across instances like
 * the bins do. Pure.
 */
import { kolmogorovSf } from './stats.ts';

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  /** Finite window values behind it. */
  readonly n: number;
}

/**
 * D = sup_x |F_window(x) − F_reference(x)|. Between two grid values the reference CDF is constant and the
 * window CDF non-decreasing, so the supremum is attained at a grid value or just below one — both of which
 * the cells give exactly.
 *
 * p-value: the asymptotic Kolmogorov distribution, P(K > sqrt(n·m/(n+m)) · D) (scipy.stats.kstwobign).
 */
export function ksTwoSample(cells: ArrayLike<number>, from: number, gridCdf: ArrayLike<number>, sampleSize: number): KsResult {
  const k = gridCdf.length;
  let n = 0;
  for (let c = 0; c < 2 * k + 1; c++) n += cells[from + c]!;
  if (n === 0 || sampleSize === 0) return { statistic: NaN, pValue: NaN, n };
  let cum = 0;
  let prevRef = 0;
  let d = 0;
  for (let i = 0; i < k; i++) {
    cum += cells[from + 2 * i]!;
    d = Math.max(d, Math.abs(cum / n - prevRef)); // just below grid[i]
    cum += cells[from + 2 * i + 1]!;
    prevRef = gridCdf[i]!;
    d = Math.max(d, Math.abs(cum / n - prevRef)); // at grid[i]
  }
  const en = (n * sampleSize) / (n + sampleSize);
  return { statistic: d, pValue: kolmogorovSf(Math.sqrt(en) * d), n };
}
