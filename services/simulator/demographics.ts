/**
 * Protected-class attributes of a synthetic applicant (schemas/population.json `demographics`), drawn after
 * the features with the same rng, exactly as pipeline/population/demographics.py does: per attribute, the
 * softmax of the categories' score expressions over the features, then one uniform draw picks the category
 * (categories in the order listed). They are published on their own topic (applicant-demographics) for
 * fair-lending monitoring only: never a model feature (docs/fairness.md). Pure.
 */
import { evaluate, type Expr } from './expression.ts';
import type { Rng } from './rng.ts';

export interface DemographicCategory {
  readonly value: string;
  readonly score: Expr;
}

export interface DemographicAttribute {
  readonly name: string;
  readonly doc?: string;
  readonly reference: string;
  readonly not_provided?: string;
  readonly categories: readonly DemographicCategory[];
}

export interface DemographicsSpec {
  readonly attributes: readonly DemographicAttribute[];
}

/** Category probabilities of one attribute for an applicant: the softmax of the scores (max subtracted first). */
export function categoryProbabilities(attribute: DemographicAttribute, features: Readonly<Record<string, number>>): number[] {
  const scores = attribute.categories.map((c) => evaluate(c.score, features));
  const top = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - top));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Draws every attribute (one `rng.next()` each, attributes in spec order): attribute name -> category. */
export function generateDemographics(rng: Rng, spec: DemographicsSpec, features: Readonly<Record<string, number>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const attribute of spec.attributes) {
    const p = categoryProbabilities(attribute, features);
    const u = rng.next();
    let k = 0;
    for (let acc = p[0]!; k < p.length - 1 && acc <= u; acc += p[++k]!);
    out[attribute.name] = attribute.categories[k]!.value;
  }
  return out;
}
