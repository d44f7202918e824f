/**
 * Turns a merged window into results per target: PSI and its p-value, the KS test, severity. Pure.
 */
import type { MergedWindow } from '../aggregation/aggregation.ts';
import { ksTwoSample } from './ks.ts';
import type { Layout } from '../windows/layout.ts';
import { summarize, type PerformanceSummary } from './performance.ts';
import { psi, psiDegreesOfFreedom, psiPValue, severityOf, type Bands, type Severity } from './psi.ts';
import type { Reference } from './reference.ts';

export interface TargetResult {
  readonly target: string;
  readonly psi: number;
  readonly psiPValue: number;
  readonly psiDf: number;
  readonly ksStatistic: number;
  readonly ksPValue: number;
  readonly severity: Severity;
  readonly records: number;
  readonly missing: number;
  /** Per reference bin, then missing. */
  readonly counts: readonly number[];
  readonly expected: readonly number[];
  readonly edges: readonly number[];
}

export interface WindowResult {
  readonly index: number;
  readonly windowing: string;
  readonly start: number;
  readonly end: number;
  readonly firstEventAt: number;
  readonly lastEventAt: number;
  readonly referenceVersion: string;
  readonly modelName: string;
  readonly referenceRecords: number;
  readonly records: number;
  readonly partitions: readonly number[];
  readonly late: number;
  readonly evaluated: boolean;
  readonly targets: readonly TargetResult[];
  readonly performance: PerformanceSummary | undefined;
  readonly finalizedAt: number;
}

export interface EvaluationSettings {
  readonly bands: Bands;
  readonly epsilon: number;
  /** Windows with fewer records get PSI but no severity (INSUFFICIENT). */
  readonly minRecords: number;
  readonly windowing: string;
}

export function evaluateWindow(w: MergedWindow, layout: Layout, reference: Reference, s: EvaluationSettings, now: number): WindowResult {
  const evaluated = w.records >= s.minRecords;
  const targets = layout.targets.map((t): TargetResult => {
    const counts = Array.from(w.counts.subarray(t.binOffset, t.binOffset + t.bins));
    const records = counts.reduce((a, b) => a + b, 0);
    const value = psi(counts, t.ref.expected, s.epsilon);
    const df = psiDegreesOfFreedom(counts, t.ref.expected);
    const ks = ksTwoSample(w.counts, t.gridOffset, t.ref.gridCdf, t.ref.sampleSize);
    return {
      target: t.ref.name,
      psi: value,
      psiPValue: psiPValue(value, records, reference.records, df),
      psiDf: df,
      ksStatistic: ks.statistic,
      ksPValue: ks.pValue,
      severity: evaluated ? severityOf(value, s.bands) : 'INSUFFICIENT',
      records,
      missing: counts[counts.length - 1]!,
      counts,
      expected: Array.from(t.ref.expected),
      edges: Array.from(t.ref.edges),
    };
  });
  return {
    index: w.index,
    windowing: s.windowing,
    start: w.start,
    end: w.end,
    firstEventAt: w.firstEventAt,
    lastEventAt: w.lastEventAt,
    referenceVersion: reference.version,
    modelName: reference.modelName,
    referenceRecords: reference.records,
    records: w.records,
    partitions: w.partitions,
    late: w.late,
    evaluated,
    targets,
    performance: w.performance && !w.performance.empty ? summarize(w.performance) : undefined,
    finalizedAt: now,
  };
}
