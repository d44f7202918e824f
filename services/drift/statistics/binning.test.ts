import { describe, expect, it } from 'vitest';
import { binOf, bisectLeft, bisectRight, gridCell } from './binning.ts';

/** Straightforward definitions to compare the binary searches with. */
const countLe = (a: number[], x: number) => a.filter((e) => e <= x).length;
const countLt = (a: number[], x: number) => a.filter((e) => e < x).length;

describe('binning', () => {
  const edges = [0, 1, 1, 2.5, 10];
  it('bisectRight counts edges <= x and bisectLeft edges < x, including at and between duplicate edges', () => {
    for (const x of [-5, 0, 0.5, 1, 1.0000001, 2.5, 3, 10, 11, -0]) {
      expect(bisectRight(edges, x)).toBe(countLe(edges, x));
      expect(bisectLeft(edges, x)).toBe(countLt(edges, x));
    }
  });
  it('has open-ended outer bins and a separate missing bin', () => {
    expect(binOf(edges, -1e300)).toBe(0);
    expect(binOf(edges, 1e300)).toBe(edges.length);
    for (const missing of [undefined, NaN, Infinity, -Infinity]) expect(binOf(edges, missing)).toBe(edges.length + 1);
  });
  it('matches the pipeline docstring example', () => {
    // pipeline/model/reference.py: bin_index([-1, 0, 0.5, 1, 9], [0, 1]) == [0, 1, 1, 2, 2]
    expect([-1, 0, 0.5, 1, 9].map((x) => binOf([0, 1], x))).toEqual([0, 1, 1, 2, 2]);
  });
  it('grid cells separate "equal to a grid value" from "between grid values"', () => {
    const grid = [1, 2, 4];
    expect([0, 1, 1.5, 2, 3, 4, 5].map((x) => gridCell(grid, x))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
