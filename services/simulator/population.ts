/**
 * TypeScript interpreter of schemas/population.json: samples loan applications from the same
 * distributions as pipeline/population/synthetic.py (not the same random stream) and computes the true default
 * probability exactly as Python does. Pure: the caller parses the spec and owns the rng.
 *
 * @example
 * const spec = JSON.parse(readFileSync('schemas/population.json', 'utf8')) as PopulationSpec;
 * const rng = createRng(42);
 * const app = generateApplication(rng, spec, { shock: false, submittedAt: Date.now(), applicationId: 'app-1' });
 * const p = defaultProbability(app, spec);
 */
import { evaluate } from './expression.ts';
import { beta, gamma, lognormal, normal, poisson, uniform } from './distributions.ts';
import type { Rng } from './rng.ts';
import { applyShock, DIST_PARAMS, type DistSpec, type PopulationSpec, type PostStep } from './spec.ts';

export * from './spec.ts';

/** Feature values by name, in spec order. */
export type Features = Record<string, number>;

/** A generated application: id, event time and one number per feature. */
export type GeneratedApplication = { readonly application_id: string; readonly submitted_at: number } & Readonly<Record<string, string | number>>;

export interface GenerateOptions {
  /** Sample the macro-shocked population. */
  readonly shock: boolean;
  /** Event time, epoch milliseconds. */
  readonly submittedAt: number;
  readonly applicationId: string;
}

function sample(rng: Rng, dist: DistSpec, env: Readonly<Features>): number {
  const p = (DIST_PARAMS[dist.type] as readonly string[]).map((name) => evaluate(dist[name]!, env));
  switch (dist.type) {
    case 'normal':
      return normal(rng, p[0]!, p[1]!);
    case 'lognormal':
      return lognormal(rng, p[0]!, p[1]!);
    case 'gamma':
      return gamma(rng, p[0]!, p[1]!);
    case 'beta':
      return beta(rng, p[0]!, p[1]!);
    case 'poisson':
      return poisson(rng, p[0]!);
    case 'uniform':
      return uniform(rng, p[0]!, p[1]!);
    default:
      throw new Error(`unknown distribution ${String((dist as DistSpec).type)}`);
  }
}

function post(value: number, steps: readonly PostStep[], env: Readonly<Features>): number {
  let v = value;
  for (const step of steps) {
    switch (step.op) {
      case 'add':
        v = v + evaluate(step.value, env);
        break;
      case 'mul':
        v = v * evaluate(step.value, env);
        break;
      case 'floor':
        v = Math.floor(v);
        break;
      case 'clip':
        v = Math.min(Math.max(v, evaluate(step.lo, env)), evaluate(step.hi, env));
        break;
      default:
        throw new Error(`unknown post step ${JSON.stringify(step)}`);
    }
  }
  return v;
}

/** Samples one applicant's features from `spec` as given (apply the shock beforehand if wanted). */
export function generateFeatures(rng: Rng, spec: PopulationSpec): Features {
  const env: Features = {};
  for (const feature of spec.features) env[feature.name] = post(sample(rng, feature.dist, env), feature.post, env);
  return env;
}

const shockedSpecs = new WeakMap<PopulationSpec, PopulationSpec>();

function shocked(spec: PopulationSpec): PopulationSpec {
  let s = shockedSpecs.get(spec);
  if (!s) {
    s = applyShock(spec);
    shockedSpecs.set(spec, s);
  }
  return s;
}

/** One application of the baseline or shocked population, with the given id and event time. */
export function generateApplication(rng: Rng, spec: PopulationSpec, opts: GenerateOptions): GeneratedApplication {
  const features = generateFeatures(rng, opts.shock ? shocked(spec) : spec);
  return { application_id: opts.applicationId, submitted_at: opts.submittedAt, ...features };
}

function featureEnv(features: Readonly<Record<string, unknown>>, spec: PopulationSpec): Features {
  const env: Features = {};
  for (const { name } of spec.features) {
    const v = features[name];
    if (typeof v !== 'number') throw new TypeError(`feature ${name} must be a number, got ${typeof v}`);
    env[name] = v;
  }
  return env;
}

/** Log-odds of default: intercept + sum of coef * expr, terms added in spec order (as in Python). */
export function logit(features: Readonly<Record<string, unknown>>, spec: PopulationSpec): number {
  const env = featureEnv(features, spec);
  let total = spec.default_model.intercept;
  for (const term of spec.default_model.terms) total = total + term.coef * evaluate(term.expr, env);
  return total;
}

/** True P(default) of an applicant under the spec's logistic model (the shock does not change it). */
export function defaultProbability(features: Readonly<Record<string, unknown>>, spec: PopulationSpec): number {
  return 1 / (1 + Math.exp(-logit(features, spec)));
}
