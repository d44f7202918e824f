/**
 * The fair-lending rules of schemas/population.json (`fair_lending`), the one source both languages read
 * (Python: pipeline/fairness/elderly.py). `elderly`: Regulation B's elderly applicant (12 CFR 1002.2(o),
 * 1002.6(b)(2)(ii)) - from this age on, age may never count against the applicant, so no adverse-action
 * reason names it. `modelMonotone`: the constraints every training adds (non-increasing in age).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from './schemas.ts';

export interface ElderlyRule {
  /** The age feature. */
  readonly feature: string;
  /** First elderly age (62). */
  readonly from: number;
}

/** One protected attribute of schemas/population.json `demographics` (what the fairness windows count). */
export interface ProtectedAttribute {
  readonly name: string;
  /** The group the adverse impact ratio compares with. */
  readonly reference: string;
  /** The category counted but never compared (information not provided), if any. */
  readonly notProvided: string | undefined;
  /** Categories in spec order. */
  readonly categories: readonly string[];
}

export interface FairLending {
  readonly elderly: ElderlyRule;
  /** Feature -> -1 | +1, added to the population's monotone constraints by every training. */
  readonly modelMonotone: Readonly<Record<string, number>>;
  /** The protected attributes (empty when the spec has no demographics). */
  readonly attributes: readonly ProtectedAttribute[];
}

/** Parses the spec's `fair_lending` section; throws naming what is wrong. */
function parseAttributes(spec: unknown): ProtectedAttribute[] {
  const raw = (spec as { demographics?: { attributes?: unknown } }).demographics?.attributes ?? [];
  if (!Array.isArray(raw)) throw new Error('schemas/population.json: demographics.attributes must be an array');
  return raw.map((a: { name?: unknown; reference?: unknown; not_provided?: unknown; categories?: { value?: unknown }[] }, i) => {
    const categories = (a.categories ?? []).map((c) => String(c.value));
    const where = `schemas/population.json: demographics.attributes[${i}]`;
    if (typeof a.name !== 'string' || categories.length < 2) throw new Error(`${where}: needs a name and at least two categories`);
    if (new Set(categories).size !== categories.length) throw new Error(`${where} (${a.name}): a category appears twice`);
    if (typeof a.reference !== 'string' || !categories.includes(a.reference)) throw new Error(`${where} (${a.name}): reference ${JSON.stringify(a.reference)} is not one of its categories`);
    if (a.not_provided !== undefined && (typeof a.not_provided !== 'string' || !categories.includes(a.not_provided))) throw new Error(`${where} (${a.name}): not_provided ${JSON.stringify(a.not_provided)} is not one of its categories`);
    return Object.freeze({ name: a.name, reference: a.reference, notProvided: a.not_provided as string | undefined, categories: Object.freeze(categories) });
  });
}

export function parseFairLending(spec: unknown): FairLending {
  const section = (spec as { fair_lending?: { elderly?: { feature?: unknown; from?: unknown }; model_monotone?: unknown } }).fair_lending;
  const e = section?.elderly;
  if (!e || typeof e.feature !== 'string' || typeof e.from !== 'number' || !Number.isFinite(e.from)) {
    throw new Error('schemas/population.json: fair_lending.elderly needs a feature name and a numeric "from"');
  }
  const monotone = (section.model_monotone ?? {}) as Record<string, unknown>;
  for (const [f, s] of Object.entries(monotone)) {
    if (s !== 1 && s !== -1) throw new Error(`schemas/population.json: fair_lending.model_monotone.${f} must be 1 or -1, got ${JSON.stringify(s)}`);
  }
  return Object.freeze({
    elderly: Object.freeze({ feature: e.feature, from: e.from }),
    modelMonotone: Object.freeze({ ...(monotone as Record<string, number>) }),
    attributes: Object.freeze(parseAttributes(spec)),
  });
}

let cached: FairLending | undefined;
/** The rules of schemas/population.json (read once). */
export function fairLending(): FairLending {
  return (cached ??= parseFairLending(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'population.json'), 'utf8'))));
}

/** True when `features` describe an elderly applicant, whose age may never be an adverse-action reason. */
export function isElderly(features: Readonly<Record<string, number>>, rule: ElderlyRule = fairLending().elderly): boolean {
  const age = features[rule.feature];
  return age !== undefined && age >= rule.from;
}
