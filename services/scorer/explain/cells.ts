/**
 * Algorithm 2's results (treeshap.ts), served at the cost the scorer's throughput allows.
 *
 * Algorithm 2 depends on a row only through the outcome of each split (x < threshold or not). A tree's
 * thresholds on feature f cut the line into intervals, and all rows whose features fall into the same
 * interval of every feature the tree splits on - one "cell" - take the same branch at every node, so
 * Algorithm 2 gives them the same contributions, to the bit. At model load this module tabulates each
 * tree's contributions for every one of its cells. It does not run Algorithm 2 per cell: Algorithm 2's
 * result is a sum of leaf terms (LeafTerms in treeshap.ts), each depending on the cell only through the
 * branches taken on the way to its leaf, so each (leaf, branches) term is computed once, and a cell's
 * contributions are the sum of its leaves' terms (summed per set of features first, see treeTable).
 *
 * Contributions add up over trees, so trees are merged into groups that share one table: a group's cells
 * are the product, over the features its trees split on, of the intervals between the union of their
 * thresholds, and a group cell's entry is the sum of its trees' entries for the cells that contain it
 * (index mapping, addInto; nothing is recomputed). Groups are formed greedily (groupTrees): always the
 * two whose merged table is smallest relative to their own two, while it has at most GROUP_CELLS cells.
 *
 * Scoring a row: one binary search per feature over the sorted union of all trees' thresholds gives the
 * row's interval of each feature; a group's cell is the sum of one offset per feature, stored interval by
 * interval with the groups side by side (a row reads one contiguous run per feature); then the groups'
 * table rows (an entry for every feature, zero where the group does not split on it) are summed. All the
 * cells first, then all the rows, so that the rows' cache misses overlap. No recursion, no path stack.
 * A tree with more than MAX_CELLS cells (deep trees on many features), or too many ways to reach its
 * leaves, keeps Algorithm 2 per row; so does every tree for a row with a missing (NaN) value, whose
 * default directions cells do not encode. Algorithm 2's terms are summed in another order, so results
 * equal its to rounding (1e-12 in the tests).
 */
import { LeafTerms, TreeShap, type TreeEnsemble } from './treeshap.ts';

/** Cells per tree above which the tree is explained per row by Algorithm 2 instead. */
export const MAX_CELLS = 8192;
/** Cells a group of merged trees may have (a single tree may have up to MAX_CELLS). */
export const GROUP_CELLS = 8192;
/** (leaf, branches taken) combinations per tree above which the tree is explained per row by Algorithm 2. */
const MAX_LEAF_PATTERNS = 1 << 16;
/** Trees grouped together at most (the grouping holds a float32 per pair: 16 MB). */
const GROUP_BLOCK = 2048;
/** Models with up to this many features are served by the fast loop of CellShap.explain (sums in locals). */
const FAST_FEATURES = 8;
/** Spare zeros after the table: the fast loop reads FAST_FEATURES entries per cell (past the end would read undefined: slow). */
const TABLE_PAD = FAST_FEATURES;

export interface CellTableOptions {
  /** Cells a merged group may have (default GROUP_CELLS; 0 or 1: no merging, one group per tree). */
  readonly groupCells?: number;
  /** Trees grouped together at most (default GROUP_BLOCK). */
  readonly groupBlock?: number;
}

export interface CellTables {
  readonly ensemble: TreeEnsemble;
  /** Per feature: the sorted distinct thresholds of all trees (float32), and where they start in `cuts`. */
  readonly cuts: Float32Array;
  readonly cutStart: Int32Array;
  readonly cutCount: Int32Array;
  readonly groupCount: number;
  /** Group g's trees are members[memberStart[g] .. memberStart[g + 1]); its cell count is groupCells[g]. */
  readonly memberStart: Int32Array;
  readonly members: Int32Array;
  readonly groupCells: Int32Array;
  /** Group g splits on features groupFeature[featureStart[g] .. featureStart[g + 1]). */
  readonly featureStart: Int32Array;
  readonly groupFeature: Int32Array;
  /** Where group g's table starts. */
  readonly tableStart: Int32Array;
  /** Global interval i of feature f is row intervalRow[f] + i of `index`. */
  readonly intervalRow: Int32Array;
  /** index[row * groupCount + g]: what that feature interval adds to group g's table offset; the last row is zero. */
  readonly index: Int32Array;
  /** Per group, cells x numFeatures contributions (zero for features the group does not split on). */
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

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
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
  let patterns = 0;
  // False as soon as the patterns are too many, or a path too deep for a 31-bit pattern (which also bounds
  // the recursion): the walk stops there.
  const walk = (v: number): boolean => {
    stack.push(v);
    if (stack.length > 31) return false;
    if (e.left[base + v]! < 0) {
      paths.push([...stack]);
      patterns += 2 ** (stack.length - 1);
      if (patterns > MAX_LEAF_PATTERNS) return false;
    } else if (!walk(e.left[base + v]!) || !walk(e.right[base + v]!)) return false;
    stack.pop();
    return true;
  };
  if (!walk(0)) return undefined;
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

/**
 * Greedy agglomerative grouping of `trees` (their cuts in `tcs`): while some pair of groups fits in `cap`
 * cells merged, merge the pair whose merged cell count is smallest relative to the sum of theirs (lowest
 * indices first on ties). Returns the groups as lists of indices into `trees`, in order of first member.
 */
function groupTrees(tcs: readonly TreeCuts[], cutCount: Int32Array, cap: number): number[][] {
  const n = tcs.length;
  const groups: number[][] = tcs.map((_, i) => [i]);
  if (cap <= 1 || n < 2) return groups;
  const nf = cutCount.length;
  const wordStart = new Int32Array(nf + 1);
  for (let f = 0; f < nf; f++) wordStart[f + 1] = wordStart[f]! + ((cutCount[f]! + 31) >>> 5);
  const W = wordStart[nf]!;
  // Per group, per feature, a bitset of the global cuts its trees use.
  const bits = new Uint32Array(n * W);
  const cells = new Float64Array(n);
  // And the number of cuts per feature.
  const count = new Int32Array(n * nf);
  tcs.forEach((tc, i) => {
    tc.feats.forEach((f, j) => {
      for (const r of tc.ranks[j]!) bits[i * W + wordStart[f]! + (r >>> 5)]! |= 1 << (r & 31);
      count[i * nf + f] = tc.ranks[j]!.length;
    });
    cells[i] = tc.cells;
  });
  const merged = (a: number, b: number): number => {
    // A lower bound first (the union has at least as many cuts per feature as either).
    let c = 1;
    for (let f = 0; f < nf; f++) {
      c *= Math.max(count[a * nf + f]!, count[b * nf + f]!) + 1;
      if (c > cap) return Infinity;
    }
    c = 1;
    for (let f = 0; f < nf; f++) {
      let u = 0;
      for (let w = wordStart[f]!; w < wordStart[f + 1]!; w++) u += popcount((bits[a * W + w]! | bits[b * W + w]!) >>> 0);
      c *= u + 1;
      if (c > cap) return Infinity;
    }
    return c;
  };
  // The merged cell count of every pair (Infinity above the cap; float32 holds counts up to 2^24 exactly).
  const pair = new Float32Array(n * n).fill(Infinity);
  const alive = new Uint8Array(n).fill(1);
  const setPair = (i: number, j: number): void => {
    const m = cells[i]! > cap || cells[j]! > cap ? Infinity : merged(i, j);
    pair[i * n + j] = m;
    pair[j * n + i] = m;
  };
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) setPair(i, j);
  const score = (i: number, j: number): number => pair[i * n + j]! / (cells[i]! + cells[j]!);
  const bestScore = new Float64Array(n).fill(Infinity);
  const bestWith = new Int32Array(n).fill(-1);
  // Group i's best partner (the lowest index among equals).
  const refresh = (i: number): void => {
    bestScore[i] = Infinity;
    bestWith[i] = -1;
    for (let j = 0; j < n; j++) {
      if (j === i || !alive[j]) continue;
      const s = score(i, j);
      if (s < bestScore[i]!) {
        bestScore[i] = s;
        bestWith[i] = j;
      }
    }
  };
  for (let i = 0; i < n; i++) refresh(i);
  for (;;) {
    let a = -1;
    for (let i = 0; i < n; i++) if (alive[i] && bestScore[i]! < Infinity && (a < 0 || bestScore[i]! < bestScore[a]!)) a = i;
    if (a < 0) break;
    let b = bestWith[a]!;
    if (b < a) [a, b] = [b, a];
    cells[a] = pair[a * n + b]!;
    for (let w = 0; w < W; w++) bits[a * W + w]! |= bits[b * W + w]!;
    for (let f = 0; f < nf; f++) {
      let u = 0;
      for (let w = wordStart[f]!; w < wordStart[f + 1]!; w++) u += popcount(bits[a * W + w]!);
      count[a * nf + f] = u;
    }
    alive[b] = 0;
    groups[a]!.push(...groups[b]!);
    groups[b] = [];
    // Only pairs with a change: a's row is recomputed, and groups whose best partner was a or b look again;
    // the others only compare their best with a.
    for (let j = 0; j < n; j++) if (j !== a && alive[j]) setPair(a, j);
    for (let i = 0; i < n; i++) {
      if (!alive[i] || i === a) continue;
      if (bestWith[i] === a || bestWith[i] === b) refresh(i);
      else {
        const s = score(i, a);
        if (s < bestScore[i]! || (s === bestScore[i]! && a < bestWith[i]!)) {
          bestScore[i] = s;
          bestWith[i] = a;
        }
      }
    }
    refresh(a);
  }
  return groups.filter((g) => g.length > 0).map((g) => g.sort((x, y) => x - y));
}

/** Builds the cell tables of `e` (once per model load, in the model worker). */
export function buildCellTables(e: TreeEnsemble, options: CellTableOptions = {}): CellTables {
  const nf = e.numFeatures;
  const cap = Math.min(options.groupCells ?? GROUP_CELLS, 1 << 24);
  const perFeature: Set<number>[] = Array.from({ length: nf }, () => new Set());
  const perTree: Map<number, Set<number>>[] = [];
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
    perTree.push(m);
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

  // Per tree: its cuts and cells; trees with too many cells stay with Algorithm 2, trees without splits add nothing.
  const untabled: number[] = [];
  const tabled: number[] = [];
  const tcs: TreeCuts[] = [];
  const treePaths: number[][][] = [];
  for (let t = 0; t < e.treeCount; t++) {
    const used = perTree[t]!;
    if (used.size === 0) continue;
    const feats = [...used.keys()].sort((a, b) => a - b);
    const ranks = feats.map((f) => [...used.get(f)!].map((x) => rankOf[f]!.get(x)!).sort((a, b) => a - b));
    let cells = 1;
    for (const r of ranks) cells *= r.length + 1;
    const paths = cells > MAX_CELLS ? undefined : leafPaths(e, t);
    if (!paths) {
      untabled.push(t);
      continue;
    }
    tabled.push(t);
    tcs.push({ feats, ranks, cells });
    treePaths.push(paths);
  }

  // Grouping keeps a cell count per pair: in blocks of GROUP_BLOCK trees for big ensembles.
  const block = Math.max(1, options.groupBlock ?? GROUP_BLOCK);
  const groups: number[][] = [];
  for (let from = 0; from < tcs.length; from += block) {
    for (const g of groupTrees(tcs.slice(from, from + block), cutCount, cap)) groups.push(g.map((i) => i + from));
  }
  const G = groups.length;
  const memberStart = new Int32Array(G + 1);
  const members: number[] = [];
  const groupCells = new Int32Array(G);
  const featureStart = new Int32Array(G + 1);
  const groupFeature: number[] = [];
  const tableStart = new Int32Array(G);
  const intervalRow = new Int32Array(nf + 1);
  for (let f = 0; f < nf; f++) intervalRow[f + 1] = intervalRow[f]! + cutCount[f]! + 1;
  // The last row of `index` stays zero (see CellShap.explain).
  const index = new Int32Array((intervalRow[nf]! + 1) * G);
  const groupFeats: number[][] = [];
  const groupRanks: number[][][] = [];
  let tableLength = 0;
  groups.forEach((g, gi) => {
    for (const i of g) members.push(tabled[i]!);
    memberStart[gi + 1] = members.length;
    // The group's features and, per feature, the sorted union of its trees' cut ranks.
    const union = new Map<number, Set<number>>();
    for (const i of g) {
      tcs[i]!.feats.forEach((f, j) => {
        if (!union.has(f)) union.set(f, new Set());
        for (const r of tcs[i]!.ranks[j]!) union.get(f)!.add(r);
      });
    }
    const feats = [...union.keys()].sort((x, y) => x - y);
    const ranks = feats.map((f) => [...union.get(f)!].sort((x, y) => x - y));
    groupFeats.push(feats);
    groupRanks.push(ranks);
    groupCells[gi] = ranks.reduce((c, r) => c * (r.length + 1), 1);
    for (const f of feats) groupFeature.push(f);
    featureStart[gi + 1] = groupFeature.length;
    tableStart[gi] = tableLength;
    tableLength += groupCells[gi]! * nf;
    // Index rows: global interval i of feature f lies in the group's local interval li (the number of the
    // group's cuts with rank < i), which moves the group's cell by li times the feature's stride.
    let stride = nf;
    feats.forEach((f, j) => {
      const r = ranks[j]!;
      let li = 0;
      for (let i = 0; i <= cutCount[f]!; i++) {
        while (li < r.length && r[li]! < i) li++;
        index[(intervalRow[f]! + i) * G + gi] = li * stride;
      }
      stride *= r.length + 1;
    });
  });
  // nf entries per cell (every feature, zero where the group does not split on it), and TABLE_PAD spare
  // zeros after the last cell (CellShap.explain reads a fixed number of entries per cell).
  const table = new Float64Array(tableLength + TABLE_PAD);
  const leafTerms = new LeafTerms(e);
  groups.forEach((g, gi) => {
    const feats = groupFeats[gi]!;
    const ranks = groupRanks[gi]!;
    const at = tableStart[gi]!;
    if (g.length === 1) {
      // The group is its tree: its table is the tree's, in place.
      treeTable(e, tabled[g[0]!]!, tcs[g[0]!]!, treePaths[g[0]!]!, cuts, cutStart, leafTerms, table, at, nf, Int32Array.from(feats));
      return;
    }
    // A group cell's entry is the sum of each member's entry for the member cell that contains it. Per
    // member and group feature j, off[j][d] is the member cell that group-local interval d lies in
    // (the member's interval there times the member's stride for the feature).
    const radix = ranks.map((r) => r.length + 1);
    for (const i of g) {
      const tc = tcs[i]!;
      const k = tc.feats.length;
      const own = new Float64Array(tc.cells * k);
      treeTable(e, tabled[i]!, tc, treePaths[i]!, cuts, cutStart, leafTerms, own, 0, k, Int32Array.from(tc.feats, (_, j) => j));
      const off: Int32Array[] = radix.map((n) => new Int32Array(n));
      let mStride = 1;
      tc.feats.forEach((f, q) => {
        const j = feats.indexOf(f);
        const mr = tc.ranks[q]!;
        const gr = ranks[j]!;
        let li = 0;
        for (let d = 1; d < radix[j]!; d++) {
          // Group interval d starts at the group's cut d - 1: the member's interval there counts its cuts up to it.
          while (li < mr.length && mr[li]! <= gr[d - 1]!) li++;
          off[j]![d] = li * mStride;
        }
        mStride *= mr.length + 1;
      });
      addInto(table, at, nf, groupCells[gi]!, radix, off, own, Int32Array.from(tc.feats));
    }
  });
  return {
    ensemble: e,
    cuts,
    cutStart,
    cutCount,
    groupCount: G,
    memberStart,
    members: Int32Array.from(members),
    groupCells,
    featureStart,
    groupFeature: Int32Array.from(groupFeature),
    tableStart,
    intervalRow,
    index,
    table,
    untabled: Int32Array.from(untabled),
  };
}

/** Serves contributions from cell tables; one instance per thread (scratch buffers). */
export class CellShap {
  private readonly interval: Int32Array;
  private readonly rowAt: Int32Array;
  private readonly cell: Int32Array;
  private readonly shap: TreeShap;

  constructor(readonly tables: CellTables) {
    const nf = tables.ensemble.numFeatures;
    this.interval = new Int32Array(nf);
    this.rowAt = new Int32Array(Math.max(nf, FAST_FEATURES));
    this.cell = new Int32Array(tables.groupCount);
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
    const { groupCount: G, tableStart, intervalRow, index, table } = tb;
    // Where the row's interval of each feature starts in `index`; slots past the last feature point at
    // its zero row.
    const at = this.rowAt;
    for (let f = 0; f < at.length; f++) at[f] = (f < nf ? intervalRow[f]! + this.interval[f]! : intervalRow[nf]!) * G;
    // First every group's cell (one contiguous run of `index` per feature), then their table rows: loads
    // that do not wait on each other, so the processor overlaps their cache misses.
    const cell = this.cell;
    if (nf <= FAST_FEATURES) {
      const b0 = at[0]!;
      const b1 = at[1]!;
      const b2 = at[2]!;
      const b3 = at[3]!;
      const b4 = at[4]!;
      const b5 = at[5]!;
      const b6 = at[6]!;
      const b7 = at[7]!;
      for (let g = 0; g < G; g++) cell[g] = tableStart[g]! + index[b0 + g]! + index[b1 + g]! + index[b2 + g]! + index[b3 + g]! + index[b4 + g]! + index[b5 + g]! + index[b6 + g]! + index[b7 + g]!;
      // The sums in locals. Entries a cell does not have (features nf and up) are read from the next cell
      // (or the spare zeros) into sums that are not kept.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let g = 0; g < G; g++) {
        const c = cell[g]!;
        s0 += table[c]!;
        s1 += table[c + 1]!;
        s2 += table[c + 2]!;
        s3 += table[c + 3]!;
        s4 += table[c + 4]!;
        s5 += table[c + 5]!;
        s6 += table[c + 6]!;
        s7 += table[c + 7]!;
      }
      const o = outOffset;
      out[o] = s0;
      if (nf > 1) out[o + 1] = s1;
      if (nf > 2) out[o + 2] = s2;
      if (nf > 3) out[o + 3] = s3;
      if (nf > 4) out[o + 4] = s4;
      if (nf > 5) out[o + 5] = s5;
      if (nf > 6) out[o + 6] = s6;
      if (nf > 7) out[o + 7] = s7;
    } else {
      for (let g = 0; g < G; g++) cell[g] = tableStart[g]!;
      for (let f = 0; f < nf; f++) {
        const b = at[f]!;
        for (let g = 0; g < G; g++) cell[g] = cell[g]! + index[b + g]!;
      }
      for (let g = 0; g < G; g++) {
        const c = cell[g]!;
        for (let j = 0; j < nf; j++) out[outOffset + j] = out[outOffset + j]! + table[c + j]!;
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
