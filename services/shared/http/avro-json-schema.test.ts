import { Ajv2020 } from 'ajv/dist/2020.js';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../schemas.ts';
import { avroToJsonSchema } from './avro-json-schema.ts';

const ajv = new Ajv2020({ strict: false, allErrors: true });

describe('avroToJsonSchema', () => {
  it('maps primitives, enums, arrays, unions and named references', () => {
    const s = avroToJsonSchema(
      {
        type: 'record',
        name: 'R',
        namespace: 'x',
        fields: [
          { name: 'i', type: 'int' },
          { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
          { name: 'again', type: 'E' },
          { name: 'opt', type: ['null', 'string'], default: null },
          { name: 'list', type: { type: 'array', items: 'double' }, default: [] },
          { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
        ],
      },
      { mode: 'request' },
    );
    const v = ajv.compile(s);
    expect(v({ i: 1, e: 'A', again: 'B', ts: 5 })).toBe(true);
    expect(v({ i: 1.5, e: 'A', again: 'B', ts: 5 })).toBe(false);
    expect(v({ i: 1, e: 'C', again: 'B', ts: 5 })).toBe(false);
    expect(v({ i: 2 ** 31, e: 'A', again: 'B', ts: 5 })).toBe(false);
    expect(v({ i: 1, e: 'A', again: 'B', ts: 5, extra: 1 })).toBe(false);
    expect(v({ i: 1, e: 'A', again: 'B', ts: 5, opt: 'x', list: [1.5] })).toBe(true);
    expect((s as { required: string[] }).required).toEqual(['i', 'e', 'again', 'ts']);
  });

  it('requires every field in a response', () => {
    const s = avroToJsonSchema(loadSchema('dead-letter'), { mode: 'response' }) as { required: string[] };
    expect(s.required).toEqual(loadSchema('dead-letter').fields.map((f) => f.name));
  });

  it('accepts the JSON form of random valid records of every schema in schemas/ that has no bytes', () => {
    for (const name of ['loan-application', 'loan-decision', 'loan-outcome', 'model-update']) {
      const type = avro.Type.forSchema(loadSchema(name) as avro.Schema);
      const v = ajv.compile(avroToJsonSchema(loadSchema(name), { mode: 'response' }));
      for (let i = 0; i < 20; i++) {
        const rec = JSON.parse(JSON.stringify(type.random(), (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))) as unknown;
        // avsc's random unions are wrapped ({ string: ... }) only for non-null branches of wrapped unions; these schemas use none.
        expect(v(rec), `${name}: ${JSON.stringify(v.errors)}`).toBe(true);
      }
    }
  });

  it('refuses a reference to an undefined named type', () => {
    expect(() => avroToJsonSchema({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'Nope' }] }, { mode: 'request' })).toThrow(/Nope/);
  });
});
