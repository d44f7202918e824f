import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { frame } from '../../shared/wire.ts';
import { loadSchema } from '../../shared/schemas.ts';
import { err, ok } from '../../shared/result.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { ScoringLogDecoder } from './record-decoder.ts';

const schema = loadSchema('scoring-log');
const type = avsc.Type.forSchema(schema as unknown as avsc.Schema);
const value = {
  application_id: 'a-1',
  submitted_at: 1_700_000_000_000,
  scored_at: 1_700_000_000_005,
  features: { age: 30 },
  probability_of_default: 0.25,
  predicted_class: 0,
  risk_category: 'LOW',
  decision: 'APPROVE',
  model_name: 'm',
  model_version: '1',
  inference_latency_ms: 1,
  batch_size: 1,
  source_topic: 't',
  source_partition: 0,
  source_offset: 0,
  shadow_model_version: null,
  shadow_probability: null,
};

/** A stand-in for the registry's full decode, recording calls: the fallback path only. */
function fakeRegistry(calls: number[]): AvroRegistry {
  return {
    decode: async (buf: Buffer | null) => {
      calls.push(buf?.readUInt32BE(1) ?? -1);
      if (!buf || buf[0] !== 0) return err({ code: 'DECODE_MAGIC_BYTE', reason: 'x' });
      return buf.readUInt32BE(1) === 7 ? ok({ schemaId: 7, value: type.fromBuffer(buf.subarray(5)) }) : err({ code: 'DECODE_UNKNOWN_SCHEMA', reason: 'x' });
    },
  } as unknown as AvroRegistry;
}

describe('scoring-log decoder', () => {
  it('reads the drift fields synchronously once the schema id is known, asking for the writer schema once', async () => {
    const fetched: number[] = [];
    const calls: number[] = [];
    const d = new ScoringLogDecoder(fakeRegistry(calls), async (id) => (fetched.push(id), id === 7 ? schema : undefined));
    const msg = frame(7, type.toBuffer(value));
    expect(d.trySync(msg)).toBeUndefined();
    expect(await d.decode(msg)).toEqual(ok({ applicationId: 'a-1', eventAt: 1_700_000_000_000, features: { age: 30 }, score: 0.25, decision: 'APPROVE' }));
    expect(d.trySync(msg)).toEqual(ok({ applicationId: 'a-1', eventAt: 1_700_000_000_000, features: { age: 30 }, score: 0.25, decision: 'APPROVE' }));
    expect(fetched).toEqual([7]);
    expect(calls).toEqual([]);
    expect(d.trySync(frame(7, type.toBuffer(value).subarray(0, 10)))).toEqual(err({ reason: 'decode_malformed' }));
  });
  it('falls back to the registry for unknown ids and bad frames, with its reasons', async () => {
    const calls: number[] = [];
    const d = new ScoringLogDecoder(fakeRegistry(calls), async () => undefined);
    expect(await d.decode(frame(9, Buffer.from([1, 2])))).toEqual(err({ reason: 'decode_unknown_schema' }));
    expect(await d.decode(Buffer.from([1, 0, 0, 0, 9]))).toEqual(err({ reason: 'decode_magic_byte' }));
    expect(calls.length).toBe(2);
  });
});
