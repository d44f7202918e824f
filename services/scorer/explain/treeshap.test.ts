/**
 * TreeSHAP against XGBoost: the golden rows' pred_contribs (written by pipeline/explain.py at export) must
 * come out of Algorithm 2 (treeshap.ts) and of the cell tables the scorer serves (cells.ts) within 1e-5,
 * the two must agree with each other to rounding, and bias + contributions must be the margin.
 * The same check on a second (retrained) model version, through the model worker, is test/model/explain-parity.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../shared/schemas.ts';
import { buildCellTables, CellShap } from './cells.ts';
import { parseTrees, TreesInvalidError } from './trees.ts';
import { buildEnsemble, margin, sigmoid, TreeShap } from './treeshap.ts';

const dir = process.env.TEST_MODEL_DIR ?? join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as { feature_names: string[]; rows: number[][]; probabilities: number[]; contributions: number[][]; margins: number[] };
const treesBytes = readFileSync(join(dir, 'trees.json'));
const ensemble = parseTrees(treesBytes, golden.feature_names);
const F = golden.feature_names.length;
const data = new Float32Array(golden.rows.flat());
const rows = golden.rows.length;

function maxDiff(a: ArrayLike<number>, b: readonly number[][]): number {
  let m = 0;
  b.forEach((r, i) => r.forEach((v, j) => (m = Math.max(m, Math.abs(a[i * (F + 1) + j]! - v)))));
  return m;
}

describe('TreeSHAP (path-dependent, Algorithm 2)', () => {
  const alg2 = new TreeShap(ensemble).explainBatch(data, rows);
  const served = new CellShap(buildCellTables(ensemble));
  const cells = served.explainBatch(data, rows);

  it('equals XGBoost pred_contribs on the golden rows within 1e-5 (bias included)', () => {
    expect(golden.contributions).toHaveLength(rows);
    expect(maxDiff(alg2, golden.contributions)).toBeLessThan(1e-5);
    expect(maxDiff(cells, golden.contributions)).toBeLessThan(1e-5);
  });

  it('the served cell tables reproduce Algorithm 2 to rounding, on golden and on random rows', () => {
    for (let i = 0; i < alg2.length; i++) expect(Math.abs(cells[i]! - alg2[i]!)).toBeLessThan(1e-12);
    const n = 300;
    const random = new Float32Array(n * F);
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) random[i * F + j] = golden.rows[Math.floor(rnd() * rows)]![j]! * (0.5 + rnd());
    const a = new TreeShap(ensemble).explainBatch(random, n);
    const c = served.explainBatch(random, n);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - c[i]!));
    expect(worst).toBeLessThan(1e-12);
  });

  it('bias + contributions = margin, and sigmoid(margin) = the golden probability (logit within 1e-5)', () => {
    for (let i = 0; i < rows; i++) {
      let sum = 0;
      for (let j = 0; j <= F; j++) sum += cells[i * (F + 1) + j]!;
      const m = margin(ensemble, data, i * F);
      expect(Math.abs(sum - m)).toBeLessThan(1e-9);
      expect(Math.abs(m - golden.margins[i]!)).toBeLessThan(1e-5);
      const p = golden.probabilities[i]!;
      expect(Math.abs(sum - Math.log(p / (1 - p)))).toBeLessThan(1e-5);
      expect(Math.abs(sigmoid(m) - p)).toBeLessThan(1e-6);
    }
    expect(cells[F]).toBeCloseTo(ensemble.bias, 12);
  });

  it('a hand-checked stump: the split feature gets v(x) - E[v], the rest nothing; missing follows the default', () => {
    // One split on feature 1 at 0.5, covers 30 left / 10 right, leaves -1 / +3: E = (-30 + 30) / 40 = 0.
    const e = buildEnsemble([{ left: [1, -1, -1], right: [2, -1, -1], feature: [1, 0, 0], threshold: [0.5, 0, 0], default_left: [0, 0, 0], value: [0, -1, 3], cover: [40, 30, 10] }], ['a', 'b'], 0.25);
    const out = new TreeShap(e).explainBatch(Float32Array.from([9, 0.1, 9, 0.9, 9, NaN]), 3);
    expect([...out]).toEqual([0, -1, 0.25, 0, 3, 0.25, 0, 3, 0.25]);
    const c = new CellShap(buildCellTables(e)).explainBatch(Float32Array.from([9, 0.1, 9, 0.9, 9, NaN]), 3);
    expect([...c]).toEqual([...out]);
  });

  it('refuses trees that do not fit the model, naming what is wrong', () => {
    const doc = JSON.parse(treesBytes.toString('utf8')) as { trees: { left: number[]; feature: number[] }[]; feature_names: string[] };
    expect(() => parseTrees(treesBytes, [...golden.feature_names].reverse())).toThrow(/feature_names/);
    const badChild = structuredClone(doc);
    badChild.trees[3]!.left[0] = 0;
    expect(() => parseTrees(JSON.stringify(badChild), golden.feature_names)).toThrow(/tree 3 node 0: left child 0/);
    const badFeature = structuredClone(doc);
    badFeature.trees[5]!.feature[0] = 99;
    expect(() => parseTrees(JSON.stringify(badFeature), golden.feature_names)).toThrow(TreesInvalidError);
    expect(() => parseTrees('{"format":"other"}', golden.feature_names)).toThrow(/format/);
  });
});
