/** onnxruntime-node (in the scorer's worker thread) against XGBoost's own predictions, written by the pipeline. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';

interface Golden {
  feature_names: string[];
  rows: number[][];
  probabilities: number[];
}

describe('ONNX model in onnxruntime-node', () => {
  const dir = initialModelDir();
  const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  let host: ModelHost;
  beforeAll(async () => {
    host = await ModelHost.load(dir);
  });
  afterAll(async () => host.close());

  it('takes its feature order from metadata, equal to the Avro schema', () => {
    expect(host.metadata.feature_names).toEqual([...FEATURE_NAMES]);
    expect(golden.feature_names).toEqual([...FEATURE_NAMES]);
  });

  it('matches XGBoost predict_proba within 1e-6 on the holdout rows, in one batched run', async () => {
    expect(golden.rows.length).toBeGreaterThanOrEqual(100);
    const data = new Float32Array(golden.rows.flat());
    const { probabilities } = await host.score(data, golden.rows.length);
    expect(probabilities.length).toBe(golden.rows.length);
    let maxDiff = 0;
    probabilities.forEach((p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - golden.probabilities[i]!))));
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('scores the same row identically alone and inside a batch', async () => {
    const row = golden.rows[7]!;
    const alone = await host.score(new Float32Array(row), 1);
    const batch = await host.score(new Float32Array(golden.rows.slice(0, 20).flat()), 20);
    expect(alone.probabilities[0]).toBe(batch.probabilities[7]);
  });

  it('refuses a batch whose length does not match the row count', async () => {
    await expect(host.score(new Float32Array(5), 1)).rejects.toThrow(/5 values for 1 rows/);
  });
});
