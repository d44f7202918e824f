/**
 * Avro values of schemas/drift-partial.avsc, drift-window.avsc and drift-alert.avsc from the core's types
 * and back, plus the offset-commit metadata of checkpoints. Pure.
 */
import type { AggregationCheckpoint, ProgressReport, WindowPart } from '../aggregation/aggregation.ts';
import type { AlertState, DriftEvent, RetrainTrigger, TargetAlertState } from '../aggregation/alerts.ts';
import type { WindowResult } from '../statistics/evaluate.ts';
import type { Layout } from './layout.ts';
import type { ClosedWindow, PartitionCheckpoint } from './partition-windows.ts';
import { PerformanceCounts } from '../statistics/performance.ts';
import type { Severity } from '../statistics/psi.ts';

// ----------------------------------------------------------------------------------------- drift-partial
export interface TargetCountsValue {
  target: string;
  bins: number[];
  grid_index: number[];
  grid_count: number[];
}
export interface PerformanceValue {
  labelled: number;
  defaults: number;
  brier_sum: number;
  score_bins: number;
  default_index: number[];
  default_count: number[];
  repaid_index: number[];
  repaid_count: number[];
}
export interface DriftPartialValue {
  kind: 'WINDOW' | 'PROGRESS' | 'PERFORMANCE' | 'FAIRNESS';
  instance: string;
  windowing: string;
  reference_version: string;
  deployment: string;
  source_partition: number;
  progress: number;
  idle: boolean;
  open_from_window: number;
  late_records: number;
  window_index: number;
  window_start: number;
  window_end: number;
  records: number;
  first_event_at: number;
  last_event_at: number;
  histograms: TargetCountsValue[];
  performance: PerformanceValue | null;
  fairness_progress: number;
  fairness_open_from_window: number;
  fairness_layout: string;
  fairness_outcomes: boolean;
  fairness_counts: number[];
}

export interface PartialContext {
  readonly instance: string;
  readonly deployment: string;
  readonly windowing: string;
  readonly referenceVersion: string;
}

const progressValue = (p: number) => (Number.isFinite(p) ? p : -1);
const progressOf = (v: number) => (v < 0 ? -Infinity : v);

function sparse(a: ArrayLike<number>, from: number, length: number): { index: number[]; count: number[] } {
  const index: number[] = [];
  const count: number[] = [];
  for (let i = 0; i < length; i++) {
    const c = a[from + i]!;
    if (c !== 0) {
      index.push(i);
      count.push(c);
    }
  }
  return { index, count };
}

const base = (ctx: PartialContext, partition: number, progress: number) => ({
  instance: ctx.instance,
  windowing: ctx.windowing,
  reference_version: ctx.referenceVersion,
  deployment: ctx.deployment,
  source_partition: partition,
  progress: progressValue(progress),
  idle: false,
  open_from_window: -1,
  late_records: 0,
  window_index: -1,
  window_start: 0,
  window_end: 0,
  records: 0,
  first_event_at: 0,
  last_event_at: 0,
  histograms: [] as TargetCountsValue[],
  performance: null,
  fairness_progress: -1,
  fairness_open_from_window: -1,
  fairness_layout: '',
  fairness_outcomes: false,
  fairness_counts: [] as number[],
});

export function windowPartialValue(w: ClosedWindow, layout: Layout, ctx: PartialContext, progress: number): DriftPartialValue {
  return {
    ...base(ctx, w.partition, progress),
    reference_version: w.layout.version,
    kind: 'WINDOW',
    window_index: w.index,
    window_start: w.start,
    window_end: w.end,
    records: w.records,
    first_event_at: w.firstEventAt,
    last_event_at: w.lastEventAt,
    histograms: layout.targets.map((t) => {
      const g = sparse(w.counts, t.gridOffset, t.cells);
      return { target: t.ref.name, bins: Array.from(w.counts.subarray(t.binOffset, t.binOffset + t.bins)), grid_index: g.index, grid_count: g.count };
    }),
  };
}

/** The partition's fairness windows' progress (partition-fairness.ts), reported beside the drift progress. */
export interface FairnessProgress {
  readonly progress: number;
  readonly openFrom: number | undefined;
}

export function progressPartialValue(partition: number, r: Omit<ProgressReport, 'partition'>, ctx: PartialContext, fairness?: FairnessProgress): DriftPartialValue {
  return {
    ...base(ctx, partition, r.progress),
    kind: 'PROGRESS',
    idle: r.idle,
    late_records: r.late,
    open_from_window: r.openFrom ?? -1,
    ...(fairness ? { fairness_progress: progressValue(fairness.progress), fairness_open_from_window: fairness.openFrom ?? -1 } : {}),
  };
}

/** A closed fairness window's counts (outcomes: false) or outcome deltas of one (outcomes: true). */
export function fairnessPartialValue(partition: number, index: number, counts: ArrayLike<number>, layoutId: string, outcomes: boolean, ctx: PartialContext, progress: number): DriftPartialValue {
  return { ...base(ctx, partition, progress), kind: 'FAIRNESS', window_index: index, fairness_layout: layoutId, fairness_outcomes: outcomes, fairness_counts: Array.from(counts) };
}

export function performancePartialValue(partition: number, index: number, c: PerformanceCounts, ctx: PartialContext, progress: number): DriftPartialValue {
  const d = sparse(c.defaulted, 0, c.bins);
  const r = sparse(c.repaid, 0, c.bins);
  return {
    ...base(ctx, partition, progress),
    kind: 'PERFORMANCE',
    window_index: index,
    performance: {
      labelled: c.labelled,
      defaults: c.defaults,
      brier_sum: c.brierSum,
      score_bins: c.bins,
      default_index: d.index,
      default_count: d.count,
      repaid_index: r.index,
      repaid_count: r.count,
    },
  };
}

/** '<deployment>/<window>:<partition>' or '<deployment>/progress:<partition>'. */
export function partialKey(v: Pick<DriftPartialValue, 'kind' | 'window_index' | 'source_partition' | 'deployment'>): string {
  return `${v.deployment}/${v.kind === 'PROGRESS' ? `progress:${v.source_partition}` : `${v.window_index}:${v.source_partition}`}`;
}

export type DecodedPartial =
  | { readonly kind: 'WINDOW'; readonly part: WindowPart }
  | { readonly kind: 'PROGRESS'; readonly report: ProgressReport }
  | { readonly kind: 'PERFORMANCE'; readonly partition: number; readonly index: number; readonly counts: PerformanceCounts }
  | { readonly kind: 'FAIRNESS'; readonly partition: number; readonly index: number; readonly layout: string; readonly outcomes: boolean; readonly counts: Float64Array };

/** The fairness progress a PROGRESS partial carries (absent in partials of monitors before fairness windows). */
export function fairnessProgressOf(v: DriftPartialValue): ProgressReport {
  return { partition: v.source_partition, progress: progressOf(v.fairness_progress ?? -1), idle: v.idle, openFrom: (v.fairness_open_from_window ?? -1) < 0 ? undefined : v.fairness_open_from_window, late: 0 };
}

/** Back from Avro; throws on counts that do not fit `layout` (a partial of another reference). */
export function decodePartial(v: DriftPartialValue, layout: Layout): DecodedPartial {
  if (v.kind === 'FAIRNESS') return { kind: 'FAIRNESS', partition: v.source_partition, index: v.window_index, layout: v.fairness_layout, outcomes: v.fairness_outcomes, counts: Float64Array.from(v.fairness_counts) };
  if (v.kind === 'PROGRESS') {
    return { kind: 'PROGRESS', report: { partition: v.source_partition, progress: progressOf(v.progress), idle: v.idle, openFrom: v.open_from_window < 0 ? undefined : v.open_from_window, late: v.late_records } };
  }
  if (v.kind === 'PERFORMANCE') {
    const p = v.performance;
    if (!p) throw new Error('PERFORMANCE partial without performance counts');
    const c = new PerformanceCounts(p.score_bins);
    c.labelled = p.labelled;
    c.defaults = p.defaults;
    c.brierSum = p.brier_sum;
    p.default_index.forEach((i, j) => (c.defaulted[i] = p.default_count[j]!));
    p.repaid_index.forEach((i, j) => (c.repaid[i] = p.repaid_count[j]!));
    return { kind: 'PERFORMANCE', partition: v.source_partition, index: v.window_index, counts: c };
  }
  const counts = new Float64Array(layout.size);
  if (v.histograms.length !== layout.targets.length) throw new Error(`partial has ${v.histograms.length} targets, the reference ${layout.targets.length}`);
  v.histograms.forEach((h, ti) => {
    const t = layout.targets[ti]!;
    if (h.target !== t.ref.name || h.bins.length !== t.bins) throw new Error(`partial target ${h.target} with ${h.bins.length} bins does not match reference target ${t.ref.name} with ${t.bins}`);
    h.bins.forEach((c, i) => (counts[t.binOffset + i] = c));
    h.grid_index.forEach((i, j) => {
      if (i < 0 || i >= t.cells) throw new Error(`grid cell ${i} out of range for ${t.ref.name}`);
      counts[t.gridOffset + i] = h.grid_count[j]!;
    });
  });
  return {
    kind: 'WINDOW',
    part: { partition: v.source_partition, index: v.window_index, counts, records: v.records, firstEventAt: v.first_event_at, lastEventAt: v.last_event_at },
  };
}

// ----------------------------------------------------------------------------------------- drift-window
export interface DriftTargetResultValue {
  target: string;
  psi: number;
  psi_p_value: number;
  psi_df: number;
  ks_statistic: number;
  ks_p_value: number;
  severity: Severity;
  records: number;
  missing: number;
  counts: number[];
  expected: number[];
  edges: number[];
}
export interface DriftWindowValue {
  window_index: number;
  windowing: string;
  window_start: number;
  window_end: number;
  first_event_at: number;
  last_event_at: number;
  reference_version: string;
  deployment: string;
  reference_sha256: string;
  reference_since_window: number;
  records: number;
  partitions: number[];
  evaluated: boolean;
  targets: DriftTargetResultValue[];
  performance: { labelled: number; defaults: number; default_rate: number; brier: number; roc_auc: number | null } | null;
  finalized_at: number;
}

export function windowValue(w: WindowResult): DriftWindowValue {
  return {
    window_index: w.index,
    windowing: w.windowing,
    window_start: w.start,
    window_end: w.end,
    first_event_at: w.firstEventAt,
    last_event_at: w.lastEventAt,
    reference_version: w.referenceVersion,
    deployment: w.deployment ?? '',
    reference_sha256: w.referenceSha256 ?? '',
    reference_since_window: finiteOr(w.referenceSinceWindow ?? -1, -1),
    records: w.records,
    partitions: [...w.partitions],
    evaluated: w.evaluated,
    targets: w.targets.map((t) => ({
      target: t.target,
      psi: t.psi,
      psi_p_value: t.psiPValue,
      psi_df: t.psiDf,
      ks_statistic: t.ksStatistic,
      ks_p_value: t.ksPValue,
      severity: t.severity,
      records: t.records,
      missing: t.missing,
      counts: [...t.counts],
      expected: [...t.expected],
      edges: [...t.edges],
    })),
    performance: w.performance
      ? { labelled: w.performance.labelled, defaults: w.performance.defaults, default_rate: w.performance.defaultRate, brier: w.performance.brier, roc_auc: w.performance.rocAuc ?? null }
      : null,
    finalized_at: w.finalizedAt,
  };
}

// ----------------------------------------------------------------------------------------- drift-alert
export interface DriftAlertValue {
  dedup_key: string;
  kind: 'DRIFT' | 'RECOVERY' | 'RETRAIN' | 'REFERENCE';
  target: string;
  severity: Severity;
  window_index: number;
  windowing: string;
  window_start: number;
  window_end: number;
  psi: number;
  psi_p_value: number;
  test: string;
  statistic: number;
  p_value: number;
  records: number;
  reference_records: number;
  counts: number[];
  expected: number[];
  model_name: string;
  reference_version: string;
  deployment: string;
  reference_sha256: string;
  drifting_since_reference: string;
  outcomes_labelled: number;
  outcomes_required: number;
  attempt: number;
  previous_version: string;
  drifting_since_window: number;
  targets: string[];
  action: string;
  outcome: string;
  detail: string;
  emitted_at: number;
}

/** Event-time bounds of a window: nominal for time windows, first/last event for count windows. */
export function eventBounds(w: WindowResult): { start: number; end: number } {
  return w.windowing.startsWith('time:') ? { start: w.start, end: w.end } : { start: w.firstEventAt, end: w.lastEventAt };
}

const finiteOr = (x: number, d: number) => (Number.isFinite(x) ? x : d);

export function driftAlertValue(e: DriftEvent, w: WindowResult, now: number): DriftAlertValue {
  const b = eventBounds(w);
  return {
    dedup_key: `${w.deployment ?? ''}/${w.referenceVersion}:${e.target}:${w.index}:${e.kind}`,
    kind: e.kind,
    target: e.target,
    severity: e.severity,
    window_index: w.index,
    windowing: w.windowing,
    window_start: b.start,
    window_end: b.end,
    psi: e.result.psi,
    psi_p_value: e.result.psiPValue,
    test: 'ks-2samp',
    statistic: e.result.ksStatistic,
    p_value: e.result.ksPValue,
    records: w.records,
    reference_records: finiteOr(w.referenceRecords, -1),
    counts: [...e.result.counts],
    expected: [...e.result.expected],
    model_name: w.modelName,
    reference_version: w.referenceVersion,
    ...identity(w),
    drifting_since_reference: e.sinceReference ?? w.referenceVersion,
    outcomes_labelled: -1,
    outcomes_required: -1,
    attempt: 0,
    previous_version: '',
    drifting_since_window: e.since,
    targets: [],
    action: '',
    outcome: '',
    detail: '',
    emitted_at: now,
  };
}

const identity = (w: WindowResult) => ({ deployment: w.deployment ?? '', reference_sha256: w.referenceSha256 ?? '' });

export interface RetrainAlertExtra {
  /** Window index of the incident's trigger (the dedup key names it); default w.index. */
  readonly incident?: number;
  readonly attempt?: number;
  readonly labelled?: number;
  readonly required?: number;
}

export function retrainAlertValue(t: RetrainTrigger, w: WindowResult, action: string, outcome: string, detail: string, now: number, x: RetrainAlertExtra = {}): DriftAlertValue {
  const b = eventBounds(w);
  const score = w.targets.find((r) => r.target === 'score');
  const incident = x.incident ?? w.index;
  return {
    dedup_key: `${w.deployment ?? ''}/${w.referenceVersion}:*:${incident}:RETRAIN:${outcome}${x.attempt ? `:${x.attempt}` : ''}`,
    kind: 'RETRAIN',
    target: '*',
    severity: 'ALERT',
    window_index: w.index,
    windowing: w.windowing,
    window_start: b.start,
    window_end: b.end,
    psi: score?.psi ?? NaN,
    psi_p_value: score?.psiPValue ?? NaN,
    test: 'ks-2samp',
    statistic: score?.ksStatistic ?? NaN,
    p_value: score?.ksPValue ?? NaN,
    records: w.records,
    reference_records: finiteOr(w.referenceRecords, -1),
    counts: [],
    expected: [],
    model_name: w.modelName,
    reference_version: w.referenceVersion,
    ...identity(w),
    drifting_since_reference: '',
    outcomes_labelled: x.labelled ?? -1,
    outcomes_required: x.required ?? -1,
    attempt: x.attempt ?? 0,
    previous_version: '',
    drifting_since_window: incident,
    targets: [...t.targets],
    action,
    outcome,
    detail,
    emitted_at: now,
  };
}

/** REFERENCE: windows from `fromWindow` on are compared with `epoch`'s reference instead of `previousVersion`'s. */
export function referenceAlertValue(
  e: { fromWindow: number; version: string; modelName: string; sha256: string; records: number; action: string; reason: string; by: string; announcedAt: number },
  previousVersion: string,
  spec: { windowing: string; start: number; end: number; deployment: string },
  now: number,
): DriftAlertValue {
  return {
    dedup_key: `${spec.deployment}/${e.version}:*:${e.fromWindow}:REFERENCE`,
    kind: 'REFERENCE',
    target: '*',
    severity: 'NONE',
    window_index: e.fromWindow,
    windowing: spec.windowing,
    window_start: spec.start,
    window_end: spec.end,
    psi: NaN,
    psi_p_value: NaN,
    test: 'ks-2samp',
    statistic: NaN,
    p_value: NaN,
    records: 0,
    reference_records: finiteOr(e.records, -1),
    counts: [],
    expected: [],
    model_name: e.modelName,
    reference_version: e.version,
    deployment: spec.deployment,
    reference_sha256: e.sha256,
    drifting_since_reference: '',
    outcomes_labelled: -1,
    outcomes_required: -1,
    attempt: 0,
    previous_version: previousVersion,
    drifting_since_window: -1,
    targets: [],
    action: e.action,
    outcome: e.action,
    detail: `${e.action} v${e.version}${e.by ? ` by ${e.by}` : ''}${e.reason ? `: ${e.reason}` : ''}; announced ${new Date(e.announcedAt).toISOString()}`,
    emitted_at: now,
  };
}

// ----------------------------------------------------------------------------------------- checkpoints
const num = (x: unknown, d: number): number => (typeof x === 'number' ? x : d);

/**
 * The offset-commit metadata of a scoring-log partition. `committedOffset`: the offset actually committed,
 * when it is below the drift checkpoint's (the fairness windows need to re-read from further back); the
 * drift checkpoint's own offset is then kept in the metadata. `fairness`: the fairness windows' checkpoint.
 */
export function partitionCheckpointMetadata(c: PartitionCheckpoint, committedOffset: number = c.offset, fairness?: unknown): string {
  return JSON.stringify({ v: 1, p: Number.isFinite(c.progress) ? c.progress : null, s: c.seq, t: c.through, ...(committedOffset !== c.offset ? { o: c.offset } : {}), ...(fairness !== undefined ? { f: fairness } : {}) });
}

/** The checkpoint behind a committed offset; undefined when nothing (or something unreadable) was committed. */
export function partitionCheckpointFrom(offset: number, metadata: string | null | undefined): PartitionCheckpoint | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as Record<string, unknown>;
    if (m.v !== 1) return undefined;
    return { offset: num(m.o, offset), progress: typeof m.p === 'number' ? m.p : -Infinity, seq: num(m.s, 0), through: num(m.t, offset) };
  } catch {
    return undefined;
  }
}

/** The `f` (fairness checkpoint) part of a scoring-log partition's metadata, as stored. */
export function fairnessMetadataOf(metadata: string | null | undefined): unknown {
  if (!metadata) return undefined;
  try {
    return (JSON.parse(metadata) as { f?: unknown }).f;
  } catch {
    return undefined;
  }
}

export function aggregatorMetadata(a: AggregationCheckpoint, alerts: unknown, windowing: string, retrain?: unknown): string {
  return JSON.stringify({
    v: 1,
    ...(retrain !== undefined ? { r: retrain } : {}),
    w: windowing,
    f: Number.isFinite(a.lastFinalized) ? a.lastFinalized : null,
    t: a.through,
    p: a.partitions.map((p) => [p.partition, Number.isFinite(p.progress) ? p.progress : null, p.idle ? 1 : 0, p.openFrom ?? null]),
    a: alerts,
  });
}

export function aggregatorCheckpointFrom(offset: number, metadata: string | null | undefined): { aggregation: AggregationCheckpoint; alerts: unknown; windowing: string; retrain: unknown } | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as { v: number; w: string; f: number | null; t: number; p: [number, number | null, number, number | null][]; a: unknown; r?: unknown };
    if (m.v !== 1) return undefined;
    return {
      windowing: m.w,
      alerts: m.a,
      retrain: m.r,
      aggregation: {
        offset,
        lastFinalized: m.f ?? -Infinity,
        through: m.t,
        partitions: m.p.map(([partition, progress, idle, openFrom]) => ({ partition, progress: progress ?? -Infinity, idle: idle === 1, openFrom: openFrom ?? undefined })),
      },
    };
  } catch {
    return undefined;
  }
}

/** Alert state in a few bytes: only drifting targets, as [since, okStreak, sinceReference?]. */
export function alertStateJson(s: AlertState): unknown {
  const t: Record<string, [number, number] | [number, number, string]> = {};
  for (const [name, st] of Object.entries(s.targets)) if (st.drifting) t[name] = st.sinceReference ? [st.since, st.okStreak, st.sinceReference] : [st.since, st.okStreak];
  return { t, r: s.retrainEpisode ? 1 : 0 };
}

export function alertStateFrom(j: unknown): AlertState | undefined {
  if (!j || typeof j !== 'object') return undefined;
  const { t, r } = j as { t?: Record<string, [number, number, string?]>; r?: number };
  const targets: Record<string, TargetAlertState> = {};
  for (const [name, [since, okStreak, sinceReference]] of Object.entries(t ?? {})) targets[name] = { drifting: true, since, okStreak, ...(sinceReference ? { sinceReference } : {}) };
  return { targets, retrainEpisode: r === 1 };
}
