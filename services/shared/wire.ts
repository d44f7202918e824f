/** The Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body. Pure. */
import { err, ok, type Result } from './result.ts';

export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

export type FrameError = { readonly code: 'DECODE_MAGIC_BYTE' | 'DECODE_MALFORMED'; readonly reason: string };

export function parseFrame(buf: Buffer | null | undefined): Result<{ schemaId: number; body: Buffer }, FrameError> {
  if (!buf || buf.length === 0) return err({ code: 'DECODE_MALFORMED', reason: 'empty message value (null or zero bytes)' });
  if (buf[0] !== MAGIC_BYTE) {
    return err({ code: 'DECODE_MAGIC_BYTE', reason: `first byte is 0x${buf[0]!.toString(16).padStart(2, '0')}, expected magic byte 0x00 (Confluent wire format)` });
  }
  if (buf.length < HEADER_LENGTH) return err({ code: 'DECODE_MALFORMED', reason: `message is ${buf.length} bytes, shorter than the 5-byte wire-format header` });
  return ok({ schemaId: buf.readUInt32BE(1), body: buf.subarray(HEADER_LENGTH) });
}

export function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_LENGTH);
  return out;
}
