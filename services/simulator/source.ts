/**
 * A stream of synthetic applications from the population spec (schemas/population.json). Application i is
 * a pure function of (seed, i): the same index always gives the same features, so tests can regenerate any
 * application. Applications with shockFrom <= i < shockUntil come from the shocked population. With a
 * `disparity` (disparity.ts), applications in its range whose drawn group matches have their income scaled
 * after the demographics were drawn, so `demographicsOf` gives the same groups with or without it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../shared/schemas.ts';
import type { Application } from './invalid.ts';
import { generateDemographics } from './demographics.ts';
import { applyDisparity, inDisparity, type Disparity } from './disparity.ts';
import { generateApplication, type PopulationSpec } from './population.ts';
import type { ApplicationSource } from './producer.ts';
import { createRng, type Rng } from './rng.ts';

let cachedSpec: PopulationSpec | undefined;
export function populationSpec(): PopulationSpec {
  cachedSpec ??= JSON.parse(readFileSync(join(SCHEMAS_DIR, 'population.json'), 'utf8')) as PopulationSpec;
  return cachedSpec;
}

export interface SourceOptions {
  readonly seed: number;
  /** Prefix of application ids: `${runId}-${i}`. */
  readonly runId: string;
  readonly shockFrom?: number;
  readonly shockUntil?: number;
  /** One group's incomes scaled over an index range (the fairness scenario); none: off. */
  readonly disparity?: Disparity;
  /** submitted_at of application i; defaults to the wall clock. */
  readonly clock?: (i: number) => number;
}

export function isShocked(i: number, o: Pick<SourceOptions, 'shockFrom' | 'shockUntil'>): boolean {
  return o.shockFrom !== undefined && i >= o.shockFrom && (o.shockUntil === undefined || i < o.shockUntil);
}

function applicationRng(seed: number, i: number) {
  return createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ i) >>> 0);
}

/** The protected attributes drawn from `rng` right after the applicant's features (attribute -> group). */
function drawGroups(rng: Rng, spec: PopulationSpec, features: Readonly<Record<string, unknown>>): Record<string, string> {
  if (!spec.demographics) throw new Error('schemas/population.json has no demographics section');
  return generateDemographics(rng, spec.demographics, features as unknown as Record<string, number>);
}

export function populationSource(o: SourceOptions): ApplicationSource {
  const spec = populationSpec();
  const clock = o.clock ?? (() => Date.now());
  return (i: number): Application => {
    const rng = applicationRng(o.seed, i);
    const app = generateApplication(rng, spec, { shock: isShocked(i, o), submittedAt: clock(i), applicationId: `${o.runId}-${i}` });
    // The group is drawn (as demographicsOf draws it) only where the scenario may hit; the features are left as drawn.
    return (inDisparity(i, o.disparity) ? applyDisparity(app, i, drawGroups(rng, spec, app), o.disparity) : app) as unknown as Application;
  };
}

/** One applicant's protected attributes: the value of the applicant-demographics topic (schemas/applicant-demographics.avsc). */
export interface DemographicsRecord {
  readonly application_id: string;
  readonly collected_at: number;
  readonly race_ethnicity: string;
  readonly sex: string;
  readonly source: string;
}

/**
 * The demographics of application i of `populationSource(o)` (the same options): drawn from the same
 * per-application rng after its features, so the features are untouched and the pair is a pure function of
 * (seed, i). `app` is that application (as the source gave it). The disparity scenario does not change them:
 * they are drawn from the features before any income is scaled.
 */
export function demographicsOf(o: SourceOptions, i: number, app: Application): DemographicsRecord {
  const spec = populationSpec();
  const rng = applicationRng(o.seed, i);
  const features = generateApplication(rng, spec, { shock: isShocked(i, o), submittedAt: 0, applicationId: '' });
  const drawn = drawGroups(rng, spec, features);
  return { application_id: String(app.application_id), collected_at: Number(app.submitted_at), race_ethnicity: drawn.race_ethnicity!, sex: drawn.sex!, source: 'SYNTHETIC' };
}
