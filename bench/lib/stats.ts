/** Summaries of repeated measurements and latency samples. Pure. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median: how far apart the repetitions were. */
  readonly relSpread: number;
  readonly values: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  const m = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: m, min, max, relSpread: m ? (max - min) / m : 0, values };
}

/** Nearest-rank percentile (q in 0..1) of unsorted samples. */
export function percentile(samples: readonly number[] | Float64Array, q: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = Float64Array.from(samples).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function round(v: number, digits = 0): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Ratio a/b rounded to 2 decimals; NaN when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return round(a / b, 2);
}

/** The order of `items` in repetition `rep`: rotated by one each time and reversed every other time, so
 * every contender runs first, last and in between, after different neighbours. */
export function orderFor<T>(items: readonly T[], rep: number): T[] {
  const n = items.length;
  const rotated = items.map((_, i) => items[(i + rep) % n]!);
  return rep % 2 ? rotated.reverse() : rotated;
}

/**
 * The median over repetitions of a's value / b's value within the same repetition: two contenders that ran
 * minutes apart in one rotation are compared on the machine state they shared, so the drift of a warming
 * or otherwise busy machine between repetitions cancels. NaN when no repetition has both.
 */
export function pairedRatio<R extends { readonly repetition: number }>(runs: readonly R[], isA: (r: R) => boolean, isB: (r: R) => boolean, value: (r: R) => number): number {
  const reps = [...new Set(runs.map((r) => r.repetition))];
  const ratios = reps.flatMap((rep) => {
    const a = runs.find((r) => r.repetition === rep && isA(r));
    const b = runs.find((r) => r.repetition === rep && isB(r));
    return a && b && value(b) > 0 && Number.isFinite(value(a)) ? [value(a) / value(b)] : [];
  });
  return ratios.length ? round(median(ratios), 2) : Number.NaN;
}
