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

export interface FairLending {
  readonly elderly: ElderlyRule;
  /** Feature -> -1 | +1, added to the population's monotone constraints by every training. */
  readonly modelMonotone: Readonly<Record<string, number>>;
}

/** Parses the spec's `fair_lending` section; throws naming what is wrong. */
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
