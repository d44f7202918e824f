import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { aliasWriterNamespaces, compileIntRangeCheck, locateFault, namedTypesOf, planReader, readerSchemas } from './avro-read.ts';
import { loadSchema } from './schemas.ts';

const APP = 'com.creditrisk.v1.LoanApplication';
const base = loadSchema('loan-application');
const good = {
  application_id: 'a-1',
  submitted_at: 1_700_000_000_000,
  age: 40,
  annual_income: 55_000,
  debt_to_income_ratio: 0.35,
  credit_history_length: 12,
  num_open_accounts: 4,
  num_late_payments: 1,
  loan_amount: 12_000,
};
const writer = (schema: object) => avsc.Type.forSchema(schema as avsc.Schema);

describe('planReader (Avro schema resolution to schemas/*.avsc)', () => {
  it('indexes every record of schemas/ by full name', () => {
    expect(readerSchemas().has(APP)).toBe(true);
    expect(readerSchemas().has('com.creditrisk.v1.ScoringLogRecord')).toBe(true);
  });

  it('reads the reader schema itself directly, without a resolver', () => {
    const p = planReader(writer(base), APP);
    expect(p.ok && !p.resolved).toBe(true);
    if (p.ok) expect(p.read(writer(base).toBuffer(good))).toEqual(good);
  });

  it('reads a writer with an added optional field into the reader shape (the field dropped)', () => {
    const w = writer({ ...base, fields: [...base.fields, { name: 'channel', type: ['null', 'string'], default: null }] });
    const p = planReader(w, APP);
    expect(p.ok && p.resolved).toBe(true);
    if (p.ok) expect(p.read(w.toBuffer({ ...good, channel: 'web' }))).toEqual(good);
  });

  it('reads a record renamed to another namespace that keeps the old name as an alias', () => {
    const w = writer({ ...base, namespace: 'com.creditrisk.v2', aliases: [APP] });
    const p = planReader(w, APP);
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.read(w.toBuffer(good))).toEqual(good);
  });

  it('refuses a writer without a field the reader needs, with the resolver\'s reason', () => {
    const w = writer({ ...base, fields: base.fields.filter((f) => f.name !== 'loan_amount') });
    const p = planReader(w, APP);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(/cannot be read as com\.creditrisk\.v1\.LoanApplication by Avro schema resolution: .*loan_amount/);
  });

  it('refuses another record with no alias to the reader', () => {
    const p = planReader(writer(loadSchema('loan-outcome')), APP);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(/no alias found/);
  });
});

describe('strict ints and longs', () => {
  it('names an int beyond 32 bits that avsc reads without complaint', () => {
    const asLong = writer({ ...base, fields: base.fields.map((f) => (f.name === 'num_late_payments' ? { ...f, type: 'long' } : f)) });
    const bytes = asLong.toBuffer({ ...good, num_late_payments: 2 ** 31 });
    const read = writer(base).fromBuffer(bytes) as Record<string, number>;
    expect(read.num_late_payments).toBe(2 ** 31); // what avsc does on its own
    const check = compileIntRangeCheck(writer(base))!;
    expect(check(read)).toBe('num_late_payments');
    expect(check({ ...good, num_late_payments: -(2 ** 31) })).toBeUndefined();
    expect(check({ ...good, age: -(2 ** 31) - 1 })).toBe('age');
    expect(check(good)).toBeUndefined();
  });

  it('checks ints inside nested records, arrays and nullable unions', () => {
    const t = writer({ type: 'record', name: 'O', fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }, { name: 'n', type: ['null', 'int'] }, { name: 'r', type: { type: 'record', name: 'I', fields: [{ name: 'k', type: 'int' }] } }] });
    const check = compileIntRangeCheck(t)!;
    expect(check({ xs: [1, 2 ** 32], n: null, r: { k: 1 } })).toBe('xs[]');
    expect(check({ xs: [], n: 2 ** 40, r: { k: 1 } })).toBe('n');
    expect(check({ xs: [], n: null, r: { k: 2 ** 33 } })).toBe('r.k');
    expect(check({ xs: [1], n: 3, r: { k: 1 } })).toBeUndefined();
  });

  it('locates the field of a long beyond 2^53 (avsc: "potential precision loss")', () => {
    const body = Buffer.concat([avsc.Type.forSchema('string').toBuffer('a-1'), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    expect(() => writer(base).fromBuffer(Buffer.concat([body, Buffer.alloc(40)]))).toThrow(/precision loss/);
    expect(locateFault(writer(base), body)).toBe('submitted_at');
  });
});

describe('Avro names: a writer in another namespace resolves by unqualified name (the specification)', () => {
  const ALERT = 'com.creditrisk.v1.DriftAlert';
  const alertSchema = loadSchema('drift-alert');

  it('reads a namespace copy of the loan application, without an alias', () => {
    const w = writer({ ...base, namespace: 'com.upstream.generated' });
    const p = planReader(w, APP);
    expect(p.ok, p.ok ? '' : p.reason).toBe(true);
    if (p.ok) expect(p.read(w.toBuffer(good))).toEqual(good);
  });

  it('reads a copy in no namespace at all', () => {
    const { namespace: _ns, ...noNamespace } = base as typeof base & { namespace?: string };
    const w = writer(noNamespace);
    const p = planReader(w, APP);
    expect(p.ok, p.ok ? '' : p.reason).toBe(true);
    if (p.ok) expect(p.read(w.toBuffer(good))).toEqual(good);
  });

  it('nested named types (enums here) move with the namespace and resolve too', () => {
    const w = writer({ ...alertSchema, namespace: 'org.other.team' });
    expect([...namedTypesOf(w).keys()]).toEqual(expect.arrayContaining(['org.other.team.DriftAlert', 'org.other.team.DriftAlertKind', 'org.other.team.DriftSeverity']));
    const p = planReader(w, ALERT);
    expect(p.ok, p.ok ? '' : p.reason).toBe(true);
    const sample = writer(alertSchema).random() as unknown as Record<string, unknown>;
    if (p.ok) expect(p.read(w.toBuffer(sample))).toEqual(writer(alertSchema).fromBuffer(writer(alertSchema).toBuffer(sample)));
  });

  it('still refuses a record of another unqualified name, and a namespace copy that does not resolve', () => {
    expect(planReader(writer({ ...base, name: 'CreditApplication', namespace: 'com.upstream' }), APP).ok).toBe(false);
    const missing = writer({ ...base, namespace: 'com.upstream', fields: base.fields.filter((f) => f.name !== 'age') });
    const p = planReader(missing, APP);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(/age/);
  });

  it('aliasWriterNamespaces adds aliases only where the unqualified name and kind match', () => {
    const same = aliasWriterNamespaces(alertSchema as unknown as Record<string, unknown>, new Map([['com.creditrisk.v1.DriftAlert', 'record']]));
    expect(same).toBe(alertSchema);
    const moved = aliasWriterNamespaces(alertSchema as unknown as Record<string, unknown>, new Map([['x.DriftAlert', 'record'], ['x.DriftSeverity', 'enum'], ['x.DriftAlertKind', 'record']])) as { aliases: string[]; fields: { name: string; type: { aliases?: string[] } }[] };
    expect(moved.aliases).toEqual(['x.DriftAlert']);
    expect(moved.fields.find((f) => f.name === 'severity')!.type.aliases).toEqual(['x.DriftSeverity']);
    expect(moved.fields.find((f) => f.name === 'kind')!.type.aliases).toBeUndefined();
  });
});
