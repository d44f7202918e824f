import { describe, expect, it } from 'vitest';
import { ReferenceSchedule, switchBoundary } from './reference-schedule.ts';
import { PartitionWindows } from '../windows/partition-windows.ts';
import { syntheticReference } from '../../../support/drift-synthetic.ts';
import type { WindowSpec } from '../windows/windows.ts';

const spec: WindowSpec = { by: 'time', size: 30_000, hop: 30_000, lateness: 5000 };
const v1 = { ...syntheticReference(1), version: '1' };
const v2 = { ...syntheticReference(2), version: '2' };
const announce = (reference: typeof v1, announcedAt: number, sha256 = `sha-${reference.version}`) => ({ reference, sha256, announcedAt, action: 'PROMOTE', reason: 'gate passed', by: 'loop' });

describe('reference schedule', () => {
  it('switches at the first window starting at or after the announcement, never inside a window', () => {
    expect(switchBoundary(spec, 60_000)).toBe(2);
    expect(switchBoundary(spec, 60_001)).toBe(3);
    expect(switchBoundary({ by: 'count', size: 100, hop: 100, lateness: 0 }, 60_000)).toBeUndefined();
    const s = new ReferenceSchedule(spec, v1, 'sha-1');
    const out = s.add(announce(v2, 75_000));
    expect(out.added).toBe(true);
    expect([0, 1, 2].map((k) => s.at(k).reference.version)).toEqual(['1', '1', '1']);
    expect([3, 4, 100].map((k) => s.at(k).reference.version)).toEqual(['2', '2', '2']);
    expect(s.at(3).fromWindow).toBe(3);
    expect(s.at(3).layout).not.toBe(s.at(2).layout);
  });

  it('ignores a repeated announcement of the reference in force and lets a rollback switch back', () => {
    const s = new ReferenceSchedule(spec, v1, 'sha-1');
    expect(s.add(announce(v1, 10_000, 'sha-1')).added).toBe(false);
    s.add(announce(v2, 60_000));
    expect(s.add(announce(v2, 90_000)).added).toBe(false);
    expect(s.add({ ...announce(v1, 120_000, 'sha-1'), action: 'ROLLBACK' }).added).toBe(true);
    expect([1, 2, 3, 4].map((k) => s.at(k).reference.version)).toEqual(['1', '2', '2', '1']);
    // v1's bins are compiled once
    expect(s.at(4).layout).toBe(s.at(1).layout);
  });

  it('does not count records of a window that predates the switch over the new bins; a rebuild does', () => {
    const s = new ReferenceSchedule(spec, v1, 'sha-1');
    const pw = new PartitionWindows(0, spec, (k) => s.at(k).layout);
    const rec = (eventAt: number) => ({ applicationId: String(eventAt), eventAt, features: {}, score: 0.2 });
    pw.add(rec(59_000), 0); // window 1
    pw.add(rec(61_000), 1); // window 2, opened on v1
    expect(pw.staleLayouts((k) => s.at(k).layout)).toBe(false);
    s.add(announce(v2, 60_000)); // from window 2 on
    expect(pw.staleLayouts((k) => s.at(k).layout)).toBe(true);
    const rebuilt = new PartitionWindows(0, spec, (k) => s.at(k).layout);
    rebuilt.add(rec(59_000), 0);
    rebuilt.add(rec(61_000), 1);
    const closed = rebuilt.add(rec(200_000), 2);
    expect(closed.map((w) => [w.index, w.layout.version])).toEqual([
      [1, '1'],
      [2, '2'],
    ]);
    expect(rebuilt.staleLayouts((k) => s.at(k).layout)).toBe(false);
  });
});
