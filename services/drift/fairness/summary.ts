/**
 * A fairness window's figures from its merged counts (layout.ts): per attribute and group the decisions,
 * approval rate, adverse impact ratio against the reference group with a confidence interval and Fisher's
 * exact one-sided p-value, the SMD of the score, and from outcomes the default rate among the approved, the
 * false-positive rate (adverse action on an applicant who repaid), the false-negative rate (approval of one
 * who defaulted) and calibration (mean score vs observed default rate per score bin, and its ECE). A group is
 * flagged when AIR < airMin, the test is significant at alpha and both it and the reference have at least
 * minCount decisions. The gate computes the same AIR and SMD on the holdout (pipeline/fairness/disparity.py).
 * Pure.
 */
import { CALIBRATION_BINS, CELL, type FairnessLayout } from './layout.ts';
import { adverseImpactRatio, fisherLowerP, moments, smdFromSums } from './significance.ts';

export interface FairnessOptions {
  /** AIR below this is an adverse impact (the four-fifths rule: 0.8). */
  readonly airMin: number;
  /** Significance level of the one-sided exact test. */
  readonly alpha: number;
  /** Fewest decisions a group and its reference need to be compared. */
  readonly minCount: number;
  /** Confidence of the AIR interval. */
  readonly confidence: number;
  /** Attribute -> reference group overriding schemas/population.json's. */
  readonly references?: Readonly<Record<string, string>>;
}

export const DEFAULT_FAIRNESS_OPTIONS: FairnessOptions = Object.freeze({ airMin: 0.8, alpha: 0.05, minCount: 100, confidence: 0.95 });

export interface CalibrationBin {
  readonly from: number;
  readonly to: number;
  readonly labelled: number;
  readonly meanScore: number;
  readonly observedRate: number;
}

export interface GroupOutcomes {
  readonly labelled: number;
  /** Defaults among the approved with an outcome. */
  readonly defaultRateApproved: number;
  /** Adverse action among those who repaid. */
  readonly falsePositiveRate: number;
  /** Approval among those who defaulted. */
  readonly falseNegativeRate: number;
  readonly calibration: readonly CalibrationBin[];
  /** Expected calibration error over the bins with outcomes. */
  readonly ece: number;
}

export interface GroupFigures {
  readonly group: string;
  readonly decisions: number;
  readonly approve: number;
  readonly review: number;
  readonly decline: number;
  readonly approvalRate: number;
  readonly meanScore: number;
  /** Against the reference; undefined for the reference, the not-provided category and groups below minCount. */
  readonly air: number | undefined;
  readonly airLow: number | undefined;
  readonly airHigh: number | undefined;
  readonly pValue: number | undefined;
  readonly smd: number | undefined;
  readonly enough: boolean;
  readonly flagged: boolean;
  readonly outcomes: GroupOutcomes;
}

export interface AttributeFigures {
  readonly attribute: string;
  readonly reference: string;
  readonly groups: readonly GroupFigures[];
  /** Lowest AIR among the compared groups, and whose. */
  readonly minAir: number | undefined;
  readonly minAirGroup: string | undefined;
  readonly flagged: readonly string[];
}

export interface FairnessSummary {
  readonly attributes: readonly AttributeFigures[];
  /** Decisions counted without demographics. */
  readonly unjoined: number;
  /** True when any group is flagged. */
  readonly alert: boolean;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

function outcomesOf(c: ArrayLike<number>, at: number): GroupOutcomes {
  const tp = c[at + CELL.ADVERSE_DEFAULTED]!;
  const fp = c[at + CELL.ADVERSE_REPAID]!;
  const fn = c[at + CELL.APPROVED_DEFAULTED]!;
  const tn = c[at + CELL.APPROVED_REPAID]!;
  const labelled = tp + fp + fn + tn;
  const calibration: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    const o = at + CELL.CALIBRATION + 3 * b;
    const n = c[o]!;
    const bin = { from: b / CALIBRATION_BINS, to: (b + 1) / CALIBRATION_BINS, labelled: n, meanScore: ratio(c[o + 1]!, n), observedRate: ratio(c[o + 2]!, n) };
    calibration.push(bin);
    if (n > 0 && labelled > 0) ece += (n / labelled) * Math.abs(bin.meanScore - bin.observedRate);
  }
  return { labelled, defaultRateApproved: ratio(fn, fn + tn), falsePositiveRate: ratio(fp, fp + tn), falseNegativeRate: ratio(fn, fn + tp), calibration, ece: labelled > 0 ? ece : Number.NaN };
}

/** The figures of one window's counts. */
export function summarizeFairness(counts: ArrayLike<number>, layout: FairnessLayout, options: FairnessOptions = DEFAULT_FAIRNESS_OPTIONS): FairnessSummary {
  if (counts.length !== layout.size) throw new Error(`fairness counts of ${counts.length} cells do not fit the layout (${layout.size})`);
  const attributes = layout.attributes.map(({ attribute, offsets }): AttributeFigures => {
    const reference = options.references?.[attribute.name] ?? attribute.reference;
    const refIndex = attribute.categories.indexOf(reference);
    if (refIndex < 0) throw new Error(`fairness reference ${JSON.stringify(reference)} is not a category of ${attribute.name} (${attribute.categories.join(', ')})`);
    const cell = (k: number, c: number) => counts[offsets[k]! + c]!;
    const decisionsOf = (k: number) => cell(k, CELL.APPROVE) + cell(k, CELL.REVIEW) + cell(k, CELL.DECLINE);
    const refRows = decisionsOf(refIndex);
    const refApproved = cell(refIndex, CELL.APPROVE);
    const groups = attribute.categories.map((group, k): GroupFigures => {
      const rows = decisionsOf(k);
      const approved = cell(k, CELL.APPROVE);
      const compared = k !== refIndex && group !== attribute.notProvided;
      const enough = rows >= options.minCount && refRows >= options.minCount;
      const air = compared && enough ? adverseImpactRatio(approved, rows, refApproved, refRows, options.confidence) : undefined;
      const pValue = air ? fisherLowerP(approved, rows, refApproved, refRows) : undefined;
      const smd = compared && enough ? smdFromSums(rows, cell(k, CELL.SCORE_SUM), cell(k, CELL.SCORE_SQ), refRows, cell(refIndex, CELL.SCORE_SUM), cell(refIndex, CELL.SCORE_SQ)) : undefined;
      const flagged = air !== undefined && pValue !== undefined && air.air < options.airMin && pValue < options.alpha;
      return {
        group,
        decisions: rows,
        approve: approved,
        review: cell(k, CELL.REVIEW),
        decline: cell(k, CELL.DECLINE),
        approvalRate: ratio(approved, rows),
        meanScore: moments(rows, cell(k, CELL.SCORE_SUM), cell(k, CELL.SCORE_SQ)).mean,
        air: air?.air,
        airLow: air?.low,
        airHigh: air?.high,
        pValue,
        smd,
        enough,
        flagged,
        outcomes: outcomesOf(counts, offsets[k]!),
      };
    });
    const compared = groups.filter((g) => g.air !== undefined);
    const worst = compared.reduce<GroupFigures | undefined>((w, g) => (w === undefined || g.air! < w.air! ? g : w), undefined);
    return { attribute: attribute.name, reference, groups, minAir: worst?.air, minAirGroup: worst?.group, flagged: groups.filter((g) => g.flagged).map((g) => g.group) };
  });
  return { attributes, unjoined: counts[layout.unjoinedOffset]!, alert: attributes.some((a) => a.flagged.length > 0) };
}
