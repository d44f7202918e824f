/**
 * Binning over frozen reference edges, exactly as pipeline/model/reference.py defines it: the bin of x is the
 * number of edges <= x (bisect_right), so k edges give k + 1 bins with open-ended outer bins; a value that
 * is missing (absent, NaN, ±Infinity) goes to one more bin after them. Pure.
 */

/** Number of elements of the ascending `a` that are <= x. */
export function bisectRight(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x < a[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Number of elements of the ascending `a` that are < x. */
export function bisectLeft(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function isMissing(x: number | undefined | null): boolean {
  return x === undefined || x === null || !Number.isFinite(x);
}

/** Bin of x: bisect_right over `edges`, or `edges.length + 1` (the missing bin) for a missing value. */
export function binOf(edges: ArrayLike<number>, x: number | undefined): number {
  return isMissing(x) ? edges.length + 1 : bisectRight(edges, x!);
}

/**
 * Cell of a finite x on a grid of distinct ascending values g_0 < ... < g_{k-1}: 2i + 1 when x equals g_i,
 * 2i when g_{i-1} < x < g_i (cell 0 below g_0, cell 2k above g_{k-1}). Counts over these 2k + 1 cells give
 * a sample's empirical CDF exactly at and just below every grid value — all the two-sample KS statistic
 * against a reference sample needs.
 */
export function gridCell(grid: ArrayLike<number>, x: number): number {
  const i = bisectLeft(grid, x);
  return i < grid.length && grid[i] === x ? 2 * i + 1 : 2 * i;
}
