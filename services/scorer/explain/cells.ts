/**
 * Algorithm 2's results (treeshap.ts), served at the cost the scorer's throughput allows.
 *
 * Algorithm 2 depends on a row only through the outcome of each split (x < threshold or not). A tree's
 * thresholds on feature f cut the line into intervals, and all rows whose features fall into the same
 * interval of every feature the tree splits on - one "cell" - take the same branch at every node, so
 * Algorithm 2 gives them the same contributions, to the bit. At model load this module stores each
 * tree's contributions for every one of its cells, for the features the tree uses. It does not run
 * Algorithm 2 per cell: Algorithm 2's result is a sum of leaf terms (LeafTerms in treeshap.ts), each
 * depending on the cell only through the branches taken on the way to its leaf, so each (leaf, branches)
 * term is computed once, and a cell's contributions are the sum of its leaves' terms (summed per set of
 * features first, see treeTable) - Algorithm 2's terms, summed in another order (equal to ~1e-15).
 * Scoring a row is then one binary search per feature (over the sorted union of all trees' thresholds),
 * and per tree a few index additions and one table row added in: no recursion, no path stack. A tree
 * with more than MAX_CELLS cells (deep trees on many features), or too many ways to reach its leaves,
 * keeps Algorithm 2 per row; so does a row with a missing (NaN) value.
 */
import { LeafTerms, TreeShap, type TreeEnsemble } from './treeshap.ts';

/** Cells per tree above which the tree is explained per row by Algorithm 2 instead. */
export const MAX_CELLS = 8192;
/** (leaf, branches taken) combinations per tree above which the tree is explained per row by Algorithm 2. */
const MAX_LEAF_PATTERNS = 1 << 16;

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

/** One tree's features and thresholds; `ranks[j]` are global cut indices (ascending) of feature feats[j]. */
interface TreeCuts {
  readonly feats: number[];
  readonly ranks: number[][];
  readonly cells: number;
}

/** Tree t's root-to-leaf paths (tree-local nodes, the leaf last), or undefined when they have too many hot-branch patterns. */
function leafPaths(e: TreeEnsemble, t: number): number[][] | undefined {
  const base = e.offset[t]!;
  const paths: number[][] = [];
  const stack: number[] = [];
  const walk = (v: number): void => {
    stack.push(v);
    if (e.left[base + v]! < 0) paths.push([...stack]);
    else {
      walk(e.left[base + v]!);
      walk(e.right[base + v]!);
    }
    stack.pop();
  };
  walk(0);
  let patterns = 0;
  for (const p of paths) {
    if (p.length > 31) return undefined;
    patterns += 2 ** (p.length - 1);
    if (patterns > MAX_LEAF_PATTERNS) return undefined;
  }
  return paths;
}

/**
 * Adds tree t's contributions for each of its cells into `out`: cell c's contribution of feature feats[j]
 * goes to out[start + c * stride + entry[j]], cells numbered mixed radix with the first feature fastest
 * (digit j: the cell's interval of feats[j]). `out` must be zero there.
 */
function treeTable(e: TreeEnsemble, t: number, tc: TreeCuts, paths: readonly number[][], cuts: Float32Array, cutStart: Int32Array, leafTerms: LeafTerms, out: Float64Array, start: number, stride: number, entry: Int32Array): void {
  const base = e.offset[t]!;
  const k = tc.feats.length;
  const slotOf = new Map(tc.feats.map((f, j) => [f, j]));
  const radix = tc.ranks.map((r) => r.length + 1);
  // Per leaf: the slots (indices into feats) its path splits on, and per such slot the hot-branch bits
  // (bit j: the cell takes the path's branch at its j-th node) for each interval d of that feature; d lies
  // below the threshold of rank r (goes left) iff d <= r. A cell's pattern is the OR of one lookup per slot.
  const leafSlots: number[][] = [];
  const leafLuts: Int32Array[][] = [];
  for (const p of paths) {
    const luts = new Map<number, Int32Array>();
    for (let j = 0; j + 1 < p.length; j++) {
      const v = base + p[j]!;
      const f = e.feature[v]!;
      const q = slotOf.get(f)!;
      const r = tc.ranks[q]!;
      let rank = 0;
      while (cuts[cutStart[f]! + r[rank]!] !== e.threshold[v]) rank++;
      const towardLeft = e.left[v] === p[j + 1];
      if (!luts.has(q)) luts.set(q, new Int32Array(radix[q]!));
      const lut = luts.get(q)!;
      for (let d = 0; d < radix[q]!; d++) if (d <= rank === towardLeft) lut[d]! |= 1 << j;
    }
    const slots = [...luts.keys()].sort((x, y) => x - y);
    leafSlots.push(slots);
    leafLuts.push(slots.map((q) => luts.get(q)!));
  }
  // Each leaf's terms depend on a few of the tree's features only: they are summed into one small table (a
  // "tensor") per maximal slot set - a leaf goes to the first (largest) set containing its own - and each
  // tensor is then added into every cell it covers.
  const distinct = [...new Map(leafSlots.map((sl) => [sl.join(','), sl])).values()].sort((x, y) => y.length - x.length);
  const maximal: number[][] = [];
  for (const sl of distinct) if (!maximal.some((m) => sl.every((q) => m.includes(q)))) maximal.push(sl);
  const owner = leafSlots.map((sl) => maximal.findIndex((m) => sl.every((q) => m.includes(q))));
  // Per leaf and pattern, where its terms are in termPos / termAmount (tensor entry, amount), computed the
  // first time they are needed.
  const patternStart = new Int32Array(paths.length + 1);
  paths.forEach((p, i) => (patternStart[i + 1] = patternStart[i]! + 2 ** (p.length - 1)));
  const termAt = new Int32Array(patternStart[paths.length]!).fill(-1);
  const termEnd = new Int32Array(patternStart[paths.length]!);
  const termPos: number[] = [];
  const termAmount: number[] = [];
  const features = new Int32Array(e.maxDepth + 1);
  const amounts = new Float64Array(e.maxDepth + 1);
  const pos = new Int32Array(k);
  maximal.forEach((m, mi) => {
    const M = m.length;
    m.forEach((q, i) => (pos[q] = i));
    const mRadix = m.map((q) => radix[q]!);
    const size = mRadix.reduce((x, y) => x * y, 1);
    const tensor = new Float64Array(size * M);
    const digit = new Int32Array(M);
    for (let li = 0; li < paths.length; li++) {
      if (owner[li] !== mi) continue;
      const p = paths[li]!;
      const at = Int32Array.from(leafSlots[li]!, (q) => pos[q]!);
      const luts = leafLuts[li]!;
      digit.fill(0);
      for (let c = 0; c < size; c++) {
        let hot = 0;
        for (let i = 0; i < at.length; i++) hot |= luts[i]![digit[at[i]!]!]!;
        const pi = patternStart[li]! + hot;
        if (termAt[pi]! < 0) {
          const n = leafTerms.terms(t, p, p.length, hot, features, amounts);
          termAt[pi] = termPos.length;
          for (let i = 0; i < n; i++) {
            termPos.push(pos[slotOf.get(features[i]!)!]!);
            termAmount.push(amounts[i]!);
          }
          termEnd[pi] = termPos.length;
        }
        const o = c * M;
        for (let i = termAt[pi]!; i < termEnd[pi]!; i++) tensor[o + termPos[i]!] = tensor[o + termPos[i]!]! + termAmount[i]!;
        for (let j = 0; j < M; j++) {
          if (++digit[j]! < mRadix[j]!) break;
          digit[j] = 0;
        }
      }
    }
    // The tensor cell of a tree cell: the sum over the tensor's slots q of digit q times q's stride in it.
    const off = radix.map((r) => new Int32Array(r));
    let mStride = 1;
    m.forEach((q, i) => {
      for (let d = 0; d < radix[q]!; d++) off[q]![d] = d * mStride;
      mStride *= mRadix[i]!;
    });
    addInto(out, start, stride, tc.cells, radix, off, tensor, Int32Array.from(m, (q) => entry[q]!));
  });
}

/**
 * Adds `src` (k = entry.length values per cell of its own) into the cells of `out` (from `start`, `stride`
 * values per cell, `cells` cells numbered mixed radix `radix`, the first digit fastest): src's cell for
 * digits d is the sum over j of off[j][d[j]], and its value i goes to entry[i] of the cell.
 */
function addInto(out: Float64Array, start: number, stride: number, cells: number, radix: readonly number[], off: readonly Int32Array[], src: Float64Array, entry: Int32Array): void {
  const K = radix.length;
  const k = entry.length;
  const r0 = radix[0]!;
  const off0 = off[0]!;
  const digit = new Int32Array(K);
  // The first digit in the inner loop; `outer` is what the other digits add.
  let outer = 0;
  for (let c = 0; c < cells; c += r0) {
    for (let d = 0; d < r0; d++) {
      const o = start + (c + d) * stride;
      const s0 = (outer + off0[d]!) * k;
      for (let q = 0; q < k; q++) out[o + entry[q]!] = out[o + entry[q]!]! + src[s0 + q]!;
    }
    for (let j = 1; j < K; j++) {
      const oj = off[j]!;
      outer -= oj[digit[j]!]!;
      if (++digit[j]! < radix[j]!) {
        outer += oj[digit[j]!]!;
        break;
      }
      digit[j] = 0;
    }
  }
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
  const rankOf: Map<number, number>[] = [];
  perFeature.forEach((s, f) => {
    cutStart[f] = cutList.length;
    const sorted = [...s].sort((a, b) => a - b);
    cutCount[f] = sorted.length;
    cutList.push(...sorted);
    rankOf.push(new Map(sorted.map((x, i) => [x, i])));
  });
  const cuts = Float32Array.from(cutList);

  const leafTerms = new LeafTerms(e);
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
  for (let t = 0; t < e.treeCount; t++) {
    const used = perTree[t]!;
    const feats = [...used.keys()];
    const radix = feats.map((f) => used.get(f)!.length + 1);
    const cells = radix.reduce((a, b) => a * b, 1);
    const paths = cells > MAX_CELLS ? undefined : leafPaths(e, t);
    if (!paths) {
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
      let li = 0;
      for (let gi = 0; gi <= cutCount[f]!; gi++) {
        // Global interval gi holds x with cuts[gi - 1] <= x < cuts[gi]; its local interval is the number
        // of the tree's thresholds <= cuts[gi - 1] (none for gi = 0).
        while (gi > 0 && li < local.length && local[li]! <= cuts[globalStart + gi - 1]!) li++;
        maps.push(li * stride * k);
      }
      stride *= radix[j]!;
    });
    const part = new Float64Array(cells * k);
    const tc = { feats, ranks: feats.map((f) => used.get(f)!.map((x) => rankOf[f]!.get(x)!)), cells };
    treeTable(e, t, tc, paths, cuts, cutStart, leafTerms, part, 0, k, Int32Array.from(feats, (_, j) => j));
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
