import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, loadSchema } from '../shared/schemas.ts';
import { applicationSchema, FEATURE_RULES, validateApplication } from './validate.ts';

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

describe('the compiled fast path agrees with zod', () => {
  it('accepts and rejects exactly what zod does, on 20,000 random and edge-case applications', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const edges: Record<string, unknown[]> = {
      age: [17, 18, 18.5, 40, 120, 121, Number.NaN, '40', undefined, null],
      annual_income: [0, -0, 1e-9, 50_000, Number.POSITIVE_INFINITY, -1, Number.NaN],
      debt_to_income_ratio: [-0.0001, 0, 0.5, 10, 10.0001, Number.NaN],
      credit_history_length: [-1, 0, 5, 22, 23, 102, 2.5],
      num_open_accounts: [-1, 0, 3, 1.5],
      num_late_payments: [-1, 0, 2, Number.NEGATIVE_INFINITY],
      loan_amount: [0, 0.01, 10_000, Number.NaN, -5],
      application_id: ['', 'a', 'x'.repeat(128), 'x'.repeat(129), 42],
      submitted_at: [-1, 0, 1_700_000_000_000, 1.5, Number.POSITIVE_INFINITY],
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
