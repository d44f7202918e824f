/**
 * The frozen reference a drift window is compared with: per feature and for the score, the training
 * decile edges and proportions, the share of missing values, and a sample of training values — all from
 * the active model's metadata.json (written by pipeline/train_initial.py). Compiled once into typed arrays.
 */
import { ServiceError } from '../../shared/errors.ts';
import { FEATURE_NAMES } from '../../shared/schemas.ts';
import { readMetadata, type ModelMetadata, type ReferenceBins } from '../../scorer/model/metadata.ts';

/** The name of the score target: probability_of_default. */
export const SCORE_TARGET = 'score';

export interface TargetReference {
  readonly name: string;
  readonly edges: Float64Array;
  /** Reference proportions per bin (edges.length + 1 of them) and then of missing values; sums to 1. */
  readonly expected: Float64Array;
  /** Distinct values of the reference sample, ascending. */
  readonly grid: Float64Array;
  /** Reference sample's empirical CDF at each grid value: share of the sample <= grid[i]. */
  readonly gridCdf: Float64Array;
  readonly sampleSize: number;
}

export interface Reference {
  readonly modelName: string;
  readonly version: string;
  /** Training records behind the proportions (N in the PSI variance 1/n + 1/N); Infinity when unknown. */
  readonly records: number;
  /** Features in schema order, then the score. */
  readonly targets: readonly TargetReference[];
}

function compileTarget(name: string, bins: ReferenceBins): TargetReference {
  const where = `reference.${name === SCORE_TARGET ? 'score' : `features.${name}`}`;
  const bad = (why: string) => new ServiceError('MODEL_INVALID', `${where}: ${why}`, false, { target: name });
  const { edges, proportions } = bins;
  if (edges.some((e, i) => !Number.isFinite(e) || (i > 0 && e <= edges[i - 1]!))) throw bad('edges must be finite and strictly ascending');
  if (proportions.length !== edges.length + 1) throw bad(`has ${proportions.length} proportions for ${edges.length} edges (want ${edges.length + 1})`);
  const sum = proportions.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) throw bad(`proportions sum to ${sum}, not 1`);
  const m = bins.missing_proportion;
  const expected = new Float64Array(edges.length + 2);
  proportions.forEach((p, i) => (expected[i] = p * (1 - m)));
  expected[edges.length + 1] = m;
  const sample = (bins.sample ?? []).filter(Number.isFinite).sort((a, b) => a - b);
  const grid: number[] = [];
  const cdf: number[] = [];
  for (let i = 0; i < sample.length; i++) {
    if (i + 1 < sample.length && sample[i + 1] === sample[i]) continue;
    grid.push(sample[i]!);
    cdf.push((i + 1) / sample.length);
  }
  return { name, edges: Float64Array.from(edges), expected, grid: Float64Array.from(grid), gridCdf: Float64Array.from(cdf), sampleSize: sample.length };
}

/** Compiles the reference of validated model metadata; `records` overrides the training row count. */
export function compileReference(metadata: ModelMetadata, records?: number): Reference {
  const ref = metadata.reference;
  if (!ref) throw new ServiceError('MODEL_INVALID', `model ${metadata.name} v${metadata.version} has no reference distributions in its metadata`, false);
  const targets: TargetReference[] = [];
  for (const f of FEATURE_NAMES) {
    const bins = ref.features[f];
    if (!bins) throw new ServiceError('MODEL_INVALID', `reference.features has no ${f} (features: ${Object.keys(ref.features).join(', ')})`, false);
    targets.push(compileTarget(f, bins));
  }
  targets.push(compileTarget(SCORE_TARGET, ref.score));
  const trainingRows = (metadata.training as { rows?: unknown } | undefined)?.rows;
  const n = records ?? (typeof trainingRows === 'number' && trainingRows > 0 ? trainingRows : Infinity);
  return { modelName: metadata.name, version: metadata.version, records: n, targets };
}

/** Reads and compiles `<dir>/metadata.json`. */
export async function loadReference(dir: string, records?: number): Promise<Reference> {
  return compileReference(await readMetadata(dir), records);
}
