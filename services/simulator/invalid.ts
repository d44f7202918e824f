/**
 * Deliberately bad input for testing the dead-letter path, one builder per kind. Pure: given a valid
 * application and a way to encode a value with the registered schema, returns the message bytes.
 */
import { frame } from '../shared/wire.ts';

export const INVALID_KINDS = [
  'age_out_of_range',
  'negative_income',
  'dti_out_of_range',
  'history_exceeds_age',
  'non_finite_amount',
  'garbage_bytes',
  'wrong_magic_byte',
  'unknown_schema_id',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** The dead-letter error code each kind must produce. */
export const EXPECTED_CODE: Readonly<Record<InvalidKind, string>> = {
  age_out_of_range: 'VALIDATION_FAILED',
  negative_income: 'VALIDATION_FAILED',
  dti_out_of_range: 'VALIDATION_FAILED',
  history_exceeds_age: 'VALIDATION_FAILED',
  non_finite_amount: 'VALIDATION_FAILED',
  garbage_bytes: 'DECODE_MALFORMED',
  wrong_magic_byte: 'DECODE_MAGIC_BYTE',
  unknown_schema_id: 'DECODE_UNKNOWN_SCHEMA',
};

/** A schema id no registry will have handed out. */
export const UNKNOWN_SCHEMA_ID = 2_147_483_647;

export type Application = Record<string, string | number>;

export function invalidMessage(kind: InvalidKind, app: Application, encode: (value: Application) => Buffer): Buffer {
  switch (kind) {
    case 'age_out_of_range':
      return encode({ ...app, age: 15, credit_history_length: 0 });
    case 'negative_income':
      return encode({ ...app, annual_income: -1200 });
    case 'dti_out_of_range':
      return encode({ ...app, debt_to_income_ratio: 12.5 });
    case 'history_exceeds_age':
      return encode({ ...app, credit_history_length: Number(app.age) - 18 + 3 });
    case 'non_finite_amount':
      return encode({ ...app, loan_amount: Number.NaN });
    case 'garbage_bytes': {
      // A valid header, then bytes that are not Avro for that schema (a string length far past the end).
      const valid = encode(app);
      return frame(valid.readUInt32BE(1), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f, 0x41, 0x42]));
    }
    case 'wrong_magic_byte': {
      const b = Buffer.from(encode(app));
      b[0] = 0x01;
      return b;
    }
    case 'unknown_schema_id': {
      const b = Buffer.from(encode(app));
      b.writeUInt32BE(UNKNOWN_SCHEMA_ID, 1);
      return b;
    }
  }
}

/**
 * Whether message i of a stream is one of the invalid ones, spread evenly so that exactly
 * floor(n * share) of the first n are invalid.
 */
export function isInvalidIndex(i: number, share: number): boolean {
  return Math.floor((i + 1) * share) > Math.floor(i * share);
}

