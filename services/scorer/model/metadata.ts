/**
 * Model metadata (metadata.json beside model.onnx), validated once. The feature order is taken from here
 * and must equal the Avro schema's: a model trained on another feature order is refused, never reordered
 * silently.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors.ts';
import { FEATURE_NAMES } from '../../shared/schemas.ts';

const referenceBins = z.object({
  edges: z.array(z.number()),
  proportions: z.array(z.number().min(0)),
  missing_proportion: z.number().min(0).max(1).default(0),
  sample: z.array(z.number()).optional(),
});

export const metadataSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  created_at: z.string().optional(),
  feature_names: z.array(z.string()).min(1),
  input_name: z.string().min(1),
  output_probability_name: z.string().min(1),
  probability_column: z.number().int().min(0).default(1),
  model_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of trees.json (pipeline/explain.py), the trees the decisions are explained with. */
  trees_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  trees_format: z.string().optional(),
  metrics: z.record(z.number()).default({}),
  training: z.record(z.unknown()).optional(),
  reference: z
    .object({
      features: z.record(referenceBins),
      score: referenceBins,
    })
    .optional(),
});

export type ModelMetadata = z.infer<typeof metadataSchema>;
export type ReferenceBins = z.infer<typeof referenceBins>;

export interface LoadedModelFiles {
  readonly dir: string;
  readonly modelPath: string;
  readonly modelBytes: Buffer;
  readonly metadata: ModelMetadata;
  /** trees.json (checksum verified) and the golden rows the trees are checked on; absent without `trees`. */
  readonly trees?: { readonly bytes: Buffer; readonly goldenRows: number[][] };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readBundleFile(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, file));
  } catch (e) {
    throw new ServiceError('MODEL_INVALID', `cannot read ${join(dir, file)}: ${(e as Error).message}`, false, { dir }, { cause: e });
  }
}

/**
 * Reads trees.json (its sha256 must equal metadata.trees_sha256) and golden.json's rows. A bundle without
 * trees is refused: the scorer explains every decision it makes.
 */
export async function readTreeFiles(dir: string, metadata: ModelMetadata): Promise<{ bytes: Buffer; goldenRows: number[][] }> {
  if (!metadata.trees_sha256) {
    throw new ServiceError('MODEL_INVALID', `model ${dir} has no trees (metadata.json has no trees_sha256): decisions could not be explained; re-export it with the current pipeline (pipeline/explain.py)`, false, { dir });
  }
  const bytes = await readBundleFile(dir, 'trees.json');
  const sha = sha256(bytes);
  if (sha !== metadata.trees_sha256) {
    throw new ServiceError('MODEL_INVALID', `checksum mismatch for ${join(dir, 'trees.json')}: metadata.trees_sha256 is ${metadata.trees_sha256}, file is ${sha}`, false, { dir, sha });
  }
  let golden: unknown;
  try {
    golden = JSON.parse((await readBundleFile(dir, 'golden.json')).toString('utf8'));
  } catch (e) {
    if (e instanceof ServiceError) throw e;
    throw new ServiceError('MODEL_INVALID', `${join(dir, 'golden.json')} is not JSON: ${(e as Error).message}`, false, { dir }, { cause: e });
  }
  const rows = (golden as { rows?: unknown }).rows;
  if (!Array.isArray(rows) || rows.length === 0 || rows.some((r) => !Array.isArray(r) || r.length !== FEATURE_NAMES.length || r.some((v) => typeof v !== 'number'))) {
    throw new ServiceError('MODEL_INVALID', `${join(dir, 'golden.json')}: rows must be a non-empty array of ${FEATURE_NAMES.length} numbers each (the trees are checked against the ONNX model on them)`, false, { dir });
  }
  return { bytes, goldenRows: rows as number[][] };
}

export function checkFeatureOrder(names: readonly string[]): void {
  if (names.length !== FEATURE_NAMES.length || names.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw new ServiceError('MODEL_INVALID', `model feature order [${names.join(', ')}] differs from schemas/loan-application.avsc [${FEATURE_NAMES.join(', ')}]`, false, { names });
  }
}

/** Reads and validates `<dir>/metadata.json` (shape only; see readModelFiles for the full check). */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8'));
  } catch (e) {
    throw new ServiceError('MODEL_INVALID', `cannot read ${join(dir, 'metadata.json')}: ${(e as Error).message}`, false, { dir }, { cause: e });
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ServiceError('MODEL_INVALID', `invalid model metadata in ${dir}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, false, { dir });
  }
  return parsed.data;
}

/** Reads and checks metadata.json and model.onnx in `dir` (sha256, feature order), and trees.json unless `trees` is false. */
export async function readModelFiles(dir: string, expectedSha256?: string, trees = true): Promise<LoadedModelFiles> {
  const metadata = await readMetadata(dir);
  checkFeatureOrder(metadata.feature_names);
  const modelPath = join(dir, 'model.onnx');
  let modelBytes: Buffer;
  try {
    modelBytes = await readFile(modelPath);
  } catch (e) {
    throw new ServiceError('MODEL_INVALID', `cannot read ${modelPath}: ${(e as Error).message}`, false, { dir }, { cause: e });
  }
  const sha = sha256(modelBytes);
  for (const [what, want] of [['metadata.model_sha256', metadata.model_sha256], ['announced sha256', expectedSha256]] as const) {
    if (want !== undefined && want !== sha) {
      throw new ServiceError('MODEL_INVALID', `checksum mismatch for ${modelPath}: ${what} is ${want}, file is ${sha}`, false, { dir, sha });
    }
  }
  return { dir, modelPath, modelBytes, metadata, ...(trees ? { trees: await readTreeFiles(dir, metadata) } : {}) };
}
