/** Model artifacts for hot-swap tests: a genuinely different model (other seed) and broken ones. */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { initialModelDir } from './model.ts';
import { run } from '../../support/processes.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function patchMetadata(dir: string, patch: (m: Record<string, unknown>) => void): void {
  const p = join(dir, 'metadata.json');
  const m = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  patch(m);
  writeFileSync(p, JSON.stringify(m));
}

/** Trains another model with the pipeline (different seed and rows) and labels it `version`. */
export async function trainModel(version: string, seed: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `model-v${version}-`));
  const r = await run(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-m', 'pipeline.train_initial', '--out', dir, '--rows', '20000', '--seed', String(seed)]);
  if (r.status !== 0) throw new Error(`training failed: ${r.stderr || r.stdout}`);
  patchMetadata(dir, (m) => (m.version = version));
  return dir;
}

export function modelSha(dir: string): string {
  return sha256(readFileSync(join(dir, 'model.onnx')));
}

/** A copy of the initial model whose model.onnx is random bytes (metadata checksum updated to match). */
export function corruptModel(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), `model-corrupt-`));
  cpSync(initialModelDir(), dir, { recursive: true });
  const junk = randomBytes(4096);
  writeFileSync(join(dir, 'model.onnx'), junk);
  patchMetadata(dir, (m) => {
    m.version = version;
    m.model_sha256 = sha256(junk);
  });
  return dir;
}

/** A copy of the initial model relabelled `version`: a valid artifact to announce without training one. */
export function relabelledModel(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), `model-v${version}-copy-`));
  cpSync(initialModelDir(), dir, { recursive: true });
  patchMetadata(dir, (m) => (m.version = version));
  return dir;
}

/** A copy of the initial model whose metadata claims another feature order. */
export function wrongInputsModel(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), `model-wrong-inputs-`));
  cpSync(initialModelDir(), dir, { recursive: true });
  patchMetadata(dir, (m) => {
    m.version = version;
    m.feature_names = [...(m.feature_names as string[])].reverse();
  });
  return dir;
}
