import { describe, expect, it } from 'vitest';
import { accumulate, layoutOf } from './layout.ts';
import { PartitionWindows, type ClosedWindow } from './partition-windows.ts';
import { syntheticRecord, syntheticReference } from '../../../support/drift-synthetic.ts';
import { windowEnd, windowStart, type WindowSpec } from './windows.ts';

const layout = layoutOf(syntheticReference(5));

/** Event times in order with some disorder: record i at 100·i ms, every 10th one 2.5 s early. */
const eventAt = (i: number) => 100 * i - (i % 10 === 0 ? 2500 : 0);
const record = (i: number) => syntheticRecord(9, i, eventAt(i));

function run(spec: WindowSpec, n: number, from = 0, pw = new PartitionWindows(0, spec, layout)): { closed: ClosedWindow[]; pw: PartitionWindows } {
  const closed: ClosedWindow[] = [];
  for (let i = from; i < n; i++) closed.push(...pw.add(record(i), i));
  return { closed, pw };
}

describe('partition windows', () => {
  const tumbling: WindowSpec = { by: 'time', size: 10_000, hop: 10_000, lateness: 3000 };
  const hopping: WindowSpec = { by: 'time', size: 10_000, hop: 2500, lateness: 1000 };
  const counting: WindowSpec = { by: 'count', size: 400, hop: 100, lateness: 0 };

  it('closes each window once with the counts of exactly the records that were in time for it', () => {
    for (const spec of [tumbling, hopping]) {
      const { closed } = run(spec, 3000);
      expect(new Set(closed.map((w) => w.index)).size).toBe(closed.length);
      for (const w of closed) {
        // In time: inside [start, end) and seen before progress passed end + lateness.
        let maxSeen = -Infinity;
        const members: number[] = [];
        for (let i = 0; i < 3000; i++) {
          const t = eventAt(i);
          if (t >= windowStart(spec, w.index) && t < windowEnd(spec, w.index) && maxSeen < windowEnd(spec, w.index) + spec.lateness) members.push(i);
          maxSeen = Math.max(maxSeen, t);
        }
        const direct = new Uint32Array(layout.size);
        for (const i of members) accumulate(direct, layout, record(i));
        expect(w.records, `${spec.hop} window ${w.index}`).toBe(members.length);
        expect(w.counts).toEqual(direct);
      }
    }
  });

  it('counts late records (all windows closed) instead of dropping them silently', () => {
    const spec: WindowSpec = { by: 'time', size: 10_000, hop: 10_000, lateness: 1000 };
    const { pw } = run(spec, 3000);
    // Every 10th record is 2.5 s early; with 1 s lateness those just after a window boundary miss it.
    expect(pw.takeLate()).toBeGreaterThan(0);
    expect(pw.takeLate()).toBe(0);
  });

  it('count windows hold `size` consecutive records of the partition, hopping by `hop`, none starting before the first', () => {
    const { closed } = run(counting, 2000);
    expect(closed.map((w) => w.index)).toEqual(Array.from({ length: closed.length }, (_, k) => k));
    for (const w of closed) {
      const direct = new Uint32Array(layout.size);
      for (let i = w.index * 100; i < w.index * 100 + 400; i++) accumulate(direct, layout, record(i));
      expect(w.records).toBe(400);
      expect(w.counts).toEqual(direct);
    }
  });

  it('restarting from any checkpoint reproduces every window that closes afterwards', () => {
    for (const spec of [tumbling, hopping, counting]) {
      const whole = run(spec, 3000).closed;
      for (const cut of [1, 555, 1234, 2999]) {
        const first = run(spec, cut);
        const cp = first.pw.checkpoint();
        expect(cp.offset).toBeLessThanOrEqual(cut);
        // The process dies here; a new one resumes from the checkpoint and re-reads from its offset.
        const resumed = run(spec, 3000, cp.offset, new PartitionWindows(0, spec, layout, cp)).closed;
        const expected = whole.filter((w) => !first.closed.some((c) => c.index === w.index));
        expect(resumed.map((w) => w.index), `${spec.by}/${spec.hop} cut ${cut}`).toEqual(expected.map((w) => w.index));
        resumed.forEach((w, i) => {
          expect(w.records).toBe(expected[i]!.records);
          expect(w.counts).toEqual(expected[i]!.counts);
        });
      }
    }
  });

  it('re-reading after a restart does not count the same records as late twice', () => {
    const spec: WindowSpec = { by: 'time', size: 10_000, hop: 10_000, lateness: 1000 };
    const first = run(spec, 1500);
    const lateBefore = first.pw.takeLate();
    const cp = first.pw.checkpoint();
    const again = run(spec, 1500, cp.offset, new PartitionWindows(0, spec, layout, cp));
    expect(lateBefore).toBeGreaterThan(0);
    expect(again.pw.takeLate()).toBe(0);
  });
});
