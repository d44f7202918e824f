/**
 * A stream of synthetic applications from the population spec (schemas/population.json). Application i is
 * a pure function of (seed, i): the same index always gives the same features, so tests can regenerate any
 * application. Applications with shockFrom <= i < shockUntil come from the shocked population.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../shared/schemas.ts';
import type { Application } from './invalid.ts';
import { generateDemographics } from './demographics.ts';
import { generateApplication, type PopulationSpec } from './population.ts';
import type { ApplicationSource } from './producer.ts';
import { createRng } from './rng.ts';

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
  /** submitted_at of application i; defaults to the wall clock. */
  readonly clock?: (i: number) => number;
}

export function isShocked(i: number, o: Pick<SourceOptions, 'shockFrom' | 'shockUntil'>): boolean {
  return o.shockFrom !== undefined && i >= o.shockFrom && (o.shockUntil === undefined || i < o.shockUntil);
}

function applicationRng(seed: number, i: number) {
  return createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ i) >>> 0);
}

export function populationSource(o: SourceOptions): ApplicationSource {
  const spec = populationSpec();
  const clock = o.clock ?? (() => Date.now());
  return (i: number): Application => {
    const rng = applicationRng(o.seed, i);
    return generateApplication(rng, spec, { shock: isShocked(i, o), submittedAt: clock(i), applicationId: `${o.runId}-${i}` }) as unknown as Application;
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
 * (seed, i). `app` is that application (as the source gave it).
 */
export function demographicsOf(o: SourceOptions, i: number, app: Application): DemographicsRecord {
  const spec = populationSpec();
  if (!spec.demographics) throw new Error('schemas/population.json has no demographics section');
  const rng = applicationRng(o.seed, i);
  const features = generateApplication(rng, spec, { shock: isShocked(i, o), submittedAt: 0, applicationId: '' });
  const drawn = generateDemographics(rng, spec.demographics, features as unknown as Record<string, number>);
  return { application_id: String(app.application_id), collected_at: Number(app.submitted_at), race_ethnicity: drawn.race_ethnicity!, sex: drawn.sex!, source: 'SYNTHETIC' };
}
