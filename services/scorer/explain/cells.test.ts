/**
 * The cell tables (cells.ts) against Algorithm 2 (treeshap.ts) on synthetic ensembles: per-tree tables,
 * trees merged into groups (with the default cap, without merging, and with caps small enough that groups
 * fill up), rows strictly inside cells, exactly on thresholds, at -Infinity / +Infinity, with missing
 * values (served by Algorithm 2), trees too big to tabulate, and 1 to 12 features.
 */
import { describe, expect, it } from 'vitest';
import { buildCellTables, CellShap, GROUP_CELLS, MAX_CELLS, type CellTableOptions } from './cells.ts';
import { buildEnsemble, TreeShap, type RawTree, type TreeEnsemble } from './treeshap.ts';

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

interface Tree {
  left: number[];
  right: number[];
  feature: number[];
  threshold: number[];
  default_left: number[];
  value: number[];
  cover: number[];
}

/** A random tree of at most `depth` splits per path; thresholds of feature f come from pools[f] (shared by trees, so groups share cuts). */
function randomTree(rnd: () => number, depth: number, pools: readonly number[][]): RawTree {
  const t: Tree = { left: [], right: [], feature: [], threshold: [], default_left: [], value: [], cover: [] };
  const node = (d: number): number => {
    const k = t.left.length;
    t.left.push(-1);
    t.right.push(-1);
    t.feature.push(0);
    t.threshold.push(0);
    t.default_left.push(rnd() < 0.5 ? 1 : 0);
    t.value.push(0);
    t.cover.push(0);
    if (d === depth || (d > 0 && rnd() < 0.2)) {
      t.value[k] = Math.fround(rnd() * 2 - 1);
      t.cover[k] = 1 + Math.floor(rnd() * 100);
      return k;
    }
    const f = Math.floor(rnd() * pools.length);
    t.feature[k] = f;
    t.threshold[k] = pools[f]![Math.floor(rnd() * pools[f]!.length)]!;
    const l = node(d + 1);
    const r = node(d + 1);
    t.left[k] = l;
    t.right[k] = r;
    t.cover[k] = t.cover[l]! + t.cover[r]!;
    return k;
  };
  node(0);
  return t;
}

function randomEnsemble(seed: number, trees: number, features: number, depth: number, cutsPerFeature: number): TreeEnsemble {
  const rnd = rng(seed);
  const pools = Array.from({ length: features }, () => Array.from({ length: cutsPerFeature }, () => Math.fround(rnd() * 10 - 5)));
  const raw = Array.from({ length: trees }, () => randomTree(rnd, depth, pools));
  return buildEnsemble(raw, Array.from({ length: features }, (_, i) => `f${i}`), 0.1);
}

/** Every threshold of `e`, per feature. */
function thresholds(e: TreeEnsemble): number[][] {
  const out: number[][] = Array.from({ length: e.numFeatures }, () => []);
  for (let g = 0; g < e.left.length; g++) if (e.left[g]! >= 0) out[e.feature[g]!]!.push(e.threshold[g]!);
  return out;
}

/** Rows: random values around the cuts, values exactly on thresholds and just below them, and infinities. */
function testRows(e: TreeEnsemble, seed: number, n: number): Float32Array {
  const rnd = rng(seed);
  const nf = e.numFeatures;
  const th = thresholds(e);
  const rows = new Float32Array(n * nf);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) {
      const pick = th[f]!.length ? th[f]![Math.floor(rnd() * th[f]!.length)]! : 0;
      const kind = i % 5;
      const below = pick - Math.max(Math.abs(pick), 1e-30) * 2 ** -23;
      rows[i * nf + f] = kind === 0 ? rnd() * 12 - 6 : kind === 1 ? pick : kind === 2 ? Math.fround(below) : kind === 3 ? (rnd() < 0.5 ? -Infinity : Infinity) : rnd() < 0.5 ? pick : rnd() * 12 - 6;
    }
  }
  return rows;
}

function worstDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

/** The tables' contributions minus Algorithm 2's, worst over `rows`. */
function check(e: TreeEnsemble, rows: Float32Array, options?: CellTableOptions): { worst: number; tables: ReturnType<typeof buildCellTables> } {
  const n = rows.length / e.numFeatures;
  const tables = buildCellTables(e, options);
  const served = new CellShap(tables).explainBatch(rows, n);
  return { worst: worstDiff(served, new TreeShap(e).explainBatch(rows, n)), tables };
}

/** The groups cover each tabled tree once, and none has more cells than the cap unless it is one tree. */
function expectGroupsValid(tb: ReturnType<typeof buildCellTables>, cap: number): void {
  const seen = new Set<number>();
  for (let g = 0; g < tb.groupCount; g++) {
    const size = tb.memberStart[g + 1]! - tb.memberStart[g]!;
    expect(size).toBeGreaterThan(0);
    if (size > 1) expect(tb.groupCells[g]).toBeLessThanOrEqual(cap);
    for (let m = tb.memberStart[g]!; m < tb.memberStart[g + 1]!; m++) {
      expect(seen.has(tb.members[m]!)).toBe(false);
      seen.add(tb.members[m]!);
    }
  }
  for (const t of tb.untabled) expect(seen.has(t)).toBe(false);
}

/** A chain: split i on feature features[i % features.length] at thresholds[i], its left child a leaf, its right the next split. */
function chainTree(n: number, features: number[], threshold: (i: number) => number): RawTree {
  const chain: Tree = { left: [], right: [], feature: [], threshold: [], default_left: [], value: [], cover: [] };
  for (let i = 0; i < n; i++) {
    const k = chain.left.length;
    chain.left.push(k + 1, -1);
    chain.right.push(k + 2, -1);
    chain.feature.push(features[i % features.length]!, 0);
    chain.threshold.push(Math.fround(threshold(i)), 0);
    chain.default_left.push(0, 0);
    chain.value.push(0, Math.fround(Math.sin(i)));
    chain.cover.push(0, 1 + (i % 7));
  }
  chain.left.push(-1);
  chain.right.push(-1);
  chain.feature.push(0);
  chain.threshold.push(0);
  chain.default_left.push(0);
  chain.value.push(0.5);
  chain.cover.push(3);
  for (let k = chain.left.length - 1; k >= 0; k--) if (chain.left[k]! >= 0) chain.cover[k] = chain.cover[chain.left[k]!]! + chain.cover[chain.right[k]!]!;
  return chain;
}

describe('cell tables (merged trees) against Algorithm 2', () => {
  const e = randomEnsemble(7, 60, 5, 4, 6);
  const rows = testRows(e, 11, 500);

  it('merged with the default cap: equal to Algorithm 2 on random rows, rows on thresholds and infinities', () => {
    const { worst, tables } = check(e, rows);
    expect(worst).toBeLessThan(1e-12);
    expect(tables.untabled).toHaveLength(0);
    expect(tables.groupCount).toBeLessThan(e.treeCount);
    expectGroupsValid(tables, GROUP_CELLS);
  });

  it('unmerged (one group per tree) and merged under small caps: the same contributions', () => {
    const one = check(e, rows, { groupCells: 1 });
    expect(one.worst).toBeLessThan(1e-12);
    expect(one.tables.groupCount).toBe(e.treeCount);
    for (const cap of [64, 300, 2000]) {
      const r = check(e, rows, { groupCells: cap });
      expect(r.worst).toBeLessThan(1e-12);
      expectGroupsValid(r.tables, cap);
      expect(r.tables.groupCount).toBeLessThan(e.treeCount);
    }
  });

  it('grouped in blocks of trees (as big ensembles are): groups within blocks, the same contributions', () => {
    const r = check(e, rows, { groupBlock: 7 });
    expect(r.worst).toBeLessThan(1e-12);
    expectGroupsValid(r.tables, GROUP_CELLS);
    // Trees are numbered in order here (all are tabled), so a group's members lie in one block of 7.
    for (let g = 0; g < r.tables.groupCount; g++) {
      const m = [...r.tables.members.subarray(r.tables.memberStart[g]!, r.tables.memberStart[g + 1]!)];
      expect(new Set(m.map((t) => Math.floor(t / 7))).size).toBe(1);
    }
    expect(r.tables.groupCount).toBeGreaterThan(check(e, rows).tables.groupCount);
  });

  it('a row with a missing value is explained by Algorithm 2, with each node default direction', () => {
    const nf = e.numFeatures;
    const missing = Float32Array.from(rows.subarray(0, 50 * nf));
    for (let i = 0; i < 50; i++) missing[i * nf + (i % nf)] = NaN;
    missing.fill(NaN, 0, nf);
    const { worst } = check(e, missing);
    expect(worst).toBe(0);
  });

  it('a group fills up to the cap exactly and no further', () => {
    // Three stumps on feature 0 at 1, 2, 3: two cells each; two merged have 3 cells, all three have 4.
    const stump = (x: number, v: number): RawTree => ({ left: [1, -1, -1], right: [2, -1, -1], feature: [0, 0, 0], threshold: [x, 0, 0], default_left: [1, 0, 0], value: [0, -v, v], cover: [10, 4, 6] });
    const s = buildEnsemble([stump(1, 0.5), stump(2, 0.25), stump(3, 0.125)], ['a', 'b'], 0);
    const r = Float32Array.from([0, 0, 1, 0, 1.5, 0, 2, 0, 2.5, 0, 3, 0, 9, 0, -Infinity, 0, Infinity, 0]);
    const three = check(s, r, { groupCells: 3 });
    expect(three.worst).toBeLessThan(1e-15);
    expect(three.tables.groupCount).toBe(2);
    expect([...three.tables.groupCells].sort()).toEqual([2, 3]);
    const four = check(s, r, { groupCells: 4 });
    expect(four.worst).toBeLessThan(1e-15);
    expect(four.tables.groupCount).toBe(1);
    expect([...four.tables.groupCells]).toEqual([4]);
    expect([...four.tables.members]).toEqual([0, 1, 2]);
    // Each stump's mean is (-4v + 6v) / 10 = 0.2v; x = 2.5 is right of 1 and 2 (v - 0.2v) and left of 3 (-v - 0.2v).
    const out = new CellShap(four.tables).explainBatch(Float32Array.from([2.5, 0]), 1);
    expect(out[0]).toBeCloseTo(0.5 - 0.2 * 0.5 + 0.25 - 0.2 * 0.25 + (-0.125 - 0.2 * 0.125), 14);
    expect(out[1]).toBe(0);
  });

  it('trees with more than MAX_CELLS cells stay with Algorithm 2, beside tabled ones', () => {
    // A chain alternating between features 0 and 1 with 100 thresholds each: 101 x 101 cells.
    const chain = chainTree(200, [0, 1], (i) => (i >> 1) / 10 - 5);
    expect(101 * 101).toBeGreaterThan(MAX_CELLS);
    const rnd = rng(3);
    const small = Array.from({ length: 10 }, () => randomTree(rnd, 3, [[-1, 0, 1], [-2, 2]]));
    const mixed = buildEnsemble([small[0]!, chain, ...small.slice(1)], ['a', 'b'], 0);
    const { worst, tables } = check(mixed, testRows(mixed, 5, 300));
    expect(worst).toBeLessThan(1e-12);
    expect([...tables.untabled]).toEqual([1]);
    expectGroupsValid(tables, GROUP_CELLS);
  });

  it('a tree with few cells but paths too deep to tabulate (40 splits on one feature) stays with Algorithm 2', () => {
    const chain = chainTree(40, [0], (i) => i / 8 - 2);
    const rnd = rng(8);
    const mixed = buildEnsemble([randomTree(rnd, 3, [[-1, 0, 1], [-2, 2]]), chain, randomTree(rnd, 3, [[-1, 0.5], [0]])], ['a', 'b'], 0);
    const { worst, tables } = check(mixed, testRows(mixed, 6, 300));
    expect(worst).toBeLessThan(1e-12);
    expect([...tables.untabled]).toEqual([1]);
  });

  it('from 1 feature to more than the fast loop takes (8): the same contributions', () => {
    for (const features of [1, 7, 8, 9, 12]) {
      const wide = randomEnsemble(19 + features, 40, features, 4, 4);
      for (const options of [{}, { groupCells: 1 }]) {
        const { worst } = check(wide, testRows(wide, 23, 300), options);
        expect(worst).toBeLessThan(1e-12);
      }
    }
  });

  it('a tree without splits adds nothing but its mean (in the bias)', () => {
    const leaf: RawTree = { left: [-1], right: [-1], feature: [0], threshold: [0], default_left: [0], value: [0.75], cover: [5] };
    const s = buildEnsemble([leaf, randomTree(rng(1), 3, [[0, 1], [2]])], ['a', 'b'], 0);
    const { worst, tables } = check(s, testRows(s, 2, 50));
    expect(worst).toBeLessThan(1e-15);
    expect(tables.groupCount).toBe(1);
  });
});
