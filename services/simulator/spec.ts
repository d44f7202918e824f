/**
 * Types of schemas/population.json and pure operations on the spec: the shock as parameter changes,
 * and which features the shock affects. The spec is the single description of the synthetic
 * population shared with the Python pipeline (pipeline/population/synthetic.py).
 */
import type { DemographicsSpec } from './demographics.ts';
import { references, type Expr } from './expression.ts';

export type { Expr } from './expression.ts';

export const DIST_PARAMS = {
  normal: ['mean', 'sd'],
  lognormal: ['meanlog', 'sdlog'],
  gamma: ['shape', 'scale'],
  beta: ['a', 'b'],
  poisson: ['rate'],
  uniform: ['low', 'high'],
} as const satisfies Record<string, readonly string[]>;

export type DistType = keyof typeof DIST_PARAMS;

export interface DistSpec {
  readonly type: DistType;
  readonly [param: string]: Expr;
}

export type PostStep =
  | { readonly op: 'add' | 'mul'; readonly value: Expr }
  | { readonly op: 'floor' }
  | { readonly op: 'clip'; readonly lo: Expr; readonly hi: Expr };

export interface FeatureSpec {
  readonly name: string;
  readonly doc?: string;
  readonly dist: DistSpec;
  readonly post: readonly PostStep[];
}

export interface DefaultModelSpec {
  readonly intercept: number;
  readonly terms: readonly { readonly name: string; readonly coef: number; readonly expr: Expr }[];
  /** Sign of d logit / d feature: +1 rising, -1 falling. */
  readonly monotone: Readonly<Record<string, 1 | -1>>;
}

export interface ShockChange {
  readonly feature: string;
  readonly param: string;
  readonly op: 'set' | 'add' | 'mul';
  readonly value: Expr;
}

export interface PopulationSpec {
  readonly spec_version: number;
  readonly name: string;
  readonly time_window: { readonly from: string; readonly to: string };
  readonly features: readonly FeatureSpec[];
  readonly default_model: DefaultModelSpec;
  readonly shock: { readonly changes: readonly ShockChange[] };
  /** Protected-class attributes, drawn after the features (services/simulator/demographics.ts). */
  readonly demographics?: DemographicsSpec;
}

/** Feature names in spec order (the model input order of schemas/loan-application.avsc). */
export function featureNames(spec: PopulationSpec): string[] {
  return spec.features.map((f) => f.name);
}

function paramsOf(dist: DistSpec): readonly string[] {
  const params = DIST_PARAMS[dist.type] as readonly string[] | undefined;
  if (!params) throw new Error(`unknown distribution ${String(dist.type)}`);
  return params;
}

function featureExprs(feature: FeatureSpec): Expr[] {
  const exprs: Expr[] = paramsOf(feature.dist).map((p) => {
    const e = feature.dist[p];
    if (e === undefined) throw new Error(`${feature.name}: ${feature.dist.type} needs parameter ${p}`);
    return e;
  });
  for (const step of feature.post) {
    if (step.op === 'add' || step.op === 'mul') exprs.push(step.value);
    else if (step.op === 'clip') exprs.push(step.lo, step.hi);
  }
  return exprs;
}

/** Throws unless every distribution is known and every expression reads only earlier features. */
export function checkSpec(spec: PopulationSpec): void {
  const seen = new Set<string>();
  for (const feature of spec.features) {
    for (const expr of featureExprs(feature)) {
      for (const ref of references(expr)) {
        if (!seen.has(ref)) throw new Error(`${feature.name}: refers to ${ref}, not generated before it`);
      }
    }
    seen.add(feature.name);
  }
  for (const term of spec.default_model.terms) {
    for (const ref of references(term.expr)) if (!seen.has(ref)) throw new Error(`default model term ${term.name} refers to unknown ${ref}`);
  }
}

/**
 * The spec of the shocked population (`spec` is not modified): 'set' replaces a parameter, 'add' and
 * 'mul' wrap it as {add|mul: [old, value]}.
 */
export function applyShock(spec: PopulationSpec): PopulationSpec {
  const features = spec.features.map((feature) => {
    let dist: DistSpec = feature.dist;
    for (const change of spec.shock.changes) {
      if (change.feature !== feature.name) continue;
      if (!paramsOf(dist).includes(change.param)) throw new Error(`shock: ${feature.name} has no parameter ${change.param}`);
      const old = dist[change.param]!;
      let next: Expr;
      if (change.op === 'set') next = change.value;
      else if (change.op === 'add') next = { add: [old, change.value] };
      else if (change.op === 'mul') next = { mul: [old, change.value] };
      else throw new Error(`shock: unknown op ${String(change.op)}`);
      dist = { ...dist, [change.param]: next };
    }
    return dist === feature.dist ? feature : { ...feature, dist };
  });
  for (const change of spec.shock.changes) {
    if (!features.some((f) => f.name === change.feature)) throw new Error(`shock: unknown feature ${change.feature}`);
  }
  return { ...spec, features };
}

/** Features whose distribution the shock changes: directly, or through a feature they depend on. */
export function affectedByShock(spec: PopulationSpec): Set<string> {
  const affected = new Set(spec.shock.changes.map((c) => c.feature));
  for (const feature of spec.features) {
    if (featureExprs(feature).some((e) => [...references(e)].some((r) => affected.has(r)))) affected.add(feature.name);
  }
  return affected;
}
