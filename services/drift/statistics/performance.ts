/**
 * Model performance of a window from outcomes joined to its scored records: default rate, Brier score and
 * ROC-AUC. Counts are additive (labelled, defaults, Σ(p − y)², and per class a histogram of the score over
 * equal-width bins), so partial counts from several instances merge by addition. Pure.
 */
export const SCORE_BINS = 2000;

export class PerformanceCounts {
  labelled = 0;
  defaults = 0;
  brierSum = 0;
  readonly defaulted: Float64Array;
  readonly repaid: Float64Array;

  constructor(readonly bins = SCORE_BINS) {
    this.defaulted = new Float64Array(bins);
    this.repaid = new Float64Array(bins);
  }

  binOf(p: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor(p * this.bins)));
  }

  add(probability: number, defaulted: boolean): void {
    const y = defaulted ? 1 : 0;
    this.labelled++;
    this.defaults += y;
    this.brierSum += (probability - y) ** 2;
    (defaulted ? this.defaulted : this.repaid)[this.binOf(probability)]! += 1;
  }

  merge(o: PerformanceCounts): void {
    if (o.bins !== this.bins) throw new Error(`cannot merge performance counts over ${o.bins} bins into ${this.bins}`);
    this.labelled += o.labelled;
    this.defaults += o.defaults;
    this.brierSum += o.brierSum;
    for (let i = 0; i < this.bins; i++) {
      this.defaulted[i]! += o.defaulted[i]!;
      this.repaid[i]! += o.repaid[i]!;
    }
  }

  get empty(): boolean {
    return this.labelled === 0;
  }
}

export interface PerformanceSummary {
  readonly labelled: number;
  readonly defaults: number;
  readonly defaultRate: number;
  readonly brier: number;
  /** Undefined until both classes are present. */
  readonly rocAuc: number | undefined;
}

/**
 * ROC-AUC from the class histograms: P(score of a default > score of a repaid loan), pairs in the same bin
 * counting one half (the Mann–Whitney form). With 2000 bins this differs from the exact AUC only by pairs
 * closer than 0.0005 in score.
 */
export function binnedAuc(defaulted: ArrayLike<number>, repaid: ArrayLike<number>): number | undefined {
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < defaulted.length; i++) {
    pos += defaulted[i]!;
    neg += repaid[i]!;
  }
  if (pos === 0 || neg === 0) return undefined;
  let negBelow = 0;
  let wins = 0;
  for (let i = 0; i < defaulted.length; i++) {
    wins += defaulted[i]! * (negBelow + repaid[i]! / 2);
    negBelow += repaid[i]!;
  }
  return wins / (pos * neg);
}

export function summarize(c: PerformanceCounts): PerformanceSummary {
  return {
    labelled: c.labelled,
    defaults: c.defaults,
    defaultRate: c.labelled ? c.defaults / c.labelled : NaN,
    brier: c.labelled ? c.brierSum / c.labelled : NaN,
    rocAuc: binnedAuc(c.defaulted, c.repaid),
  };
}
