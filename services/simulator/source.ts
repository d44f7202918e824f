/**
 * A stream of synthetic applications from the population spec (schemas/population.json). Application i is
 * a pure function of (seed, i): the same index always gives the same features, so tests can regenerate any
 * application. Applications with shockFrom <= i < shockUntil come from the shocked population.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../shared/schemas.ts';
import type { Application } from './invalid.ts';
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

export function populationSource(o: SourceOptions): ApplicationSource {
  const spec = populationSpec();
  const clock = o.clock ?? (() => Date.now());
  return (i: number): Application => {
    const rng = createRng((Math.imul(o.seed >>> 0, 0x9e3779b1) ^ i) >>> 0);
    return generateApplication(rng, spec, { shock: isShocked(i, o), submittedAt: clock(i), applicationId: `${o.runId}-${i}` }) as unknown as Application;
  };
}
