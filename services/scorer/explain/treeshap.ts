/**
 * Exact per-feature contributions to a tree ensemble's raw margin: path-dependent TreeSHAP (Lundberg,
 * Erion and Lee 2018, "Consistent Individualized Feature Attribution for Tree Ensembles", Algorithm 2),
 * the definition XGBoost's `predict(..., pred_contribs=True)` implements (src/tree/tree_model.cc,
 * RegTree::CalculateContributions / TreeShap, with condition = 0). For every row,
 * `bias + sum(contributions) = margin`, where bias is the base margin plus each tree's cover-weighted
 * mean leaf value, and P(default) = sigmoid(margin).
 *
 * Pure and allocation-free per row: the ensemble is flattened into typed arrays (one offset per tree)
 * and the algorithm's path stack is preallocated once per ensemble. This is the reference; the scorer
 * serves its results through cell tables (cells.ts), built at model load from the leaf terms (LeafTerms)
 * this file also computes.
 */

/** One ensemble's trees, flattened: node `k` of tree `t` is index `offset[t] + k`; children are tree-local. */
export interface TreeEnsemble {
  readonly numFeatures: number;
  readonly featureNames: readonly string[];
  /** The margin the trees add to (logit(base_score) for binary:logistic). */
  readonly baseMargin: number;
  /** baseMargin + the sum over trees of the cover-weighted mean leaf value: the contributions' reference. */
  readonly bias: number;
  readonly treeCount: number;
  readonly offset: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly feature: Int32Array;
  /** Go left when x < threshold (float32, compared as XGBoost compares). */
  readonly threshold: Float32Array;
  readonly defaultLeft: Uint8Array;
  /** Leaf value (float32 as XGBoost stores it). */
  readonly value: Float32Array;
  readonly cover: Float64Array;
  /** Cover-weighted mean of the leaf values below each node (XGBoost's FillNodeMeanValues). */
  readonly meanValue: Float64Array;
  readonly maxDepth: number;
}

/** What a trees.json tree holds (pipeline/explain.py), before flattening. */
export interface RawTree {
  readonly left: readonly number[];
  readonly right: readonly number[];
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly default_left: readonly number[];
  readonly value: readonly number[];
  readonly cover: readonly number[];
}

/** Flattens trees (already shape-checked, see trees.ts) and precomputes node means and depth. */
export function buildEnsemble(trees: readonly RawTree[], featureNames: readonly string[], baseMargin: number): TreeEnsemble {
  const total = trees.reduce((s, t) => s + t.left.length, 0);
  const offset = new Int32Array(trees.length);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const feature = new Int32Array(total);
  const threshold = new Float32Array(total);
  const defaultLeft = new Uint8Array(total);
  const value = new Float32Array(total);
  const cover = new Float64Array(total);
  const meanValue = new Float64Array(total);
  let at = 0;
  let maxDepth = 0;
  let bias = baseMargin;
  trees.forEach((t, ti) => {
    offset[ti] = at;
    for (let k = 0; k < t.left.length; k++) {
      left[at + k] = t.left[k]!;
      right[at + k] = t.right[k]!;
      feature[at + k] = t.feature[k]!;
      threshold[at + k] = t.threshold[k]!;
      defaultLeft[at + k] = t.default_left[k]!;
      value[at + k] = t.value[k]!;
      cover[at + k] = t.cover[k]!;
    }
    const base = at;
    const fill = (k: number, depth: number): number => {
      maxDepth = Math.max(maxDepth, depth);
      const l = left[base + k]!;
      if (l < 0) return (meanValue[base + k] = value[base + k]!);
      const r = right[base + k]!;
      const ml = fill(l, depth + 1);
      const mr = fill(r, depth + 1);
      return (meanValue[base + k] = (ml * cover[base + l]! + mr * cover[base + r]!) / cover[base + k]!);
    };
    bias += fill(0, 0);
    at += t.left.length;
  });
  return { numFeatures: featureNames.length, featureNames: [...featureNames], baseMargin, bias, treeCount: trees.length, offset, left, right, feature, threshold, defaultLeft, value, cover, meanValue, maxDepth };
}

/** The raw margin of one row (base margin + the leaf each tree sends it to). */
export function margin(e: TreeEnsemble, row: ArrayLike<number>, rowOffset = 0): number {
  let m = e.baseMargin;
  for (let t = 0; t < e.treeCount; t++) {
    const base = e.offset[t]!;
    let k = 0;
    while (e.left[base + k]! >= 0) {
      const x = row[rowOffset + e.feature[base + k]!]!;
      k = Number.isNaN(x) ? (e.defaultLeft[base + k] ? e.left[base + k]! : e.right[base + k]!) : x < e.threshold[base + k]! ? e.left[base + k]! : e.right[base + k]!;
    }
    m += e.value[base + k]!;
  }
  return m;
}

/** The path stack of Algorithm 2 (feature index, zero fraction, one fraction, permutation weight). */
class Path {
  readonly f: Int32Array;
  readonly z: Float64Array;
  readonly o: Float64Array;
  readonly w: Float64Array;
  constructor(maxDepth: number) {
    const d = maxDepth + 2;
    const n = (d * (d + 1)) / 2;
    this.f = new Int32Array(n);
    this.z = new Float64Array(n);
    this.o = new Float64Array(n);
    this.w = new Float64Array(n);
  }
}

/** Algorithm 2's EXTEND of the path at `at` (of `depth` + 1 elements once extended). */
function extend(p: Path, at: number, depth: number, zero: number, one: number, feature: number): void {
  const { f, z, o, w } = p;
  f[at + depth] = feature;
  z[at + depth] = zero;
  o[at + depth] = one;
  w[at + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    w[at + i + 1] = w[at + i + 1]! + (one * w[at + i]! * (i + 1)) / (depth + 1);
    w[at + i] = (zero * w[at + i]! * (depth - i)) / (depth + 1);
  }
}

/** Algorithm 2's UNWIND of element `index` from the path at `at`. */
function unwind(p: Path, at: number, depth: number, index: number): void {
  const { f, z, o, w } = p;
  const one = o[at + index]!;
  const zero = z[at + index]!;
  let next = w[at + depth]!;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = w[at + i]!;
      w[at + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (w[at + i]! * zero * (depth - i)) / (depth + 1);
    } else {
      w[at + i] = (w[at + i]! * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    f[at + i] = f[at + i + 1]!;
    z[at + i] = z[at + i + 1]!;
    o[at + i] = o[at + i + 1]!;
  }
}

/** The total permutation weight of the path at `at` with element `index` unwound (without unwinding it). */
function unwoundSum(p: Path, at: number, depth: number, index: number): number {
  const { z, o, w } = p;
  const one = o[at + index]!;
  const zero = z[at + index]!;
  let next = w[at + depth]!;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = w[at + i]! - tmp * zero * ((depth - i) / (depth + 1));
    } else {
      total += w[at + i]! / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

/** Computes contributions for many rows; holds the path stack. */
export class TreeShap {
  private readonly path: Path;
  private phi!: Float64Array;
  private phiOffset = 0;
  private row!: ArrayLike<number>;
  private rowOffset = 0;
  private base = 0;

  constructor(readonly ensemble: TreeEnsemble) {
    this.path = new Path(ensemble.maxDepth);
  }

  /**
   * Adds row `r`'s contributions into `out[outOffset .. outOffset + numFeatures]` and the bias into
   * `out[outOffset + numFeatures]` (XGBoost's pred_contribs layout). `out` must be zeroed there.
   */
  explain(row: ArrayLike<number>, rowOffset: number, out: Float64Array, outOffset: number): void {
    const e = this.ensemble;
    out[outOffset + e.numFeatures] = out[outOffset + e.numFeatures]! + e.bias;
    for (let t = 0; t < e.treeCount; t++) this.explainTree(t, row, rowOffset, out, outOffset);
  }

  /** Adds tree `t`'s contributions for the row into `out[outOffset ..]` (no bias). */
  explainTree(t: number, row: ArrayLike<number>, rowOffset: number, out: Float64Array, outOffset: number): void {
    this.row = row;
    this.rowOffset = rowOffset;
    this.phi = out;
    this.phiOffset = outOffset;
    this.base = this.ensemble.offset[t]!;
    this.recurse(0, 0, 0, 1, 1, -1);
  }

  /** rows x (numFeatures + 1) contributions of `rows` rows of numFeatures values each (bias last). */
  explainBatch(data: ArrayLike<number>, rows: number): Float64Array {
    const n = this.ensemble.numFeatures;
    const out = new Float64Array(rows * (n + 1));
    for (let i = 0; i < rows; i++) this.explain(data, i * n, out, i * (n + 1));
    return out;
  }

  /** Algorithm 2's RECURSE for `node` (tree-local), the parent's path starting at `parentAt`. */
  private recurse(node: number, depth: number, parentAt: number, zero: number, one: number, feature: number): void {
    const e = this.ensemble;
    const p = this.path;
    const { f, z, o, w } = p;
    const at = parentAt + depth + 1;
    for (let i = 0; i <= depth; i++) {
      f[at + i] = f[parentAt + i]!;
      z[at + i] = z[parentAt + i]!;
      o[at + i] = o[parentAt + i]!;
      w[at + i] = w[parentAt + i]!;
    }
    extend(p, at, depth, zero, one, feature);
    const k = this.base + node;
    const l = e.left[k]!;
    if (l < 0) {
      const v = e.value[k]!;
      const phi = this.phi;
      for (let i = 1; i <= depth; i++) {
        const s = unwoundSum(p, at, depth, i);
        const j = this.phiOffset + f[at + i]!;
        phi[j] = phi[j]! + s * (o[at + i]! - z[at + i]!) * v;
      }
      return;
    }
    const r = e.right[k]!;
    const split = e.feature[k]!;
    const x = this.row[this.rowOffset + split]!;
    const hot = Number.isNaN(x) ? (e.defaultLeft[k] ? l : r) : x < e.threshold[k]! ? l : r;
    const cold = hot === l ? r : l;
    const cover = e.cover[k]!;
    const hotZero = e.cover[this.base + hot]! / cover;
    const coldZero = e.cover[this.base + cold]! / cover;
    let inZero = 1;
    let inOne = 1;
    let index = 0;
    for (; index <= depth; index++) if (f[at + index] === split) break;
    if (index !== depth + 1) {
      inZero = z[at + index]!;
      inOne = o[at + index]!;
      unwind(p, at, depth, index);
      depth -= 1;
    }
    this.recurse(hot, depth + 1, at, hotZero * inZero, inOne, split);
    this.recurse(cold, depth + 1, at, coldZero * inZero, 0, split);
  }
}

/**
 * One leaf's share of Algorithm 2. RECURSE adds into the contributions at each leaf only, and what it adds
 * at a leaf depends on the row only through which of the branches on the way to the leaf the row takes
 * ("hot") and which it does not ("cold"): Algorithm 2's result for a row is the sum, over the tree's
 * leaves, of these leaf terms. `terms` follows RECURSE down one root-to-leaf path with the same arithmetic
 * (EXTEND, UNWIND, the unwound sums), so each term is what Algorithm 2 adds at that leaf, to the bit; only
 * the order in which a caller sums the leaves can differ (Algorithm 2 visits hot children first).
 */
export class LeafTerms {
  private readonly path: Path;

  constructor(readonly ensemble: TreeEnsemble) {
    this.path = new Path(ensemble.maxDepth);
  }

  /**
   * The terms of the leaf at the end of `nodes[0 .. count]` (tree-local nodes of tree `t`, root first, each
   * a child of the one before, the leaf last) when the row takes the path's branch at `nodes[j]` iff bit j
   * of `hot` is set. Writes the features into `features` and the amounts into `amounts` (one per distinct
   * feature split on along the path) and returns how many.
   */
  terms(t: number, nodes: ArrayLike<number>, count: number, hot: number, features: Int32Array, amounts: Float64Array): number {
    const e = this.ensemble;
    const p = this.path;
    const { f, z, o } = p;
    const base = e.offset[t]!;
    let depth = 0;
    extend(p, 0, 0, 1, 1, -1);
    for (let j = 0; j + 1 < count; j++) {
      const k = base + nodes[j]!;
      const split = e.feature[k]!;
      const zero = e.cover[base + nodes[j + 1]!]! / e.cover[k]!;
      let inZero = 1;
      let inOne = 1;
      let index = 0;
      for (; index <= depth; index++) if (f[index] === split) break;
      if (index !== depth + 1) {
        inZero = z[index]!;
        inOne = o[index]!;
        unwind(p, 0, depth, index);
        depth -= 1;
      }
      extend(p, 0, depth + 1, zero * inZero, (hot >> j) & 1 ? inOne : 0, split);
      depth += 1;
    }
    const v = e.value[base + nodes[count - 1]!]!;
    for (let i = 1; i <= depth; i++) {
      features[i - 1] = f[i]!;
      amounts[i - 1] = unwoundSum(p, 0, depth, i) * (o[i]! - z[i]!) * v;
    }
    return depth;
  }
}

/** The logistic link: P(default) from the margin. */
export function sigmoid(m: number): number {
  return 1 / (1 + Math.exp(-m));
}
