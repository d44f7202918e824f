/**
 * The scorer's contributions (computed in the model worker beside the ONNX session) against XGBoost's
 * pred_contribs, written into golden.json by the pipeline at export: within 1e-5 for the initial model
 * and for a retrained one, and bias + contributions = logit of the served probability within 1e-5.
 * A bundle whose trees do not reproduce its ONNX model is refused.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { ServiceError } from '../../services/shared/errors.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';
import { trainModel } from '../helpers/models.ts';

interface Golden {
  rows: number[][];
  probabilities: number[];
  contributions: number[][];
}
const F = FEATURE_NAMES.length;

/**
 * An explained row is served sigmoid(bias + contributions) (checked against ONNX in the worker), so the
 * logit check is tight; the ONNX model's own float32 probability is compared in probability space (1e-6).
 */

async function parity(dir: string): Promise<{ contributions: number; logit: number; rows: number; probability: number }> {
  const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  const host = await ModelHost.load(dir);
  try {
    const r = await host.score(new Float32Array(golden.rows.flat()), golden.rows.length);
    expect(r.contributions).toBeDefined();
    const plain = await ModelHost.load(dir, { explain: false });
    const onnx = await plain.score(new Float32Array(golden.rows.flat()), golden.rows.length).finally(() => plain.close());
    let contributions = 0;
    let logit = 0;
    let probability = 0;
    golden.rows.forEach((_, i) => {
      let sum = 0;
      for (let j = 0; j <= F; j++) {
        const c = r.contributions![i * (F + 1) + j]!;
        contributions = Math.max(contributions, Math.abs(c - golden.contributions[i]![j]!));
        sum += c;
      }
      const p = r.probabilities[i]!;
      logit = Math.max(logit, Math.abs(sum - Math.log(p / (1 - p))));
      probability = Math.max(probability, Math.abs(p - onnx.probabilities[i]!));
    });
    return { contributions, logit, rows: golden.rows.length, probability };
  } finally {
    await host.close();
  }
}

describe('contributions parity with XGBoost pred_contribs', () => {
  let retrained: string;
  beforeAll(async () => {
    retrained = await trainModel('2', 4242);
  });

  it('initial model: within 1e-5 of pred_contribs; bias + contributions = logit(served p) within 1e-5', async () => {
    const r = await parity(initialModelDir());
    console.log(`explain parity, initial model: max |contribution - pred_contribs| ${r.contributions.toExponential(2)}, max |bias + sum - logit(p)| ${r.logit.toExponential(2)}, max |served p - ONNX p| ${r.probability.toExponential(2)} over ${r.rows} golden rows`);
    expect(r.rows).toBeGreaterThanOrEqual(100);
    expect(r.probability).toBeLessThan(1e-6);
    expect(r.contributions).toBeLessThan(1e-5);
    expect(r.logit).toBeLessThan(1e-5);
  });

  it('a retrained model (other seed and rows): the same', async () => {
    const r = await parity(retrained);
    console.log(`explain parity, retrained model: max |contribution - pred_contribs| ${r.contributions.toExponential(2)}, max |bias + sum - logit(p)| ${r.logit.toExponential(2)}, max |served p - ONNX p| ${r.probability.toExponential(2)} over ${r.rows} golden rows`);
    expect(r.probability).toBeLessThan(1e-6);
    expect(r.contributions).toBeLessThan(1e-5);
    expect(r.logit).toBeLessThan(1e-5);
  });

  describe('refusals', () => {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const copy = () => {
      const dir = mkdtempSync(join(tmpdir(), 'model-trees-'));
      cpSync(initialModelDir(), dir, { recursive: true });
      return dir;
    };
    const patchMeta = (dir: string, patch: (m: Record<string, unknown>) => void) => {
      const m = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
      patch(m);
      writeFileSync(join(dir, 'metadata.json'), JSON.stringify(m));
    };
    afterAll(() => undefined);

    it('trees of another model (checksum updated) do not reproduce model.onnx: MODEL_TREES_MISMATCH', async () => {
      const dir = copy();
      const trees = readFileSync(join(retrained, 'trees.json'));
      writeFileSync(join(dir, 'trees.json'), trees);
      patchMeta(dir, (m) => (m.trees_sha256 = sha(trees)));
      const e = await ModelHost.load(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ServiceError);
      expect((e as ServiceError).code).toBe('MODEL_TREES_MISMATCH');
      expect((e as ServiceError).message).toMatch(/does not reproduce model\.onnx/);
    });

    it('one leaf changed by 1e-3 is caught; a trees.json that is not the one hashed, or none, is refused', async () => {
      const dir = copy();
      const doc = JSON.parse(readFileSync(join(dir, 'trees.json'), 'utf8')) as { trees: { left: number[]; value: number[] }[] };
      // The leaf golden row 0 lands in, in tree 0, is what matters; nudge every leaf of tree 0.
      doc.trees[0]!.value = doc.trees[0]!.value.map((v, k) => (doc.trees[0]!.left[k] === -1 ? v + 1e-3 : v));
      const bytes = Buffer.from(JSON.stringify(doc));
      writeFileSync(join(dir, 'trees.json'), bytes);
      const unhashed = await ModelHost.load(dir).catch((x: unknown) => x);
      expect((unhashed as ServiceError).code).toBe('MODEL_INVALID');
      expect((unhashed as Error).message).toMatch(/checksum mismatch for .*trees\.json/);
      patchMeta(dir, (m) => (m.trees_sha256 = sha(bytes)));
      expect(((await ModelHost.load(dir).catch((x: unknown) => x)) as ServiceError).code).toBe('MODEL_TREES_MISMATCH');
      patchMeta(dir, (m) => delete m.trees_sha256);
      expect(((await ModelHost.load(dir).catch((x: unknown) => x)) as Error).message).toMatch(/has no trees/);
      // Without explanations (EXPLAIN_DECISIONS=false) the same bundle still serves probabilities.
      const plain = await ModelHost.load(dir, { explain: false });
      expect(plain.explains).toBe(false);
      expect((await plain.score(new Float32Array(F).fill(1), 1)).contributions).toBeUndefined();
      await plain.close();
    });
  });
});
