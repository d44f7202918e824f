import { describe, expect, it } from 'vitest';
import { frame, parseFrame } from './wire.ts';

describe('Confluent wire format', () => {
  it('round-trips schema id and body', () => {
    const f = parseFrame(frame(123456, Buffer.from([1, 2, 3])));
    expect(f.ok && f.value.schemaId).toBe(123456);
    expect(f.ok && [...f.value.body]).toEqual([1, 2, 3]);
  });
  it('names a wrong magic byte', () => {
    const f = parseFrame(Buffer.from([7, 0, 0, 0, 1, 9]));
    expect(f).toEqual({ ok: false, error: { code: 'DECODE_MAGIC_BYTE', reason: expect.stringContaining('0x07') } });
  });
  it('rejects empty and truncated messages as malformed', () => {
    expect(parseFrame(null).ok).toBe(false);
    expect(parseFrame(Buffer.alloc(0))).toMatchObject({ error: { code: 'DECODE_MALFORMED' } });
    expect(parseFrame(Buffer.from([0, 0, 1]))).toMatchObject({ error: { code: 'DECODE_MALFORMED' } });
  });
});
