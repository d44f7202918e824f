/**
 * Algorithm 2's results (treeshap.ts), served at the cost the scorer's throughput allows.
 *
 * Algorithm 2 depends on a row only through the outcome of each split (x < threshold or not). A tree's
 * thresholds on feature f cut the line into intervals, and all rows whose features fall into the same
 * interval of every feature the tree splits on - one "cell" - take the same branch at every node, so
 * Algorithm 2 gives them the same contributions, to the bit. At model load this module runs Algorithm 2
 * once per cell of every tree (on a representative row of the cell) and stores the contributions of
 * the features the tree uses. Scoring a row is then one binary search per feature (over the sorted
 * union of all trees' thresholds), and per tree a few index additions and one table row added in:
 * no recursion, no path stack. A tree with more than MAX_CELLS cells (deep trees on many features)
 * keeps Algorithm 2 per row; so does a row with a missing (NaN) value.
 */
import { TreeShap, type TreeEnsemble } from './treeshap.ts';

/** Cells per tree above which the tree is explained per row by Algorithm 2 instead. */
export const MAX_CELLS = 8192;

export interface CellTables {
  readonly ensemble: TreeEnsemble;
  /** Per feature: the sorted distinct thresholds of all trees (float32), and where they start in `cuts`. */
  readonly cuts: Float32Array;
  readonly cutStart: Int32Array;
  readonly cutCount: Int32Array;
  /** Trees with tables, and per such tree its first used-feature pair, pair count and first table entry. */
  readonly tabled: Int32Array;
  readonly pairStart: Int32Array;
  readonly pairCount: Int32Array;
  readonly tableStart: Int32Array;
  /** Per (tree, used feature) pair: the feature, and where its global-interval -> cell-offset map starts. */
  readonly pairFeature: Int32Array;
  readonly pairMap: Int32Array;
  /** cell offset (already multiplied by the tree's stride and pair count) per global interval. */
  readonly maps: Int32Array;
  /** Per tabled tree, cells x pairs contributions. */
  readonly table: Float64Array;
  /** Trees explained per row by Algorithm 2. */
  readonly untabled: Int32Array;
}

/** Number of values in sorted `a[from .. from + n)` that are <= x (x < a[i] is "go left" at threshold a[i]). */
function countLe(a: Float32Array, from: number, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[from + mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Builds the cell tables of `e` (once per model load, in the model worker). */
export function buildCellTables(e: TreeEnsemble): CellTables {
  const nf = e.numFeatures;
  const perFeature: Set<number>[] = Array.from({ length: nf }, () => new Set());
  const perTree: Map<number, number[]>[] = [];
  for (let t = 0; t < e.treeCount; t++) {
    const base = e.offset[t]!;
    const end = t + 1 < e.treeCount ? e.offset[t + 1]! : e.left.length;
    const m = new Map<number, Set<number>>();
    for (let g = base; g < end; g++) {
      if (e.left[g]! < 0) continue;
      const f = e.feature[g]!;
      perFeature[f]!.add(e.threshold[g]!);
      if (!m.has(f)) m.set(f, new Set());
      m.get(f)!.add(e.threshold[g]!);
    }
    perTree.push(new Map([...m.entries()].sort((a, b) => a[0] - b[0]).map(([f, s]) => [f, [...s].sort((a, b) => a - b)])));
  }
  const cutStart = new Int32Array(nf);
  const cutCount = new Int32Array(nf);
  const cutList: number[] = [];
  perFeature.forEach((s, f) => {
    cutStart[f] = cutList.length;
    const sorted = [...s].sort((a, b) => a - b);
    cutCount[f] = sorted.length;
    cutList.push(...sorted);
  });
  const cuts = Float32Array.from(cutList);

  const shap = new TreeShap(e);
  const tabled: number[] = [];
  const untabled: number[] = [];
  const pairStart: number[] = [];
  const pairCount: number[] = [];
  const tableStart: number[] = [];
  const pairFeature: number[] = [];
  const pairMap: number[] = [];
  const maps: number[] = [];
  const tableParts: Float64Array[] = [];
  let tableLength = 0;
  const row = new Float32Array(nf);
  const out = new Float64Array(nf + 1);
  for (let t = 0; t < e.treeCount; t++) {
    const used = perTree[t]!;
    const feats = [...used.keys()];
    const radix = feats.map((f) => used.get(f)!.length + 1);
    const cells = radix.reduce((a, b) => a * b, 1);
    if (cells > MAX_CELLS) {
      untabled.push(t);
      continue;
    }
    const k = feats.length;
    tabled.push(t);
    pairStart.push(pairFeature.length);
    pairCount.push(k);
    tableStart.push(tableLength);
    // Mixed radix, first used feature fastest; each map entry is the cell's offset in the tree's table.
    let stride = 1;
    feats.forEach((f, j) => {
      pairFeature.push(f);
      pairMap.push(maps.length);
      const local = used.get(f)!;
      const globalStart = cutStart[f]!;
      for (let gi = 0; gi <= cutCount[f]!; gi++) {
        // Global interval gi holds x with cuts[gi - 1] <= x < cuts[gi]; its local interval is the number
        // of the tree's thresholds <= cuts[gi - 1] (none for gi = 0).
        const li = gi === 0 ? 0 : countLe(Float32Array.from(local), 0, local.length, cuts[globalStart + gi - 1]!);
        maps.push(li * stride * k);
      }
      stride *= radix[j]!;
    });
    const part = new Float64Array(cells * k);
    const digit = new Array<number>(k).fill(0);
    for (let c = 0; c < cells; c++) {
      // A representative row of the cell: -Infinity in the first interval, else the interval's lower threshold.
      row.fill(0);
      feats.forEach((f, j) => (row[f] = digit[j] === 0 ? -Infinity : used.get(f)![digit[j]! - 1]!));
      out.fill(0);
      shap.explainTree(t, row, 0, out, 0);
      for (let j = 0; j < k; j++) part[c * k + j] = out[feats[j]!]!;
      for (let j = 0; j < k; j++) {
        if (++digit[j]! < radix[j]!) break;
        digit[j] = 0;
      }
    }
    tableParts.push(part);
    tableLength += part.length;
  }
  const table = new Float64Array(tableLength);
  let at = 0;
  for (const p of tableParts) {
    table.set(p, at);
    at += p.length;
  }
  return {
    ensemble: e,
    cuts,
    cutStart,
    cutCount,
    tabled: Int32Array.from(tabled),
    pairStart: Int32Array.from(pairStart),
    pairCount: Int32Array.from(pairCount),
    tableStart: Int32Array.from(tableStart),
    pairFeature: Int32Array.from(pairFeature),
    pairMap: Int32Array.from(pairMap),
    maps: Int32Array.from(maps),
    table,
    untabled: Int32Array.from(untabled),
  };
}

/** Serves contributions from cell tables; one instance per thread (scratch buffers). */
export class CellShap {
  private readonly interval: Int32Array;
  private readonly shap: TreeShap;

  constructor(readonly tables: CellTables) {
    this.interval = new Int32Array(tables.ensemble.numFeatures);
    this.shap = new TreeShap(tables.ensemble);
  }

  /** Writes the row's contributions and the bias (last) into `out[outOffset ..]` (pred_contribs layout). */
  explain(row: ArrayLike<number>, rowOffset: number, out: Float64Array, outOffset: number): void {
    const tb = this.tables;
    const e = tb.ensemble;
    const nf = e.numFeatures;
    for (let j = 0; j < nf; j++) out[outOffset + j] = 0;
    out[outOffset + nf] = e.bias;
    let missing = false;
    for (let f = 0; f < nf; f++) {
      const x = row[rowOffset + f]!;
      if (Number.isNaN(x)) missing = true;
      this.interval[f] = countLe(tb.cuts, tb.cutStart[f]!, tb.cutCount[f]!, x);
    }
    if (missing) {
      // A missing value follows each node's default direction, which cells do not encode.
      for (let t = 0; t < e.treeCount; t++) this.shap.explainTree(t, row, rowOffset, out, outOffset);
      return;
    }
    const { tabled, pairStart, pairCount, tableStart, pairFeature, pairMap, maps, table } = tb;
    const iv = this.interval;
    for (let i = 0; i < tabled.length; i++) {
      const p0 = pairStart[i]!;
      const k = pairCount[i]!;
      let cell = tableStart[i]!;
      for (let j = 0; j < k; j++) cell += maps[pairMap[p0 + j]! + iv[pairFeature[p0 + j]!]!]!;
      for (let j = 0; j < k; j++) {
        const o = outOffset + pairFeature[p0 + j]!;
        out[o] = out[o]! + table[cell + j]!;
      }
    }
    for (let i = 0; i < tb.untabled.length; i++) this.shap.explainTree(tb.untabled[i]!, row, rowOffset, out, outOffset);
  }

  /** rows x (numFeatures + 1) contributions (bias last) of `rows` rows of numFeatures values each. */
  explainBatch(data: ArrayLike<number>, rows: number): Float64Array {
    const n = this.tables.ensemble.numFeatures;
    const out = new Float64Array(rows * (n + 1));
    for (let i = 0; i < rows; i++) this.explain(data, i * n, out, i * (n + 1));
    return out;
  }
}
