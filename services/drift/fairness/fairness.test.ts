/**
 * The pure core of the fairness windows: exact test, AIR interval, SMD; per-group counts that merge like the
 * drift windows' partials; the window summary (AIR vs reference, flags only with significance and enough
 * decisions, outcomes: default rate among approved, FPR/FNR, calibration). Reference values: scipy (exact
 * test, normal quantile) and pipeline/fairness/disparity.py (AIR, SMD) on the same rows.
 */
import { describe, expect, it } from 'vitest';
import { fairLending, type ProtectedAttribute } from '../../shared/fair-lending.ts';
import { createRng } from '../../simulator/rng.ts';
import { addDecision, addOutcome, CELL, emptyCounts, fairnessLayout, mergeCounts, type Decision } from './layout.ts';
import { adverseImpactRatio, fisherLowerP, normalQuantile, smdFromSums } from './significance.ts';
import { DEFAULT_FAIRNESS_OPTIONS, summarizeFairness } from './summary.ts';

const decisionOf = (p: number): Decision => (p < 0.3 ? 'APPROVE' : p < 0.6 ? 'REVIEW' : 'DECLINE');

describe('significance', () => {
  it('Fisher exact one-sided p-value equals scipy.stats.fisher_exact(alternative="less")', () => {
    expect(fisherLowerP(1, 10, 11, 14)).toBeCloseTo(0.0013797280926100418, 12);
    expect(fisherLowerP(560, 800, 700, 1000)).toBeCloseTo(0.5203312599144909, 9);
    expect(fisherLowerP(520, 800, 720, 1000)).toBeCloseTo(0.0008671863390036594, 12);
    expect(fisherLowerP(0, 0, 5, 10)).toBe(1);
  });

  it('normal quantile, Katz interval of the AIR', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408408, 8);
    const r = adverseImpactRatio(520, 800, 720, 1000)!;
    expect(r.air).toBeCloseTo(0.65 / 0.72, 15);
    const se = Math.sqrt((1 - 0.65) / 520 + (1 - 0.72) / 720);
    expect(r.low).toBeCloseTo(r.air * Math.exp(-1.959963984540054 * se), 8);
    expect(r.high).toBeCloseTo(r.air * Math.exp(1.959963984540054 * se), 8);
    expect(r.low).toBeLessThan(r.air);
    expect(adverseImpactRatio(3, 10, 0, 10)).toBeUndefined();
  });

  it('SMD from sums equals the pooled-sd definition of pipeline/fairness/disparity.py', () => {
    const sums = (xs: number[]) => [xs.length, xs.reduce((a, b) => a + b, 0), xs.reduce((a, b) => a + b * b, 0)] as const;
    expect(smdFromSums(...sums([1, 2, 3]), ...sums([0, 1, 2]))).toBeCloseTo(1, 12);
    expect(smdFromSums(...sums([0.4, 0.1, 0.7, 0.32, 0.2]), ...sums([0.1, 0.2, 0.35, 0.05, 0.6, 0.25]))).toBeCloseTo(0.4024461134876145, 12);
    expect(smdFromSums(1, 0.5, 0.25, 5, 1, 1)).toBeNaN();
  });
});

const attrs: ProtectedAttribute[] = [
  { name: 'race', reference: 'W', notProvided: 'N', categories: ['W', 'B', 'N'] },
  { name: 'sex', reference: 'M', notProvided: undefined, categories: ['M', 'F'] },
];
const layout = fairnessLayout(attrs);

describe('fairness layout and counts', () => {
  it('has one block of cells per group plus the unjoined cell; its id names the categories', () => {
    expect(layout.size).toBe(5 * (CELL.CALIBRATION + 30) + 1);
    expect(layout.id).toContain('race=W|B|N');
    const spec = fairnessLayout(fairLending().attributes);
    expect(spec.attributes.map((a) => a.attribute.name)).toEqual(['race_ethnicity', 'sex']);
    expect(fairLending().attributes[0]).toMatchObject({ reference: 'WHITE', notProvided: 'NOT_PROVIDED' });
  });

  it('partials merge by addition: any split of a stream gives the counts of the whole', () => {
    const rng = createRng(3);
    const stream = Array.from({ length: 3000 }, () => {
      const race = ['W', 'B', 'N', 'X'][Math.floor(rng.next() * 4)]!;
      const p = rng.next();
      return { groups: rng.next() < 0.05 ? undefined : { race, sex: rng.next() < 0.5 ? 'M' : 'F' }, p, y: rng.next() < p };
    });
    const all = emptyCounts(layout);
    const parts = [emptyCounts(layout), emptyCounts(layout), emptyCounts(layout)];
    stream.forEach((r, i) => {
      for (const c of [all, parts[i % 3]!]) {
        addDecision(c, layout, r.groups, decisionOf(r.p), r.p);
        addOutcome(c, layout, r.groups, decisionOf(r.p), r.p, r.y);
      }
    });
    const merged = emptyCounts(layout);
    for (const p of parts) mergeCounts(merged, layout.id, p, layout.id);
    merged.forEach((v, i) => expect(v, `cell ${i}`).toBeCloseTo(all[i]!, 9));
    // decisions without demographics are counted apart; an unknown category counts for the other attribute only
    expect(all[layout.unjoinedOffset]).toBe(stream.filter((r) => !r.groups).length);
    expect(() => mergeCounts(merged, layout.id, parts[0]!, 'fairness/v1:other')).toThrow(/cannot merge fairness counts of layout/);
  });
});

describe('fairness summary', () => {
  /** n decisions of group `race`/`sex` of which `approved` are approved, scores spread inside each band. */
  function window(rows: { race: string; sex: string; n: number; approved: number; defaultsApproved?: number; defaultsAdverse?: number }[]) {
    const c = emptyCounts(layout);
    for (const r of rows) {
      for (let i = 0; i < r.n; i++) {
        const approved = i < r.approved;
        const p = approved ? 0.05 + 0.2 * (i / r.n) : 0.35 + 0.5 * (i / r.n);
        const groups = { race: r.race, sex: r.sex };
        addDecision(c, layout, groups, decisionOf(p), p);
        const k = approved ? i : i - r.approved;
        addOutcome(c, layout, groups, decisionOf(p), p, approved ? k < (r.defaultsApproved ?? 0) : k < (r.defaultsAdverse ?? 0));
      }
    }
    return c;
  }

  it('AIR against the reference, flagged only when below 0.8, significant and with enough decisions', () => {
    const c = window([
      { race: 'W', sex: 'M', n: 1000, approved: 720, defaultsApproved: 72, defaultsAdverse: 140 },
      { race: 'B', sex: 'F', n: 800, approved: 520, defaultsApproved: 78, defaultsAdverse: 100 },
      { race: 'N', sex: 'M', n: 300, approved: 100 },
    ]);
    const s = summarizeFairness(c, layout);
    const race = s.attributes[0]!;
    const b = race.groups.find((g) => g.group === 'B')!;
    expect(b.air).toBeCloseTo(0.65 / 0.72, 12);
    expect(b.pValue).toBeCloseTo(0.0008671863390036594, 12);
    expect(b.flagged).toBe(false); // 0.903 >= 0.8: significant but not an adverse impact
    expect(race.groups.find((g) => g.group === 'N')!.air).toBeUndefined(); // not provided: never compared
    expect(race.groups.find((g) => g.group === 'W')!.air).toBeUndefined();
    expect(race.minAirGroup).toBe('B');
    // outcomes: default rate among the approved, FPR (adverse among repaid), FNR (approved among defaulted)
    expect(b.outcomes.labelled).toBe(800);
    expect(b.outcomes.defaultRateApproved).toBeCloseTo(78 / 520, 12);
    expect(b.outcomes.falsePositiveRate).toBeCloseTo((280 - 100) / (280 - 100 + 520 - 78), 12);
    expect(b.outcomes.falseNegativeRate).toBeCloseTo(78 / (78 + 100), 12);
    expect(b.outcomes.calibration.reduce((a, bin) => a + bin.labelled, 0)).toBe(800);
    expect(b.outcomes.ece).toBeGreaterThan(0);
    expect(s.alert).toBe(false);

    const worse = summarizeFairness(window([{ race: 'W', sex: 'M', n: 1000, approved: 720 }, { race: 'B', sex: 'F', n: 800, approved: 400 }]), layout);
    const bw = worse.attributes[0]!.groups.find((g) => g.group === 'B')!;
    expect(bw.air).toBeCloseTo(0.5 / 0.72, 12);
    expect(bw.airHigh).toBeLessThan(0.8);
    expect(bw.flagged).toBe(true);
    expect(worse.attributes[0]!.flagged).toEqual(['B']);
    expect(worse.attributes[1]!.flagged).toEqual(['F']); // sex mirrors race in this window
    expect(worse.alert).toBe(true);
  });

  it('a low AIR on few decisions or without significance is not flagged', () => {
    const few = summarizeFairness(window([{ race: 'W', sex: 'M', n: 1000, approved: 720 }, { race: 'B', sex: 'F', n: 40, approved: 20 }]), layout);
    const b = few.attributes[0]!.groups.find((g) => g.group === 'B')!;
    expect(b.enough).toBe(false);
    expect(b.air).toBeUndefined();
    expect(b.flagged).toBe(false);
    const notSignificant = summarizeFairness(window([{ race: 'W', sex: 'M', n: 120, approved: 60 }, { race: 'B', sex: 'F', n: 110, approved: 43 }]), layout, { ...DEFAULT_FAIRNESS_OPTIONS, minCount: 100 });
    const ns = notSignificant.attributes[0]!.groups.find((g) => g.group === 'B')!;
    expect(ns.air!).toBeLessThan(0.8);
    expect(ns.pValue!).toBeCloseTo(0.06297564859817106, 10); // scipy fisher_exact([[43, 67], [60, 60]], 'less')
    expect(ns.flagged).toBe(false);
  });

  it('the reference group is configurable and must be a category', () => {
    const c = window([{ race: 'W', sex: 'M', n: 500, approved: 300 }, { race: 'B', sex: 'F', n: 500, approved: 400 }]);
    const s = summarizeFairness(c, layout, { ...DEFAULT_FAIRNESS_OPTIONS, references: { race: 'B' } });
    expect(s.attributes[0]!.groups.find((g) => g.group === 'W')!.air).toBeCloseTo(0.6 / 0.8, 12);
    expect(() => summarizeFairness(c, layout, { ...DEFAULT_FAIRNESS_OPTIONS, references: { race: 'Z' } })).toThrow(/reference "Z" is not a category of race/);
  });

  it('AIR and SMD equal the gate\'s (pipeline/fairness/disparity.py by_group) on the same rows', () => {
    const c = emptyCounts(layout);
    const rows: [string, number][] = [['W', 0.1], ['W', 0.2], ['W', 0.35], ['W', 0.05], ['W', 0.6], ['W', 0.25], ['B', 0.4], ['B', 0.1], ['B', 0.7], ['B', 0.32], ['B', 0.2], ['N', 0.9], ['N', 0.1]];
    for (const [race, p] of rows) addDecision(c, layout, { race, sex: 'M' }, decisionOf(p), p);
    const b = summarizeFairness(c, layout, { ...DEFAULT_FAIRNESS_OPTIONS, minCount: 2 }).attributes[0]!.groups.find((g) => g.group === 'B')!;
    // by_group(g, p, 0.3, 'W', 2, ('N',)) -> {'air': 0.6000000000000001, 'smd': 0.4024461134876145, 'mean_score': 0.344}
    expect(b.air).toBeCloseTo(0.6, 12);
    expect(b.smd).toBeCloseTo(0.4024461134876145, 12);
    expect(b.meanScore).toBeCloseTo(0.344, 12);
  });
});
