/**
 * trees.json (pipeline/explain.py): the model's trees in a compact form of XGBoost's JSON model, parsed
 * and checked into a flattened TreeEnsemble. Every malformed tree is refused with the tree and field named.
 */
import { buildEnsemble, type RawTree, type TreeEnsemble } from './treeshap.ts';

export const TREES_FORMAT = 'xgboost-trees/v1';

/** A bundle's trees cannot be used: thrown in the model worker, turned into MODEL_INVALID by the host. */
export class TreesInvalidError extends Error {
  override readonly name = 'TreesInvalidError';
}

const FIELDS = ['left', 'right', 'feature', 'threshold', 'default_left', 'value', 'cover'] as const;

function fail(msg: string): never {
  throw new TreesInvalidError(`trees.json: ${msg}`);
}

/** Parses and checks trees.json for a model with `featureNames` (the schema's order). */
export function parseTrees(bytes: Uint8Array | string, featureNames: readonly string[]): TreeEnsemble {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    fail(`not JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') fail('not an object');
  const doc = raw as Record<string, unknown>;
  if (doc.format !== TREES_FORMAT) fail(`format is ${JSON.stringify(doc.format)}, expected "${TREES_FORMAT}"`);
  if (typeof doc.base_margin !== 'number' || !Number.isFinite(doc.base_margin)) fail('base_margin is not a finite number');
  const names = doc.feature_names;
  if (!Array.isArray(names) || names.length !== featureNames.length || names.some((n, i) => n !== featureNames[i])) {
    fail(`feature_names ${JSON.stringify(names)} differ from the model's [${featureNames.join(', ')}]`);
  }
  if (!Array.isArray(doc.trees) || doc.trees.length === 0) fail('trees is not a non-empty array');
  const trees = (doc.trees as unknown[]).map((t, ti) => checkTree(t, ti, featureNames.length));
  return buildEnsemble(trees, featureNames, doc.base_margin);
}

function checkTree(t: unknown, ti: number, numFeatures: number): RawTree {
  if (!t || typeof t !== 'object') fail(`tree ${ti} is not an object`);
  const tree = t as Record<string, unknown>;
  const n = Array.isArray(tree.left) ? tree.left.length : 0;
  if (n === 0) fail(`tree ${ti}: left is not a non-empty array`);
  for (const f of FIELDS) {
    const a = tree[f];
    if (!Array.isArray(a) || a.length !== n) fail(`tree ${ti}: ${f} is not an array of ${n} nodes`);
    if (a.some((v) => typeof v !== 'number' || !Number.isFinite(v))) fail(`tree ${ti}: ${f} holds a value that is not a finite number`);
  }
  const r = tree as unknown as RawTree;
  // Children come after their parent (XGBoost numbers nodes so), which also rules out cycles.
  for (let k = 0; k < n; k++) {
    const l = r.left[k]!;
    const rt = r.right[k]!;
    if (l === -1) {
      if (rt !== -1) fail(`tree ${ti} node ${k}: a leaf (left -1) with right child ${rt}`);
      continue;
    }
    for (const [side, c] of [['left', l], ['right', rt]] as const) {
      if (!Number.isInteger(c) || c <= k || c >= n) fail(`tree ${ti} node ${k}: ${side} child ${c} is not a later node of the tree`);
    }
    const f = r.feature[k]!;
    if (!Number.isInteger(f) || f < 0 || f >= numFeatures) fail(`tree ${ti} node ${k}: split feature ${f} is not one of the ${numFeatures} features`);
    if (!(r.cover[k]! > 0)) fail(`tree ${ti} node ${k}: a split with cover ${r.cover[k]} (TreeSHAP needs covers > 0)`);
  }
  return r;
}
