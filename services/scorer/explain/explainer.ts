/**
 * What the model worker thread runs for explanations: trees.json parsed into cell tables (cells.ts), the
 * margin of a batch (to check the trees against the ONNX model) and the contributions of a batch.
 * Loaded by services/scorer/model/session-worker.mjs; pure (no I/O).
 */
import { buildCellTables, CellShap } from './cells.ts';
import { parseTrees } from './trees.ts';
import { margin, sigmoid } from './treeshap.ts';
import type { TreeEnsemble } from './treeshap.ts';

export interface Explainer {
  readonly ensemble: TreeEnsemble;
  /** rows x (features + 1) contributions to the margin, the bias last (XGBoost's pred_contribs layout). */
  contributions(data: Float32Array, rows: number): Float64Array;
  /** P(default) of each row from the trees alone (sigmoid of the margin). */
  probabilities(data: Float32Array, rows: number): Float64Array;
}

export function createExplainer(treesBytes: Uint8Array, featureNames: readonly string[]): Explainer {
  const ensemble = parseTrees(treesBytes, featureNames);
  const shap = new CellShap(buildCellTables(ensemble));
  const n = featureNames.length;
  return {
    ensemble,
    contributions: (data, rows) => shap.explainBatch(data, rows),
    probabilities: (data, rows) => {
      const out = new Float64Array(rows);
      for (let i = 0; i < rows; i++) out[i] = sigmoid(margin(ensemble, data, i * n));
      return out;
    },
  };
}
