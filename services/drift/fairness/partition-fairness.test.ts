/**
 * One partition's fairness windows: the join in either order, release without demographics (watermark or
 * wait), windows held open by a waiting decision, outcomes as deltas, and the restart contract: windows
 * emitted before a checkpoint plus those emitted by a fresh instance re-reading from it (in another
 * interleaving of the two topics) are exactly the windows of an uninterrupted run.
 */
import { describe, expect, it } from 'vitest';
import type { ProtectedAttribute } from '../../shared/fair-lending.ts';
import { createRng } from '../../simulator/rng.ts';
import type { WindowSpec } from '../windows/windows.ts';
import { CELL, fairnessLayout } from './layout.ts';
import { PartitionFairness, type ClosedFairnessWindow, type FairnessCheckpoint } from './partition-fairness.ts';

const attrs: ProtectedAttribute[] = [
  { name: 'race', reference: 'W', notProvided: 'N', categories: ['W', 'B', 'N'] },
  { name: 'sex', reference: 'M', notProvided: undefined, categories: ['M', 'F'] },
];
const layout = fairnessLayout(attrs);
const spec: WindowSpec = { by: 'time', size: 1000, hop: 1000, lateness: 200 };
const opts = { maxWaitMs: 60_000, maxEntries: 10_000, outcomes: true };
const race = (c: ArrayLike<number>, group: number, cell: number) => c[layout.attributes[0]!.offsets[group]! + cell]!;

describe('PartitionFairness', () => {
  it('joins in either order and counts each decision in its window by group', () => {
    const f = new PartitionFairness(0, spec, layout, opts);
    f.onDemographics(0, 'a', { race: 'B', sex: 'F' }, 100);
    f.onDecision(0, 'a', 'DECLINE', 0.7, 100, 0);
    f.onDecision(1, 'b', 'APPROVE', 0.1, 200, 0);
    expect(f.waiting.decisions).toBe(1);
    f.onDemographics(1, 'b', { race: 'W', sex: 'M' }, 200);
    const closed = f.onDecision(2, 'c', 'APPROVE', 0.2, 1300, 0).concat(f.onDemographics(2, 'c', { race: 'W', sex: 'M' }, 1300));
    expect(closed.map((w) => w.index)).toEqual([0]);
    const c = closed[0]!.counts;
    expect(race(c, 1, CELL.DECLINE)).toBe(1);
    expect(race(c, 0, CELL.APPROVE)).toBe(1);
    expect(race(c, 0, CELL.SCORE_SUM)).toBeCloseTo(0.1, 12);
    expect(c[layout.unjoinedOffset]).toBe(0);
    expect(closed[0]!.decisions).toBe(2);
  });

  it('a waiting decision holds its window open; the demographics watermark or the wait releases it unjoined', () => {
    const f = new PartitionFairness(0, spec, layout, opts);
    f.onDecision(0, 'a', 'APPROVE', 0.1, 500, 0);
    // progress passes end + lateness of window 0, but 'a' (dated 500) waits: fairness progress stays at 700
    expect(f.onDecision(1, 'b', 'APPROVE', 0.1, 1500, 0)).toEqual([]);
    expect(f.fairnessProgress).toBe(700);
    expect(f.openFrom).toBe(0);
    // demographics of another applicant dated past 500 + lateness: 'a' has none coming
    const closed = f.onDemographics(0, 'b', { race: 'W', sex: 'M' }, 1500);
    expect(closed.map((w) => w.index)).toEqual([0]);
    expect(closed[0]!.counts[layout.unjoinedOffset]).toBe(1);
    expect(f.takeStats()).toMatchObject({ unjoined: 1 });

    const g = new PartitionFairness(0, spec, layout, { ...opts, maxWaitMs: 5000 });
    g.onDecision(0, 'a', 'REVIEW', 0.4, 500, 0);
    g.onDecision(1, 'b', 'APPROVE', 0.1, 1500, 0);
    expect(g.tick(4999)).toEqual([]);
    expect(g.tick(5000).map((w) => w.index)).toEqual([0]);
  });

  it('a decision for a closed window is late; orphan demographics are dropped once progress passes them', () => {
    const f = new PartitionFairness(0, spec, layout, opts);
    f.onDemographics(0, 'x', { race: 'W', sex: 'M' }, 100);
    f.onDemographics(1, 'a', { race: 'W', sex: 'M' }, 1250);
    f.onDecision(0, 'a', 'APPROVE', 0.1, 1250, 0);
    f.tick(0);
    expect(f.takeStats()).toMatchObject({ orphans: 1 });
    f.onDecision(1, 'late', 'APPROVE', 0.1, 300, 0);
    expect(f.takeStats()).toMatchObject({ late: 1 });
    f.onDecision(2, 'bad', 'MAYBE', 0.1, 1300, 0);
    expect(f.takeStats()).toMatchObject({ invalid: 1 });
  });

  it('outcomes of counted decisions become per-window deltas for their groups', () => {
    const f = new PartitionFairness(0, spec, layout, opts);
    f.onDemographics(0, 'a', { race: 'B', sex: 'F' }, 100);
    f.onDecision(0, 'a', 'DECLINE', 0.7, 100, 0);
    expect(f.onOutcome('a', false)).toBe(true);
    expect(f.onOutcome('a', false)).toBe(false);
    expect(f.onOutcome('unknown', true)).toBe(false);
    const [d] = f.takeOutcomeDeltas();
    expect(d!.index).toBe(0);
    expect(race(d!.counts, 1, CELL.ADVERSE_REPAID)).toBe(1);
    expect(f.takeOutcomeDeltas()).toEqual([]);
    // Without outcomes to read, nothing is remembered for them.
    const g = new PartitionFairness(0, spec, layout, { ...opts, outcomes: false });
    g.onDemographics(0, 'a', { race: 'B', sex: 'F' }, 100);
    g.onDecision(0, 'a', 'DECLINE', 0.7, 100, 0);
    expect(g.onOutcome('a', false)).toBe(false);
  });

  describe('restart from a checkpoint', () => {
    interface Ev {
      topic: 'd' | 'g';
      offset: number;
      id: string;
      at: number;
    }
    // A partition's two streams: demographics usually a little before the decision, sometimes after.
    function streams(seed: number, n: number): { decisions: Ev[]; demographics: Ev[]; groups: Map<string, { race: string; sex: string }>; p: Map<string, number> } {
      const r = createRng(seed);
      const rng = () => r.next();
      const decisions: Ev[] = [];
      const demographics: Ev[] = [];
      const groups = new Map<string, { race: string; sex: string }>();
      const p = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const id = `app-${i}`;
        const at = i * 37 + Math.floor(rng() * 50);
        groups.set(id, { race: ['W', 'B', 'N'][Math.floor(rng() * 3)]!, sex: rng() < 0.5 ? 'M' : 'F' });
        p.set(id, rng());
        decisions.push({ topic: 'd', offset: i, id, at });
        demographics.push({ topic: 'g', offset: i, id, at });
      }
      return { decisions, demographics, groups, p };
    }
    // Interleaves two streams keeping each in order; `lead` shifts one ahead of the other.
    function interleave(a: Ev[], b: Ev[], rng: () => number): Ev[] {
      const out: Ev[] = [];
      let i = 0;
      let j = 0;
      while (i < a.length || j < b.length) {
        const takeA = j >= b.length || (i < a.length && rng() < 0.5);
        out.push(takeA ? a[i++]! : b[j++]!);
      }
      return out;
    }
    const decisionOf = (p: number) => (p < 0.3 ? 'APPROVE' : p < 0.6 ? 'REVIEW' : 'DECLINE');
    function feed(f: PartitionFairness, evs: Ev[], s: ReturnType<typeof streams>): ClosedFairnessWindow[] {
      const out: ClosedFairnessWindow[] = [];
      for (const e of evs) {
        if (e.topic === 'd') out.push(...f.onDecision(e.offset, e.id, decisionOf(s.p.get(e.id)!), s.p.get(e.id)!, e.at, 0));
        else out.push(...f.onDemographics(e.offset, e.id, s.groups.get(e.id)!, e.at));
      }
      return out;
    }
    const byIndex = (ws: ClosedFairnessWindow[]) => new Map(ws.map((w) => [w.index, Array.from(w.counts)]));

    it('windows before the checkpoint + windows re-read from it = the uninterrupted run, whatever the interleaving', () => {
      for (let seed = 1; seed <= 12; seed++) {
        const s = streams(seed, 400);
        const r = createRng(1000 + seed);
        const rng = () => r.next();
        const whole = feed(new PartitionFairness(0, spec, layout, opts), interleave(s.decisions, s.demographics, rng), s);
        expect(whole.length).toBeGreaterThan(5);
        for (const w of whole) expect(w.counts[layout.unjoinedOffset]).toBe(0);

        const order = interleave(s.decisions, s.demographics, rng);
        const cut = 50 + Math.floor(rng() * (order.length - 100));
        const a = new PartitionFairness(0, spec, layout, opts);
        const before = feed(a, order.slice(0, cut), s);
        const cp: FairnessCheckpoint = a.checkpoint();
        // A new owner re-reads each topic from the checkpoint's offsets, in yet another interleaving.
        const b = new PartitionFairness(0, spec, layout, opts, cp);
        const after = feed(b, interleave(s.decisions.filter((e) => e.offset >= Math.min(cp.offset, cp.through)), s.demographics.filter((e) => e.offset >= Math.max(0, cp.demographicsOffset)), rng), s);

        const merged = [...before, ...after];
        expect(merged.map((w) => w.index)).toEqual(whole.map((w) => w.index));
        expect(byIndex(merged)).toEqual(byIndex(whole));
      }
    });
  });
});
