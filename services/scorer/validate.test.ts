import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, loadSchema } from '../shared/schemas.ts';
import { compileInputBounds, DEFAULT_INPUT_BOUNDS } from '../shared/input-bounds.ts';
import { parseEnv } from '../shared/config.ts';
import { inputBoundsEnv } from '../shared/input-bounds.ts';
import { applicationSchema, buildValidator, FEATURE_RULES, validateApplication } from './validate.ts';

const good = {
  application_id: 'app-1',
  submitted_at: 1_700_000_000_000,
  age: 40,
  annual_income: 55_000,
  debt_to_income_ratio: 0.35,
  credit_history_length: 12,
  num_open_accounts: 4,
  num_late_payments: 1,
  loan_amount: 12_000,
};

function fieldErrors(input: unknown) {
  const r = validateApplication(input);
  if (r.ok) throw new Error('expected a validation error');
  return r.error;
}

describe('validateApplication', () => {
  it('accepts a valid application and returns its features in schema order', () => {
    const r = validateApplication(good);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.value.features)).toEqual([...FEATURE_NAMES]);
      expect(r.value.features.age).toBe(40);
    }
  });

  it.each([
    ['age', 17, 'min'],
    ['age', 121, 'max'],
    ['age', 40.5, 'integer'],
    ['annual_income', 0, 'gt'],
    ['annual_income', -5, 'gt'],
    ['debt_to_income_ratio', -0.1, 'min'],
    ['debt_to_income_ratio', 10.01, 'max'],
    ['num_open_accounts', -1, 'min'],
    ['num_late_payments', -2, 'min'],
    ['loan_amount', 0, 'gt'],
    ['loan_amount', Number.NaN, 'finite'],
    ['annual_income', Number.POSITIVE_INFINITY, 'finite'],
    ['debt_to_income_ratio', '0.3', 'type'],
  ])('rejects %s = %s naming the field and rule %s', (field, value, rule) => {
    const errors = fieldErrors({ ...good, [field]: value });
    const e = errors.find((x) => x.field === field);
    expect(e, JSON.stringify(errors)).toBeDefined();
    if (rule === 'integer') expect(e!.message).toMatch(/whole number/);
    else expect(e!.rule).toBe(rule);
  });

  it('rejects a credit history longer than age - 18 on credit_history_length', () => {
    const errors = fieldErrors({ ...good, age: 25, credit_history_length: 8 });
    expect(errors).toEqual([{ field: 'credit_history_length', rule: 'history_le_age_minus_18', message: 'must be at most age - 18 (7), got 8' }]);
  });

  it('accepts a credit history of exactly age - 18', () => {
    expect(validateApplication({ ...good, age: 25, credit_history_length: 7 }).ok).toBe(true);
  });

  it('names every missing field', () => {
    const { loan_amount: _a, age: _b, ...rest } = good;
    const errors = fieldErrors(rest);
    expect(errors.filter((e) => e.rule === 'required').map((e) => e.field).sort()).toEqual(['age', 'loan_amount']);
  });

  it('rejects an empty application id and non-objects', () => {
    expect(fieldErrors({ ...good, application_id: '' })[0]!.field).toBe('application_id');
    expect(fieldErrors(null)[0]!.field).toBe('(record)');
  });

  it('has rules for exactly the schema features, with integer rules on int fields', () => {
    expect(Object.keys(FEATURE_RULES).sort()).toEqual([...FEATURE_NAMES].sort());
    const types = Object.fromEntries(loadSchema('loan-application').fields.map((f) => [f.name, f.type]));
    for (const f of FEATURE_NAMES) expect(FEATURE_RULES[f]!.isInt, f).toBe(types[f] === 'int');
  });
});

describe('sanity bounds (schemas/input-bounds.json)', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);

  it('documents its defaults: submitted_at from 2000-01-01 to now + 5 minutes, amounts up to 1e8, counts up to 1000', () => {
    expect(DEFAULT_INPUT_BOUNDS.earliestSubmittedAtMs).toBe(Date.UTC(2000, 0, 1));
    expect(DEFAULT_INPUT_BOUNDS.maxSkewMs).toBe(300_000);
    expect(DEFAULT_INPUT_BOUNDS.featureMax).toEqual({ annual_income: 1e8, loan_amount: 1e8, num_open_accounts: 1000, num_late_payments: 1000 });
  });

  it('accepts submitted_at at both ends of [earliest, now + skew] and dead-letters just outside, naming the rule', () => {
    const v = buildValidator();
    expect(v({ ...good, submitted_at: Date.UTC(2000, 0, 1) }, now).ok).toBe(true);
    expect(v({ ...good, submitted_at: now + 300_000 }, now).ok).toBe(true);
    const future = v({ ...good, submitted_at: Date.UTC(2500, 0, 1) }, now);
    expect(future.ok).toBe(false);
    if (!future.ok) {
      expect(future.error).toHaveLength(1);
      expect(future.error[0]).toMatchObject({ field: 'submitted_at', rule: 'not_after_now_plus_skew' });
      expect(future.error[0]!.message).toContain('SUBMITTED_AT_MAX_SKEW');
      expect(future.error[0]!.message).toContain('2500-01-01T00:00:00.000Z');
    }
    const past = v({ ...good, submitted_at: Date.UTC(1971, 0, 1) }, now);
    expect(past.ok).toBe(false);
    if (!past.ok) expect(past.error).toEqual([{ field: 'submitted_at', rule: 'not_before_earliest', message: 'must not be before 2000-01-01T00:00:00.000Z (SUBMITTED_AT_EARLIEST)' }]);
    expect(v({ ...good, submitted_at: now + 300_001 }, now).ok).toBe(false);
    // Around 2^53 ms (year ~285,000): rejected without a date that cannot be printed.
    const huge = v({ ...good, submitted_at: Number.MAX_SAFE_INTEGER }, now);
    expect(huge.ok).toBe(false);
  });

  it.each([
    ['annual_income', 1e8 + 1, 'MAX_ANNUAL_INCOME'],
    ['loan_amount', 1e8 + 1, 'MAX_LOAN_AMOUNT'],
    ['num_open_accounts', 1001, 'MAX_OPEN_ACCOUNTS'],
    ['num_late_payments', 2 ** 31 - 1, 'MAX_LATE_PAYMENTS'],
  ])('dead-letters %s = %s above its maximum, naming %s', (field, value, variable) => {
    const r = validateApplication({ ...good, [field]: value });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toHaveLength(1);
      expect(r.error[0]).toMatchObject({ field, rule: 'max' });
      expect(r.error[0]!.message).toContain(variable);
    }
    expect(validateApplication({ ...good, [field]: DEFAULT_INPUT_BOUNDS.featureMax[field] }).ok).toBe(true);
  });

  it('takes configured bounds from the environment, and names a bad variable', () => {
    const bounds = compileInputBounds(parseEnv(inputBoundsEnv, { SUBMITTED_AT_EARLIEST: '2020-06-01', SUBMITTED_AT_MAX_SKEW: '1s', MAX_LATE_PAYMENTS: '10' }));
    const v = buildValidator(bounds);
    expect(v({ ...good, submitted_at: Date.UTC(2020, 4, 31) }, now).ok).toBe(false);
    expect(v({ ...good, submitted_at: now + 1000 }, now).ok).toBe(true);
    expect(v({ ...good, submitted_at: now + 1001 }, now).ok).toBe(false);
    expect(v({ ...good, num_late_payments: 11 }, now).ok).toBe(false);
    expect(() => parseEnv(inputBoundsEnv, { SUBMITTED_AT_EARLIEST: 'yesterday' })).toThrow(/SUBMITTED_AT_EARLIEST/);
    expect(() => parseEnv(inputBoundsEnv, { MAX_LOAN_AMOUNT: '-1' })).toThrow(/MAX_LOAN_AMOUNT/);
  });
});

describe('the compiled fast path agrees with zod', () => {
  it('accepts and rejects exactly what zod does, on 20,000 random and edge-case applications', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const edges: Record<string, unknown[]> = {
      age: [17, 18, 18.5, 40, 120, 121, Number.NaN, '40', undefined, null],
      annual_income: [0, -0, 1e-9, 50_000, 1e8, 1e8 + 0.01, Number.POSITIVE_INFINITY, -1, Number.NaN],
      debt_to_income_ratio: [-0.0001, 0, 0.5, 10, 10.0001, Number.NaN],
      credit_history_length: [-1, 0, 5, 22, 23, 102, 2.5],
      num_open_accounts: [-1, 0, 3, 1.5, 1000, 1001],
      num_late_payments: [-1, 0, 2, Number.NEGATIVE_INFINITY, 1000, 2 ** 31],
      loan_amount: [0, 0.01, 10_000, Number.NaN, -5, 1e8, 1e9],
      application_id: ['', 'a', 'x'.repeat(128), 'x'.repeat(129), 42],
      submitted_at: [-1, 0, 946_684_799_999, 946_684_800_000, 1_700_000_000_000, 1.5, Number.POSITIVE_INFINITY],
    };
    let fastAccepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const app: Record<string, unknown> = { ...good };
      for (const [field, values] of Object.entries(edges)) if (rand() < 0.15) app[field] = pick(values);
      if (rand() < 0.3) app.age = 18 + Math.floor(rand() * 60);
      const viaZod = applicationSchema.safeParse(app).success;
      const r = validateApplication(app);
      expect(r.ok, JSON.stringify(app)).toBe(viaZod);
      if (r.ok) {
        fastAccepted++;
        expect(r.value.features).toEqual(Object.fromEntries(FEATURE_NAMES.map((f) => [f, app[f]])));
      }
    }
    expect(fastAccepted).toBeGreaterThan(1000);
    expect(fastAccepted).toBeLessThan(19_000);
  });
});
