/**
 * Synthetic references and records for the drift unit tests: per feature a discrete or continuous
 * distribution with decile edges computed the way pipeline/model/reference.py does. Not used by the service.
 */
import { FEATURE_NAMES } from '../services/shared/schemas.ts';
import type { ModelMetadata } from '../services/scorer/model/metadata.ts';
import { createRng, type Rng } from '../services/simulator/rng.ts';
import type { DriftRecord } from '../services/drift/windows/layout.ts';
import { compileReference, type Reference } from '../services/drift/statistics/reference.ts';

/** Value of feature j: every other feature is discrete (small integers) to exercise duplicate edges and ties. */
export function drawFeature(rng: Rng, j: number, shift = 0): number {
  return j % 2 === 0 ? Math.floor(-Math.log(1 - rng.next()) * 3 + shift) : rng.next() * 100 + shift * 10;
}

function inverseCdfQuantile(sorted: number[], q: number): number {
  // numpy 'inverted_cdf': the smallest x with F(x) >= q
  const i = Math.max(0, Math.ceil(q * sorted.length) - 1);
  return sorted[i]!;
}

function binsOf(values: number[], sampleSize: number, rng: Rng) {
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => inverseCdfQuantile(sorted, q)))].sort((a, b) => a - b);
  const counts = new Array(edges.length + 1).fill(0);
  for (const v of values) counts[edges.filter((e) => e <= v).length]++;
  const sample = Array.from({ length: sampleSize }, () => values[Math.floor(rng.next() * values.length)]!);
  return { edges, proportions: counts.map((c) => c / values.length), missing_proportion: 0, sample };
}

export function syntheticMetadata(seed = 1, rows = 5000, sampleSize = 300): ModelMetadata {
  const rng = createRng(seed);
  const features: Record<string, ReturnType<typeof binsOf>> = {};
  FEATURE_NAMES.forEach((f, j) => {
    features[f] = binsOf(
      Array.from({ length: rows }, () => drawFeature(rng, j)),
      sampleSize,
      rng,
    );
  });
  const score = binsOf(
    Array.from({ length: rows }, () => rng.next()),
    sampleSize,
    rng,
  );
  return {
    name: 'synthetic',
    version: '7',
    feature_names: [...FEATURE_NAMES],
    input_name: 'x',
    output_probability_name: 'p',
    probability_column: 1,
    model_sha256: '0'.repeat(64),
    metrics: {},
    training: { rows },
    reference: { features, score },
  };
}

export function syntheticReference(seed = 1): Reference {
  return compileReference(syntheticMetadata(seed));
}

/** Record i of a stream: deterministic in (seed, i); `shift` moves even-indexed features; every 97th misses a feature. */
export function syntheticRecord(seed: number, i: number, eventAt: number, shift = 0): DriftRecord {
  const rng = createRng((Math.imul(seed, 0x9e3779b1) ^ i) >>> 0);
  const features: Record<string, number> = {};
  FEATURE_NAMES.forEach((f, j) => {
    features[f] = drawFeature(rng, j, j % 2 === 0 ? shift : 0);
  });
  if (i % 97 === 0) delete features[FEATURE_NAMES[1]!];
  if (i % 89 === 0) features[FEATURE_NAMES[2]!] = NaN;
  return { applicationId: `a-${i}`, eventAt, features, score: rng.next() };
}
