/**
 * Where each protected group's counts live in one flat Float64Array per fairness window, the shape of the
 * drift windows' counts (services/drift/windows/layout.ts): partial windows of several instances merge by
 * element-wise addition, publishing one is a copy. Per group of each attribute (schemas/population.json
 * `demographics`): decisions by kind, the score's sum and sum of squares (for its mean and SMD), and, from
 * outcomes, the confusion counts of adverse action (REVIEW/DECLINE) against default and a calibration table.
 * One more cell counts decisions without demographics. Pure.
 */
import type { ProtectedAttribute } from '../../shared/fair-lending.ts';

export type Decision = 'APPROVE' | 'REVIEW' | 'DECLINE';

/** Equal-width score bins of the per-group calibration table. */
export const CALIBRATION_BINS = 10;

/** Cells of one group, in order. */
export const CELL = Object.freeze({
  APPROVE: 0,
  REVIEW: 1,
  DECLINE: 2,
  /** Σ p over the group's decisions. */
  SCORE_SUM: 3,
  /** Σ p² over the group's decisions. */
  SCORE_SQ: 4,
  /** Outcomes: adverse action and defaulted (true positive of "adverse = predicted default"). */
  ADVERSE_DEFAULTED: 5,
  /** Adverse action but repaid (false positive: declined or referred though it would have repaid). */
  ADVERSE_REPAID: 6,
  /** Approved and defaulted (false negative). */
  APPROVED_DEFAULTED: 7,
  /** Approved and repaid (true negative). */
  APPROVED_REPAID: 8,
  /** Then per calibration bin: labelled, Σ p, defaults. */
  CALIBRATION: 9,
});

export const CELLS_PER_GROUP = CELL.CALIBRATION + 3 * CALIBRATION_BINS;

export interface AttributeLayout {
  readonly attribute: ProtectedAttribute;
  /** Offset of each category's cells, in category order. */
  readonly offsets: readonly number[];
}

export interface FairnessLayout {
  readonly attributes: readonly AttributeLayout[];
  /** Offset of the count of decisions without demographics. */
  readonly unjoinedOffset: number;
  readonly size: number;
  /** Canonical text of the layout: partials of another layout are refused. */
  readonly id: string;
}

export function fairnessLayout(attributes: readonly ProtectedAttribute[]): FairnessLayout {
  let offset = 0;
  const layouts = attributes.map((attribute) => {
    const offsets = attribute.categories.map(() => {
      const at = offset;
      offset += CELLS_PER_GROUP;
      return at;
    });
    return { attribute, offsets };
  });
  const id = `fairness/v1:cells=${CELLS_PER_GROUP}:` + attributes.map((a) => `${a.name}=${a.categories.join('|')}`).join(';');
  return { attributes: layouts, unjoinedOffset: offset, size: offset + 1, id };
}

export function emptyCounts(layout: FairnessLayout): Float64Array {
  return new Float64Array(layout.size);
}

/** Offset of `group` of attribute `a`, or -1 for a category the layout does not know. */
function groupOffset(a: AttributeLayout, group: string | undefined): number {
  const k = group === undefined ? -1 : a.attribute.categories.indexOf(group);
  return k < 0 ? -1 : a.offsets[k]!;
}

function calibrationBin(p: number): number {
  return Math.min(CALIBRATION_BINS - 1, Math.max(0, Math.floor(p * CALIBRATION_BINS)));
}

/**
 * Counts one decision of an applicant whose demographics are `groups` (attribute -> category; undefined when
 * the join found none). A category the layout does not know counts as unjoined for that attribute.
 * Returns false when nothing but the unjoined cell was counted.
 */
export function addDecision(counts: Float64Array, layout: FairnessLayout, groups: Readonly<Record<string, string>> | undefined, decision: Decision, p: number): boolean {
  if (!groups) {
    counts[layout.unjoinedOffset]! += 1;
    return false;
  }
  let counted = false;
  for (const a of layout.attributes) {
    const at = groupOffset(a, groups[a.attribute.name]);
    if (at < 0) continue;
    counts[at + CELL[decision]]! += 1;
    counts[at + CELL.SCORE_SUM]! += p;
    counts[at + CELL.SCORE_SQ]! += p * p;
    counted = true;
  }
  if (!counted) counts[layout.unjoinedOffset]! += 1;
  return counted;
}

/** Counts the outcome of a decided application (its decision and score as decided). */
export function addOutcome(counts: Float64Array, layout: FairnessLayout, groups: Readonly<Record<string, string>> | undefined, decision: Decision, p: number, defaulted: boolean): void {
  if (!groups) return;
  const adverse = decision !== 'APPROVE';
  const cell = adverse ? (defaulted ? CELL.ADVERSE_DEFAULTED : CELL.ADVERSE_REPAID) : defaulted ? CELL.APPROVED_DEFAULTED : CELL.APPROVED_REPAID;
  const bin = CELL.CALIBRATION + 3 * calibrationBin(p);
  for (const a of layout.attributes) {
    const at = groupOffset(a, groups[a.attribute.name]);
    if (at < 0) continue;
    counts[at + cell]! += 1;
    counts[at + bin]! += 1;
    counts[at + bin + 1]! += p;
    counts[at + bin + 2]! += defaulted ? 1 : 0;
  }
}

/** Adds a partial window's counts into `target` (same layout id required). */
export function mergeCounts(target: Float64Array, targetLayoutId: string, part: ArrayLike<number>, partLayoutId: string): void {
  if (partLayoutId !== targetLayoutId) throw new Error(`cannot merge fairness counts of layout ${partLayoutId} into ${targetLayoutId}`);
  if (part.length !== target.length) throw new Error(`fairness counts of ${part.length} cells do not fit a layout of ${target.length}`);
  for (let i = 0; i < target.length; i++) target[i]! += part[i]!;
}

/** Decisions counted in `counts` (those of the first attribute's groups, plus the unjoined ones). */
export function decisionsIn(counts: ArrayLike<number>, layout: FairnessLayout): number {
  let n = counts[layout.unjoinedOffset]!;
  const first = layout.attributes[0];
  if (first) for (const at of first.offsets) n += counts[at + CELL.APPROVE]! + counts[at + CELL.REVIEW]! + counts[at + CELL.DECLINE]!;
  return n;
}
