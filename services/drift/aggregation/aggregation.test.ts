import { describe, expect, it } from 'vitest';
import { Aggregation, type ProgressReport } from './aggregation.ts';
import { layoutOf } from '../windows/layout.ts';
import { PartitionWindows, type ClosedWindow } from '../windows/partition-windows.ts';
import { PerformanceCounts } from '../statistics/performance.ts';
import { syntheticRecord, syntheticReference } from '../../../support/drift-synthetic.ts';
import type { WindowSpec } from '../windows/windows.ts';

const layout = layoutOf(syntheticReference(2));
const spec: WindowSpec = { by: 'time', size: 10_000, hop: 5000, lateness: 1000 };
const P = 4;

type Msg = { kind: 'window'; w: ClosedWindow } | { kind: 'progress'; r: ProgressReport };

/** Per partition: records spread over partitions like a keyed producer would; returns the messages each partition's owner sends. */
function partitionMessages(n: number): Msg[][] {
  const out: Msg[][] = Array.from({ length: P }, () => []);
  const pws = Array.from({ length: P }, (_, p) => new PartitionWindows(p, spec, layout));
  for (let i = 0; i < n; i++) {
    const p = (i * 7919) % P;
    const closed = pws[p]!.add(syntheticRecord(4, i, 40 * i + (i % 13) * 50), i);
    for (const w of closed) out[p]!.push({ kind: 'window', w });
    if (closed.length) out[p]!.push({ kind: 'progress', r: { partition: p, progress: pws[p]!.progress, idle: false, openFrom: pws[p]!.openFrom, late: pws[p]!.takeLate() } });
  }
  return out;
}

/** Interleaves the partitions' message streams (each kept in order), as a single partials partition would. */
function interleave(streams: Msg[][], seed: number): Msg[] {
  const idx = streams.map(() => 0);
  const out: Msg[] = [];
  let s = seed;
  while (idx.some((i, p) => i < streams[p]!.length)) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const p = s % streams.length;
    if (idx[p]! < streams[p]!.length) out.push(streams[p]![idx[p]!++]!);
  }
  return out;
}

function feed(agg: Aggregation, msgs: Msg[], from = 0) {
  const finalized = [];
  for (let o = from; o < msgs.length; o++) {
    const m = msgs[o]!;
    if (m.kind === 'window') agg.onWindow(m.w, o);
    else agg.onProgress(m.r, o);
    finalized.push(...agg.finalize());
  }
  return finalized;
}

describe('aggregation', () => {
  const streams = partitionMessages(6000);
  const expected = new Map<number, { counts: Float64Array; records: number }>();
  for (const s of streams) {
    for (const m of s) {
      if (m.kind !== 'window') continue;
      const e = expected.get(m.w.index) ?? { counts: new Float64Array(layout.size), records: 0 };
      m.w.counts.forEach((c, i) => (e.counts[i]! += c));
      e.records += m.w.records;
      expected.set(m.w.index, e);
    }
  }

  it('finalizes each window once, in order, with the sum of all partitions, whatever the interleaving', () => {
    for (const seed of [1, 2, 3]) {
      const agg = new Aggregation(spec, layout.size, P);
      const out = feed(agg, interleave(streams, seed));
      expect(out.map((w) => w.index)).toEqual([...out.map((w) => w.index)].sort((a, b) => a - b));
      expect(out.length).toBeGreaterThan(40);
      for (const w of out) {
        expect(w.records).toBe(expected.get(w.index)!.records);
        expect(w.counts).toEqual(expected.get(w.index)!.counts);
        expect(w.partitions).toEqual([0, 1, 2, 3]);
      }
    }
  });

  it('waits for a partition that has not reported, and not for an idle one without open windows', () => {
    const agg = new Aggregation(spec, layout.size, P + 1);
    expect(feed(agg, interleave(streams, 4))).toEqual([]);
    agg.onProgress({ partition: P, progress: -Infinity, idle: true, openFrom: undefined, late: 0 }, 1e6);
    expect(agg.finalize().length).toBeGreaterThan(40);
  });

  it('an idle partition with an open window holds back that window and later ones only', () => {
    const agg = new Aggregation(spec, layout.size, P + 1);
    const msgs = interleave(streams, 5);
    feed(agg, msgs);
    const windows = [...expected.keys()].sort((a, b) => a - b);
    const holdAt = windows[10]!;
    agg.onProgress({ partition: P, progress: -Infinity, idle: true, openFrom: holdAt, late: 0 }, 1e6);
    expect(agg.finalize().map((w) => w.index)).toEqual(windows.slice(0, 10));
  });

  it('merges a duplicated part once and counts a part for a finalized window as late', () => {
    const msgs = interleave(streams, 6);
    const firstWindow = msgs.find((m) => m.kind === 'window') as { kind: 'window'; w: ClosedWindow };
    const agg = new Aggregation(spec, layout.size, P);
    const out = feed(agg, [...msgs, firstWindow]);
    expect(out.find((w) => w.index === firstWindow.w.index)!.records).toBe(expected.get(firstWindow.w.index)!.records);
    expect(agg.onWindow(firstWindow.w, msgs.length + 1)).toBe('duplicate');
    expect(agg.onWindow({ ...firstWindow.w, partition: 9 }, msgs.length + 2)).toBe('late');
    expect(agg.lateTotal).toBe(firstWindow.w.records);
  });

  it('a restarted aggregator re-reading from its checkpoint finalizes the same remaining windows', () => {
    const msgs = interleave(streams, 7);
    const whole = feed(new Aggregation(spec, layout.size, P), msgs);
    for (const cut of [10, Math.floor(msgs.length / 2), msgs.length - 3]) {
      const first = new Aggregation(spec, layout.size, P);
      const before = feed(first, msgs.slice(0, cut));
      const cp = first.checkpoint();
      const again = new Aggregation(spec, layout.size, P, cp);
      const after = feed(again, msgs, cp.offset);
      expect([...before, ...after].map((w) => w.index), `cut ${cut}`).toEqual(whole.map((w) => w.index));
      after.forEach((w) => expect(w.counts).toEqual(whole.find((x) => x.index === w.index)!.counts));
    }
  });

  it('adds performance deltas to pending windows and reports finalized ones', () => {
    const agg = new Aggregation(spec, layout.size, 1);
    const d = new PerformanceCounts(10);
    d.add(0.3, true);
    expect(agg.onPerformance(5, d, 0)).toBe('pending');
    agg.onWindow({ partition: 0, index: 5, counts: new Float64Array(layout.size), records: 0, firstEventAt: 0, lastEventAt: 0 }, 1);
    agg.onProgress({ partition: 0, progress: 1e9, idle: false, openFrom: undefined, late: 0 }, 2);
    const [w] = agg.finalize();
    expect(w!.performance!.labelled).toBe(1);
    expect(agg.onPerformance(5, d, 3)).toBe('finalized');
  });
});
