/** Reference compilation, counting, PSI, its p-value and the KS test, each against a direct computation. */
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../shared/schemas.ts';
import { bisectRight } from './binning.ts';
import type { MergedWindow } from '../aggregation/aggregation.ts';
import { evaluateWindow } from './evaluate.ts';
import { accumulate, layoutOf, type DriftRecord } from '../windows/layout.ts';
import { psi, psiDegreesOfFreedom, psiPValue } from './psi.ts';
import { ksTwoSample } from './ks.ts';
import { compileReference, SCORE_TARGET } from './reference.ts';
import { syntheticMetadata, syntheticRecord } from '../../../support/drift-synthetic.ts';
import { chiSquareSf } from './stats.ts';

const metadata = syntheticMetadata(3);
const reference = compileReference(metadata);
const layout = layoutOf(reference);

function valueOf(r: DriftRecord, target: string): number | undefined {
  return target === SCORE_TARGET ? r.score : r.features[target];
}

/** Brute-force two-sample KS: the largest ECDF gap over all points of both samples. */
function bruteKs(a: number[], b: number[]): number {
  const ecdf = (s: number[], x: number) => s.filter((v) => v <= x).length / s.length;
  let d = 0;
  for (const x of [...a, ...b]) d = Math.max(d, Math.abs(ecdf(a, x) - ecdf(b, x)));
  return d;
}

function windowOf(records: DriftRecord[]): MergedWindow {
  const counts = new Uint32Array(layout.size);
  for (const r of records) accumulate(counts, layout, r);
  return { index: 0, start: 0, end: 1, counts: Float64Array.from(counts), records: records.length, firstEventAt: 0, lastEventAt: 0, partitions: [0], late: 0, performance: undefined };
}

describe('reference', () => {
  it('has one target per feature in schema order, then the score; expected sums to 1 with the missing bin last', () => {
    expect(reference.targets.map((t) => t.name)).toEqual([...FEATURE_NAMES, SCORE_TARGET]);
    for (const t of reference.targets) {
      expect(t.expected.length).toBe(t.edges.length + 2);
      expect(t.expected.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect([...t.grid]).toEqual([...new Set([...t.grid])].sort((a, b) => a - b));
      expect(t.gridCdf[t.gridCdf.length - 1]).toBe(1);
    }
    expect(reference.records).toBe(5000);
  });
  it('scales proportions by the share of non-missing values', () => {
    const m = structuredClone(metadata);
    m.reference!.features[FEATURE_NAMES[0]!]!.missing_proportion = 0.2;
    const t = compileReference(m).targets[0]!;
    expect(t.expected[t.expected.length - 1]).toBe(0.2);
    expect(t.expected[0]).toBeCloseTo(metadata.reference!.features[FEATURE_NAMES[0]!]!.proportions[0]! * 0.8, 15);
  });
  it('refuses proportions that do not fit the edges', () => {
    const m = structuredClone(metadata);
    m.reference!.score.proportions = [1];
    expect(() => compileReference(m)).toThrow(/proportions/);
  });
});

describe('window evaluation', () => {
  const records = Array.from({ length: 3000 }, (_, i) => syntheticRecord(11, i, i, i > 1500 ? 1 : 0));
  const result = evaluateWindow(windowOf(records), layout, reference, { bands: { warn: 0.1, alert: 0.25 }, epsilon: 1e-4, minRecords: 1000, windowing: 'time:size=1:hop=1:lateness=0' }, 0);

  it('counts every record once per target, missing values in the last bin', () => {
    for (const r of result.targets) {
      const t = reference.targets.find((x) => x.name === r.target)!;
      const values = records.map((rec) => valueOf(rec, r.target));
      const missing = values.filter((v) => v === undefined || !Number.isFinite(v)).length;
      const direct = new Array(t.edges.length + 2).fill(0);
      for (const v of values) direct[v === undefined || !Number.isFinite(v) ? t.edges.length + 1 : bisectRight(t.edges, v)]++;
      expect(r.counts).toEqual(direct);
      expect(r.missing).toBe(missing);
      expect(r.records).toBe(records.length);
    }
    expect(result.targets.find((t) => t.target === FEATURE_NAMES[1])!.missing).toBeGreaterThan(0);
  });

  it('PSI equals Σ (a − e) ln(a / e) with both floored at ε, computed directly', () => {
    for (const r of result.targets) {
      const n = r.counts.reduce((a, b) => a + b, 0);
      let direct = 0;
      r.counts.forEach((c, i) => {
        const a = Math.max(c / n, 1e-4);
        const e = Math.max(r.expected[i]!, 1e-4);
        direct += (a - e) * Math.log(a / e);
      });
      expect(Math.abs(r.psi - direct)).toBeLessThan(1e-12);
      expect(r.psiPValue).toBeCloseTo(chiSquareSf(direct / (1 / n + 1 / 5000), r.psiDf), 12);
    }
  });

  it('the shifted features drift and the others do not', () => {
    const byTarget = Object.fromEntries(result.targets.map((t) => [t.target, t]));
    FEATURE_NAMES.forEach((f, j) => {
      if (j % 2 === 0) expect(byTarget[f]!.psi, f).toBeGreaterThan(0.1);
      else expect(byTarget[f]!.psi, f).toBeLessThan(0.1);
    });
  });

  it('KS statistic equals the brute-force two-sample KS against the reference sample', () => {
    const m = metadata.reference!;
    for (const r of result.targets) {
      const sample = r.target === SCORE_TARGET ? m.score.sample! : m.features[r.target]!.sample!;
      const values = records.map((rec) => valueOf(rec, r.target)).filter((v): v is number => v !== undefined && Number.isFinite(v));
      expect(Math.abs(r.ksStatistic - bruteKs(values, sample)), r.target).toBeLessThan(1e-12);
      expect(r.ksPValue).toBeGreaterThanOrEqual(0);
      expect(r.ksPValue).toBeLessThanOrEqual(1);
    }
  });

  it('gives severities from the bands, and INSUFFICIENT under the minimum window size', () => {
    for (const r of result.targets) expect(r.severity).toBe(r.psi >= 0.25 ? 'ALERT' : r.psi >= 0.1 ? 'WARN' : 'NONE');
    const small = evaluateWindow(windowOf(records.slice(0, 999)), layout, reference, { bands: { warn: 0.1, alert: 0.25 }, epsilon: 1e-4, minRecords: 1000, windowing: 'x' }, 0);
    expect(small.evaluated).toBe(false);
    expect(small.targets.every((t) => t.severity === 'INSUFFICIENT')).toBe(true);
  });
});

describe('PSI under no drift', () => {
  it('has mean about (B − 1)(1/n + 1/N) and roughly uniform p-values', () => {
    // Draw windows straight from the reference proportions of one target.
    const t = reference.targets[1]!;
    const cum: number[] = [];
    t.expected.reduce((s, e, i) => ((cum[i] = s + e), s + e), 0);
    let seed = 7;
    const u = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const n = 500;
    const psis: number[] = [];
    const ps: number[] = [];
    for (let rep = 0; rep < 400; rep++) {
      const counts = new Array(t.expected.length).fill(0);
      for (let i = 0; i < n; i++) {
        const x = u();
        const b = cum.findIndex((c) => x < c);
        counts[b === -1 ? counts.length - 2 : b]++; // rounding: the last reference bin
      }
      const v = psi(counts, t.expected);
      psis.push(v);
      ps.push(psiPValue(v, n, Infinity, psiDegreesOfFreedom(counts, t.expected)));
    }
    const mean = psis.reduce((a, b) => a + b, 0) / psis.length;
    const df = psiDegreesOfFreedom(new Array(t.expected.length).fill(0), t.expected);
    expect(mean).toBeGreaterThan(0.7 * (df / n));
    expect(mean).toBeLessThan(1.3 * (df / n));
    const below05 = ps.filter((p) => p < 0.05).length / ps.length;
    expect(below05).toBeLessThan(0.12);
  });
  it('ksTwoSample of an empty window is NaN, not a crash', () => {
    const t = layout.targets[0]!;
    expect(ksTwoSample(new Float64Array(layout.size), t.gridOffset, t.ref.gridCdf, t.ref.sampleSize).statistic).toBeNaN();
  });
});
