/**
 * Where each target's counts live in one flat Uint32Array per window: for every target its reference bins
 * plus the missing bin, then its KS grid cells. A window's counts are one array, so merging partial windows
 * is an element-wise sum and publishing them is a copy.
 */
import { binOf, gridCell, isMissing } from '../statistics/binning.ts';
import { SCORE_TARGET, type Reference, type TargetReference } from '../statistics/reference.ts';

export interface TargetLayout {
  readonly ref: TargetReference;
  readonly isScore: boolean;
  readonly binOffset: number;
  /** Reference bins + 1 (missing). */
  readonly bins: number;
  readonly gridOffset: number;
  /** 2 * grid.length + 1. */
  readonly cells: number;
}

export interface Layout {
  readonly targets: readonly TargetLayout[];
  readonly size: number;
  /** Model version of the reference the bins come from (what partials of this layout carry). */
  readonly version: string;
}

export function layoutOf(reference: Reference): Layout {
  let offset = 0;
  const targets = reference.targets.map((ref) => {
    const bins = ref.edges.length + 2;
    const cells = 2 * ref.grid.length + 1;
    const t: TargetLayout = { ref, isScore: ref.name === SCORE_TARGET, binOffset: offset, bins, gridOffset: offset + bins, cells };
    offset += bins + cells;
    return t;
  });
  return { targets, size: offset, version: reference.version };
}

/** The values a drift window looks at in one scoring-log record. */
export interface DriftRecord {
  readonly applicationId: string;
  /** submitted_at, epoch ms: the event time. */
  readonly eventAt: number;
  readonly features: Readonly<Record<string, number>>;
  /** probability_of_default. */
  readonly score: number;
  /** APPROVE, REVIEW or DECLINE (the fairness windows count it); absent in records that do not carry it. */
  readonly decision?: string;
}

/** Adds one record to a window's counts. */
export function accumulate(counts: Uint32Array, layout: Layout, rec: DriftRecord): void {
  for (const t of layout.targets) {
    const x = t.isScore ? rec.score : rec.features[t.ref.name];
    counts[t.binOffset + binOf(t.ref.edges, x)]!++;
    if (!isMissing(x)) counts[t.gridOffset + gridCell(t.ref.grid, x!)]!++;
  }
}

/** `into += from`, element-wise. */
export function addCounts(into: Uint32Array, from: ArrayLike<number>): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}
