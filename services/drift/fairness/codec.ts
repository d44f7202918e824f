/**
 * Avro values of schemas/fairness-window.avsc from a window's merged counts and figures, and the
 * aggregator's fairness alert state in its commit metadata. Pure.
 */
import { lastClosedWindow, type WindowSpec } from '../windows/windows.ts';
import type { FairnessLayout } from './layout.ts';
import { INITIAL_FAIRNESS_CHECKPOINT, type FairnessCheckpoint } from './partition-fairness.ts';
import type { FairnessOptions, FairnessSummary } from './summary.ts';

export type FairnessTransition = 'NONE' | 'RAISED' | 'CLEARED';

export interface FairnessGroupValue {
  group: string;
  decisions: number;
  approve: number;
  review: number;
  decline: number;
  approval_rate: number;
  mean_score: number;
  air: number | null;
  air_low: number | null;
  air_high: number | null;
  p_value: number | null;
  smd: number | null;
  enough: boolean;
  flagged: boolean;
  labelled: number;
  default_rate_approved: number;
  false_positive_rate: number;
  false_negative_rate: number;
  ece: number;
}

export interface FairnessAttributeValue {
  attribute: string;
  reference: string;
  min_air: number | null;
  min_air_group: string;
  groups: FairnessGroupValue[];
}

export interface FairnessWindowValue {
  window_index: number;
  windowing: string;
  window_start: number;
  window_end: number;
  deployment: string;
  layout: string;
  decisions: number;
  unjoined: number;
  partitions: number[];
  air_min: number;
  alpha: number;
  min_count: number;
  alert: boolean;
  transition: FairnessTransition;
  flagged: string[];
  attributes: FairnessAttributeValue[];
  counts: number[];
  finalized_at: number;
}

const orNull = (x: number | undefined): number | null => (x === undefined ? null : x);

/** Flagged groups as '<attribute>:<group>', sorted. */
export function flaggedKeys(s: FairnessSummary): string[] {
  return s.attributes.flatMap((a) => a.flagged.map((g) => `${a.attribute}:${g}`)).sort();
}

/** RAISED when this window flags a group the previous did not; CLEARED when it flags none after one that did. */
export function transitionOf(previous: readonly string[], now: readonly string[]): FairnessTransition {
  if (now.some((k) => !previous.includes(k))) return 'RAISED';
  if (now.length === 0 && previous.length > 0) return 'CLEARED';
  return 'NONE';
}

export interface FairnessWindowInput {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly counts: ArrayLike<number>;
  readonly partitions: readonly number[];
}

export function fairnessWindowValue(
  w: FairnessWindowInput,
  layout: FairnessLayout,
  summary: FairnessSummary,
  options: FairnessOptions,
  ctx: { windowing: string; deployment: string; previousFlagged: readonly string[] },
  now: number,
): FairnessWindowValue {
  const flagged = flaggedKeys(summary);
  const decisions = summary.attributes[0]?.groups.reduce((n, g) => n + g.decisions, 0) ?? 0;
  return {
    window_index: w.index,
    windowing: ctx.windowing,
    window_start: w.start,
    window_end: w.end,
    deployment: ctx.deployment,
    layout: layout.id,
    decisions: decisions + summary.unjoined,
    unjoined: summary.unjoined,
    partitions: [...w.partitions],
    air_min: options.airMin,
    alpha: options.alpha,
    min_count: options.minCount,
    alert: summary.alert,
    transition: transitionOf(ctx.previousFlagged, flagged),
    flagged,
    attributes: summary.attributes.map((a) => ({
      attribute: a.attribute,
      reference: a.reference,
      min_air: orNull(a.minAir),
      min_air_group: a.minAirGroup ?? '',
      groups: a.groups.map((g) => ({
        group: g.group,
        decisions: g.decisions,
        approve: g.approve,
        review: g.review,
        decline: g.decline,
        approval_rate: g.approvalRate,
        mean_score: g.meanScore,
        air: orNull(g.air),
        air_low: orNull(g.airLow),
        air_high: orNull(g.airHigh),
        p_value: orNull(g.pValue),
        smd: g.smd === undefined || Number.isNaN(g.smd) ? null : g.smd,
        enough: g.enough,
        flagged: g.flagged,
        labelled: g.outcomes.labelled,
        default_rate_approved: g.outcomes.defaultRateApproved,
        false_positive_rate: g.outcomes.falsePositiveRate,
        false_negative_rate: g.outcomes.falseNegativeRate,
        ece: g.outcomes.ece,
      })),
    })),
    counts: Array.from(w.counts),
    finalized_at: now,
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** A partition's fairness checkpoint in a few bytes (offset-commit metadata `f`). */
export function fairnessCheckpointJson(c: FairnessCheckpoint): unknown {
  return [c.offset, c.demographicsOffset, finiteOrNull(c.closedThrough), finiteOrNull(c.progress), c.through, c.demographicsThrough];
}

/** Back from fairnessCheckpointJson; undefined for anything else (no fairness state committed yet). */
export function fairnessCheckpointFrom(j: unknown): FairnessCheckpoint | undefined {
  if (!Array.isArray(j) || j.length !== 6) return undefined;
  const [offset, demographicsOffset, closedThrough, progress, through, demographicsThrough] = j as (number | null)[];
  if (typeof offset !== 'number' || typeof demographicsOffset !== 'number' || typeof through !== 'number' || typeof demographicsThrough !== 'number') return undefined;
  return { offset, demographicsOffset, closedThrough: closedThrough ?? -Infinity, progress: progress ?? -Infinity, through, demographicsThrough };
}

/**
 * Where a partition's fairness windows start when nothing of theirs was committed but the drift windows'
 * checkpoint was (a monitor upgraded to fairness windows, or a partition that had no decisions): from the
 * drift checkpoint's offset, with the windows before the drift progress closed (their decisions are gone).
 */
export function fairnessStartFrom(driftOffset: number, driftProgress: number, spec: WindowSpec): FairnessCheckpoint {
  return { ...INITIAL_FAIRNESS_CHECKPOINT, offset: driftOffset, through: driftOffset, closedThrough: lastClosedWindow(spec, driftProgress), progress: driftProgress };
}

/** The aggregator's fairness state in its commit metadata: the flagged groups of the last published window. */
export function fairnessAlertJson(flagged: readonly string[]): unknown {
  return flagged;
}
export function fairnessAlertFrom(j: unknown): string[] {
  return Array.isArray(j) ? j.filter((x): x is string => typeof x === 'string') : [];
}
