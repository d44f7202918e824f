import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { SCHEMAS_DIR } from '../../shared/schemas.ts';
import { INITIAL_ALERT_STATE, onWindow } from '../aggregation/alerts.ts';
import {
  aggregatorCheckpointFrom,
  aggregatorMetadata,
  alertStateFrom,
  alertStateJson,
  decodePartial,
  driftAlertValue,
  partitionCheckpointFrom,
  partitionCheckpointMetadata,
  performancePartialValue,
  progressPartialValue,
  retrainAlertValue,
  windowPartialValue,
  windowValue,
} from './codec.ts';
import { evaluateWindow } from '../statistics/evaluate.ts';
import { layoutOf } from './layout.ts';
import { PartitionWindows } from './partition-windows.ts';
import { PerformanceCounts } from '../statistics/performance.ts';
import { syntheticRecord, syntheticReference } from '../../../support/drift-synthetic.ts';

const type = (name: string) => avsc.Type.forSchema(JSON.parse(readFileSync(join(SCHEMAS_DIR, `${name}.avsc`), 'utf8')) as avsc.Schema);
const reference = syntheticReference(8);
const layout = layoutOf(reference);
const ctx = { instance: 'i1', windowing: 'time:size=1000:hop=1000:lateness=0', referenceVersion: reference.version };

function closedWindow() {
  const pw = new PartitionWindows(3, { by: 'time', size: 1000, hop: 1000, lateness: 0 }, layout);
  for (let i = 0; i < 300; i++) {
    const closed = pw.add(syntheticRecord(1, i, i * 10, 0), i);
    if (closed.length) return closed[0]!;
  }
  throw new Error('no window closed');
}

describe('drift-partial values', () => {
  const partial = type('drift-partial');
  it('a closed window survives Avro and decodes to the same counts', () => {
    const w = closedWindow();
    const v = windowPartialValue(w, layout, ctx, 1000);
    const back = partial.fromBuffer(partial.toBuffer(v));
    const d = decodePartial(back, layout);
    expect(d.kind).toBe('WINDOW');
    if (d.kind !== 'WINDOW') return;
    expect(Array.from(d.part.counts)).toEqual(Array.from(w.counts));
    expect(d.part.records).toBe(w.records);
    expect(d.part.partition).toBe(3);
  });
  it('progress and performance survive Avro', () => {
    const pv = progressPartialValue(2, { progress: -Infinity, idle: true, openFrom: 17, late: 4 }, ctx);
    const p = decodePartial(partial.fromBuffer(partial.toBuffer(pv)), layout);
    expect(p).toEqual({ kind: 'PROGRESS', report: { partition: 2, progress: -Infinity, idle: true, openFrom: 17, late: 4 } });
    const c = new PerformanceCounts(50);
    c.add(0.3, true);
    c.add(0.01, false);
    const perf = decodePartial(partial.fromBuffer(partial.toBuffer(performancePartialValue(1, 9, c, ctx, 5))), layout);
    expect(perf.kind === 'PERFORMANCE' && perf.counts).toEqual(c);
  });
  it('refuses counts of another reference layout', () => {
    const other = layoutOf(syntheticReference(99));
    const v = windowPartialValue(closedWindow(), layout, ctx, 1000);
    if (other.size !== layout.size) expect(() => decodePartial(v, other)).toThrow();
    v.histograms[0]!.bins.push(1);
    expect(() => decodePartial(v, layout)).toThrow(/does not match/);
  });
});

describe('drift-window and drift-alert values', () => {
  it('fit their schemas', () => {
    const w = closedWindow();
    const merged = { ...w, counts: Float64Array.from(w.counts), partitions: [3], late: 0, performance: undefined };
    const result = evaluateWindow(merged, layout, reference, { bands: { warn: 0, alert: 0 }, epsilon: 1e-4, minRecords: 1, windowing: ctx.windowing }, 5);
    expect(type('drift-window').isValid(windowValue(result))).toBe(true);
    const { events, retrain } = onWindow(INITIAL_ALERT_STATE, result, { recoveryWindows: 1, retrainMinFeatures: 2 });
    expect(events.length).toBe(result.targets.length);
    const alert = type('drift-alert');
    for (const e of events) expect(alert.isValid(driftAlertValue(e, result, 6))).toBe(true);
    expect(alert.isValid(retrainAlertValue(retrain!, result, 'notify', 'notified', '', 6))).toBe(true);
    expect(new Set(events.map((e) => driftAlertValue(e, result, 6).dedup_key)).size).toBe(events.length);
  });
});

describe('checkpoint metadata', () => {
  it('round-trips a partition checkpoint, and treats missing or foreign metadata as none', () => {
    const cp = { offset: 120, progress: 1_700_000_000_000, seq: 88, through: 400 };
    expect(partitionCheckpointFrom(120, partitionCheckpointMetadata(cp))).toEqual(cp);
    expect(partitionCheckpointFrom(0, partitionCheckpointMetadata({ ...cp, progress: -Infinity }))!.progress).toBe(-Infinity);
    expect(partitionCheckpointFrom(5, null)).toBeUndefined();
    expect(partitionCheckpointFrom(5, 'not json')).toBeUndefined();
  });
  it('round-trips the aggregator checkpoint with the alert state, well under the broker limit of 4096 bytes', () => {
    const a = { offset: 7, lastFinalized: 123456, through: 99, partitions: Array.from({ length: 24 }, (_, p) => ({ partition: p, progress: 1_700_000_000_000 + p, idle: p === 3, openFrom: p === 3 ? 123457 : undefined })) };
    const alerts = { targets: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`feature_number_${i}`, { drifting: true, since: 123400 + i, okStreak: i % 2 }])), retrainEpisode: true };
    const text = aggregatorMetadata(a, alertStateJson(alerts), 'time:size=60000:hop=60000:lateness=5000');
    expect(text.length).toBeLessThan(2048);
    const back = aggregatorCheckpointFrom(7, text)!;
    expect(back.aggregation).toEqual(a);
    expect(alertStateFrom(back.alerts)).toEqual(alerts);
  });
});
