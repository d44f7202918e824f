/**
 * Adverse-action reasons from a decision's contributions: the features that pushed the application toward
 * default (positive contribution to the margin), largest first, each with its stable code and applicant-
 * facing sentence from schemas/reason-codes.json. APPROVE carries none; an elderly applicant's (62+) age is
 * never a reason (Regulation B; schemas/population.json fair_lending, docs/fairness.md). Pure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Decision } from '../policy.ts';
import { fairLending, isElderly, type ElderlyRule } from '../../shared/fair-lending.ts';
import { FEATURE_NAMES, SCHEMAS_DIR } from '../../shared/schemas.ts';

export type Direction = 'high' | 'low';

export interface ReasonEntry {
  readonly code: string;
  readonly feature: string;
  readonly direction: Direction;
  readonly text: string;
}

export interface Reason {
  readonly code: string;
  readonly feature: string;
  readonly text: string;
  readonly contribution: number;
}

export interface ReasonCatalogue {
  readonly version: number;
  readonly reasons: readonly ReasonEntry[];
  /** Withdrawn codes: never used again. */
  readonly retired: readonly string[];
  /** feature -> direction -> entry. */
  readonly byFeature: ReadonlyMap<string, ReadonlyMap<Direction, ReasonEntry>>;
}

export const REASON_CODES_PATH = join(SCHEMAS_DIR, 'reason-codes.json');

/** Parses a catalogue; throws naming the entry that is wrong. */
export function parseCatalogue(raw: unknown): ReasonCatalogue {
  const doc = raw as { version?: unknown; reasons?: unknown; retired?: unknown };
  if (!doc || typeof doc.version !== 'number' || !Array.isArray(doc.reasons)) throw new Error('reason-codes.json: needs a numeric version and a reasons array');
  if (doc.retired !== undefined && !Array.isArray(doc.retired)) throw new Error('reason-codes.json: retired must be an array');
  const retired = ((doc.retired ?? []) as { code?: unknown }[]).map((r, i) => {
    if (typeof r?.code !== 'string') throw new Error(`reason-codes.json retired[${i}]: code is required`);
    return r.code;
  });
  const byFeature = new Map<string, Map<Direction, ReasonEntry>>();
  const codes = new Set<string>();
  const reasons = (doc.reasons as unknown[]).map((r, i) => {
    const e = r as Partial<ReasonEntry>;
    if (typeof e.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(e.code)) throw new Error(`reason-codes.json reasons[${i}]: code ${JSON.stringify(e.code)} is not UPPER_SNAKE`);
    if (typeof e.feature !== 'string' || typeof e.text !== 'string' || e.text.length === 0) throw new Error(`reason-codes.json reasons[${i}] (${e.code}): feature and text are required`);
    if (e.direction !== 'high' && e.direction !== 'low') throw new Error(`reason-codes.json reasons[${i}] (${e.code}): direction must be "high" or "low"`);
    if (codes.has(e.code)) throw new Error(`reason-codes.json: code ${e.code} appears twice`);
    if (retired.includes(e.code)) throw new Error(`reason-codes.json: code ${e.code} is retired and may not be used again`);
    codes.add(e.code);
    const m = byFeature.get(e.feature) ?? new Map<Direction, ReasonEntry>();
    if (m.has(e.direction)) throw new Error(`reason-codes.json: ${e.feature}/${e.direction} has two codes`);
    const entry: ReasonEntry = Object.freeze({ code: e.code, feature: e.feature, direction: e.direction, text: e.text });
    m.set(e.direction, entry);
    byFeature.set(e.feature, m);
    return entry;
  });
  return Object.freeze({ version: doc.version, reasons, retired: Object.freeze(retired), byFeature });
}

let cached: ReasonCatalogue | undefined;
/** The catalogue in schemas/reason-codes.json (read once). */
export function reasonCatalogue(): ReasonCatalogue {
  return (cached ??= parseCatalogue(JSON.parse(readFileSync(REASON_CODES_PATH, 'utf8'))));
}

/**
 * How one model version turns a feature's value into a reason direction: a constrained feature always
 * pushes toward default in its constraint's direction; an unconstrained one by the side of the training
 * median its value is on.
 */
export interface ReasonDirections {
  /** Per feature (schema order): +1, -1 or 0 (unconstrained). */
  readonly monotone: readonly number[];
  /** Per feature: the training median (used for unconstrained features). */
  readonly median: readonly number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Directions from metadata.json: training.monotone_constraints and the reference samples (or bin edges). */
export function reasonDirections(metadata: { training?: Record<string, unknown>; reference?: { features: Record<string, { edges: number[]; sample?: number[] }> } }): ReasonDirections {
  const constraints = (metadata.training?.monotone_constraints ?? {}) as Record<string, number>;
  return {
    monotone: FEATURE_NAMES.map((f) => Math.sign(Number(constraints[f] ?? 0))),
    median: FEATURE_NAMES.map((f) => {
      const ref = metadata.reference?.features[f];
      if (!ref) return Number.NaN;
      return ref.sample && ref.sample.length > 0 ? median(ref.sample) : median(ref.edges);
    }),
  };
}

/** The direction in which feature `j`'s value `x` pushed toward default. */
export function directionOf(j: number, x: number, d: ReasonDirections): Direction {
  const m = d.monotone[j]!;
  if (m > 0) return 'high';
  if (m < 0) return 'low';
  return x >= d.median[j]! ? 'high' : 'low';
}

/**
 * Up to `max` reasons for row `i` of a batch: positive contributions (`contributions[i * (F + 1) + j]`),
 * largest first, ties in feature order; none for APPROVE. A feature without a catalogue entry for the
 * direction is skipped (the catalogue test makes that impossible for the schema's features), and so is the
 * age of an elderly applicant (`elderly`, from schemas/population.json): whatever its contribution, age
 * never counts against an applicant aged 62 or more.
 */
export function reasonsFor(
  decision: Decision,
  features: Readonly<Record<string, number>>,
  contributions: ArrayLike<number>,
  offset: number,
  directions: ReasonDirections,
  max: number,
  catalogue: ReasonCatalogue = reasonCatalogue(),
  elderly: ElderlyRule = fairLending().elderly,
): Reason[] {
  if (decision === 'APPROVE' || max <= 0) return [];
  const order: number[] = [];
  for (let j = 0; j < FEATURE_NAMES.length; j++) if (contributions[offset + j]! > 0) order.push(j);
  order.sort((a, b) => contributions[offset + b]! - contributions[offset + a]! || a - b);
  const out: Reason[] = [];
  for (const j of order) {
    if (out.length >= max) break;
    const feature = FEATURE_NAMES[j]!;
    if (feature === elderly.feature && isElderly(features, elderly)) continue;
    const entry = catalogue.byFeature.get(feature)?.get(directionOf(j, features[feature]!, directions));
    if (entry) out.push({ code: entry.code, feature, text: entry.text, contribution: contributions[offset + j]! });
  }
  return out;
}
