/**
 * The statistics of a disparity between a group and its reference: the adverse impact ratio with a Katz
 * log-ratio confidence interval, Fisher's exact one-sided test that the group's approval rate is lower, and
 * the standardized mean difference of the score from additive sums. Pure; log-gamma from the drift
 * statistics (services/drift/statistics/stats.ts).
 */
import { logGamma } from '../statistics/stats.ts';

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * One-sided Fisher exact p-value that the group approves less often than the reference: with the table's
 * margins fixed, P(X <= approvedGroup) for X hypergeometric. 1 when either side is empty.
 */
export function fisherLowerP(approvedGroup: number, rowsGroup: number, approvedRef: number, rowsRef: number): number {
  if (rowsGroup <= 0 || rowsRef <= 0) return 1;
  const N = rowsGroup + rowsRef;
  const K = approvedGroup + approvedRef;
  const lo = Math.max(0, rowsGroup - (N - K));
  const denominator = logChoose(N, rowsGroup);
  let p = 0;
  for (let x = lo; x <= approvedGroup; x++) p += Math.exp(logChoose(K, x) + logChoose(N - K, rowsGroup - x) - denominator);
  return Math.min(1, p);
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normal quantile needs 0 < q < 1, got ${q}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (r: number) => (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
  if (q < 0.02425) return tail(Math.sqrt(-2 * Math.log(q)));
  if (q > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - q)));
  const r = q - 0.5;
  const s = r * r;
  return ((((((a[0]! * s + a[1]!) * s + a[2]!) * s + a[3]!) * s + a[4]!) * s + a[5]!) * r) / (((((b[0]! * s + b[1]!) * s + b[2]!) * s + b[3]!) * s + b[4]!) * s + 1);
}

/**
 * The adverse impact ratio (group approval rate / reference approval rate) and its two-sided `confidence`
 * interval by the Katz log method: exp(ln AIR ± z sqrt((1-p1)/(n1 p1) + (1-p0)/(n0 p0))). Undefined when a
 * side is empty or the reference approves nobody; a group that nobody in was approved has AIR 0 and no upper
 * bound (NaN).
 */
export function adverseImpactRatio(approvedGroup: number, rowsGroup: number, approvedRef: number, rowsRef: number, confidence = 0.95): { air: number; low: number; high: number } | undefined {
  if (rowsGroup <= 0 || rowsRef <= 0 || approvedRef <= 0) return undefined;
  const p1 = approvedGroup / rowsGroup;
  const p0 = approvedRef / rowsRef;
  const air = p1 / p0;
  if (approvedGroup === 0) return { air, low: 0, high: Number.NaN };
  const se = Math.sqrt((1 - p1) / approvedGroup + (1 - p0) / approvedRef);
  const z = normalQuantile(0.5 + confidence / 2);
  return { air, low: air * Math.exp(-z * se), high: air * Math.exp(z * se) };
}

/** Mean and unbiased variance from n, Σx, Σx². */
export function moments(n: number, sum: number, sumSq: number): { mean: number; variance: number } {
  const mean = n > 0 ? sum / n : Number.NaN;
  const variance = n > 1 ? Math.max(0, (sumSq - (sum * sum) / n) / (n - 1)) : Number.NaN;
  return { mean, variance };
}

/** Standardized mean difference (group − reference) / pooled sd, from additive sums; NaN when undefined. */
export function smdFromSums(n1: number, sum1: number, sq1: number, n0: number, sum0: number, sq0: number): number {
  if (n1 < 2 || n0 < 2) return Number.NaN;
  const g = moments(n1, sum1, sq1);
  const r = moments(n0, sum0, sq0);
  const pooled = ((n1 - 1) * g.variance + (n0 - 1) * r.variance) / (n1 + n0 - 2);
  return pooled > 0 ? (g.mean - r.mean) / Math.sqrt(pooled) : Number.NaN;
}
