/**
 * The TypeScript interpreter of schemas/population.json against the Python one, through the fixture
 * test/fixtures/population-golden.json (written by `python -m pipeline.population.fixture`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateApplication } from '../scorer/validate.ts';
import { FEATURE_NAMES, REPO_ROOT } from '../shared/schemas.ts';
import {
  affectedByShock,
  applyShock,
  checkSpec,
  defaultProbability,
  featureNames,
  generateApplication,
  type GeneratedApplication,
  type PopulationSpec,
} from './population.ts';
import { createRng, type Rng } from './rng.ts';

interface Stats {
  rows: number;
  default_rate: number;
  default_rate_sd: number;
  features: Record<string, { mean: number; sd: number; quantiles: number[] }>;
}
interface Fixture {
  spec_sha256: string;
  feature_names: string[];
  golden: { rows: number[][]; probabilities: number[]; shocked_spec_probabilities: number[] };
  quantile_levels: number[];
  reference: { base: Stats; shock: Stats };
}

const specText = readFileSync(join(REPO_ROOT, 'schemas', 'population.json'), 'utf8');
const spec = JSON.parse(specText) as PopulationSpec;
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'population-golden.json'), 'utf8')) as Fixture;
const N = 50_000;
const T0 = Date.UTC(2025, 0, 1);

function generate(rng: Rng, n: number, shock: boolean): GeneratedApplication[] {
  return Array.from({ length: n }, (_, i) => generateApplication(rng, spec, { shock, submittedAt: T0 + i * 1000, applicationId: `app-${i}` }));
}

const column = (rows: readonly GeneratedApplication[], name: string): number[] => rows.map((r) => r[name] as number);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const base = generate(createRng(1), N, false);
const shocked = generate(createRng(2), N, true);

/** |TS mean - Python mean| within 4.5 standard errors of the difference. */
function expectMeanMatches(xs: readonly number[], ref: { mean: number; sd: number }, refRows: number, label: string): void {
  const se = ref.sd * Math.sqrt(1 / xs.length + 1 / refRows);
  expect(Math.abs(mean(xs) - ref.mean), `${label} mean ${mean(xs)} vs Python ${ref.mean}`).toBeLessThanOrEqual(4.5 * se + 1e-12);
}

/**
 * Python's q-quantile v must be a q-quantile of the TS sample too: P(X < v) <= q <= P(X <= v), up to
 * a tolerance that covers both samples' noise (works for discrete features as well).
 */
function expectQuantilesMatch(xs: readonly number[], ref: { quantiles: number[] }, label: string): void {
  const tol = 0.012;
  fixture.quantile_levels.forEach((q, i) => {
    const v = ref.quantiles[i]!;
    const below = xs.filter((x) => x < v).length / xs.length;
    const atOrBelow = xs.filter((x) => x <= v).length / xs.length;
    expect(below, `${label} P(X < ${v}) vs level ${q}`).toBeLessThanOrEqual(q + tol);
    expect(atOrBelow, `${label} P(X <= ${v}) vs level ${q}`).toBeGreaterThanOrEqual(q - tol);
  });
}

describe('population spec', () => {
  it('lists the Avro schema features in model input order and is well formed', () => {
    expect(featureNames(spec)).toEqual([...FEATURE_NAMES]);
    expect(fixture.feature_names).toEqual([...FEATURE_NAMES]);
    expect(() => checkSpec(spec)).not.toThrow();
  });

  it('is the spec the fixture was generated from', () => {
    const sha = createHash('sha256').update(readFileSync(join(REPO_ROOT, 'schemas', 'population.json'))).digest('hex');
    expect(sha, 'schemas/population.json changed: run `python -m pipeline.population.fixture`').toBe(fixture.spec_sha256);
  });

  it('rejects an expression that reads a later feature', () => {
    const bad = JSON.parse(specText) as { features: { dist: Record<string, unknown> }[] };
    bad.features[0]!.dist.scale = { mul: [9, 'loan_amount'] };
    expect(() => checkSpec(bad as unknown as PopulationSpec)).toThrow(/not generated before/);
  });
});

describe('defaultProbability', () => {
  it('equals the Python interpreter within 1e-12 on the golden rows (baseline, shocked, edge cases)', () => {
    const { rows, probabilities, shocked_spec_probabilities } = fixture.golden;
    expect(rows.length).toBeGreaterThanOrEqual(200);
    const shockedSpec = applyShock(spec);
    let maxDiff = 0;
    rows.forEach((row, i) => {
      const features = Object.fromEntries(fixture.feature_names.map((name, j) => [name, row[j]!]));
      maxDiff = Math.max(maxDiff, Math.abs(defaultProbability(features, spec) - probabilities[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(defaultProbability(features, shockedSpec) - shocked_spec_probabilities[i]!));
    });
    expect(maxDiff).toBeLessThanOrEqual(1e-12);
    expect(Math.max(...probabilities) - Math.min(...probabilities)).toBeGreaterThan(0.5); // the golden rows span the range
  });

  it('refuses a missing or non-numeric feature', () => {
    expect(() => defaultProbability({ age: 30 }, spec)).toThrow(/must be a number/);
  });
});

describe('generateApplication', () => {
  it('returns the id, the event time and every feature, in schema order', () => {
    const app = generateApplication(createRng(9), spec, { shock: false, submittedAt: 123, applicationId: 'a-1' });
    expect(Object.keys(app)).toEqual(['application_id', 'submitted_at', ...FEATURE_NAMES]);
    expect(app.application_id).toBe('a-1');
    expect(app.submitted_at).toBe(123);
  });

  it('is deterministic under seed', () => {
    expect(generate(createRng(5), 100, true)).toEqual(generate(createRng(5), 100, true));
    expect(generate(createRng(5), 100, false)).not.toEqual(generate(createRng(6), 100, false));
  });

  it.each([
    ['baseline', base],
    ['shocked', shocked],
  ] as const)('generates %s rows that all pass the scorer validation rules', (_, rows) => {
    const failures = rows.filter((r) => !validateApplication(r).ok);
    expect(failures.slice(0, 3)).toEqual([]);
    for (const name of ['age', 'credit_history_length', 'num_open_accounts', 'num_late_payments']) {
      expect(column(rows, name).every(Number.isInteger), name).toBe(true);
    }
  });

  it('samples the baseline population Python samples (means and quantiles per feature)', () => {
    const ref = fixture.reference.base;
    for (const name of FEATURE_NAMES) {
      expectMeanMatches(column(base, name), ref.features[name]!, ref.rows, name);
      expectQuantilesMatch(column(base, name), ref.features[name]!, name);
    }
  });

  it('samples the same population with a fresh rng per application (seeds 0, 1, 2, ...)', () => {
    const perIndex = Array.from({ length: N }, (_, i) =>
      generateApplication(createRng(i), spec, { shock: false, submittedAt: T0, applicationId: `app-${i}` }),
    );
    const ref = fixture.reference.base;
    for (const name of FEATURE_NAMES) {
      expectMeanMatches(column(perIndex, name), ref.features[name]!, ref.rows, name);
      expectQuantilesMatch(column(perIndex, name), ref.features[name]!, name);
    }
  });

  it('has a baseline default rate of 15-25%, as in Python', () => {
    const p = base.map((r) => defaultProbability(r, spec));
    const rate = mean(p);
    expect(rate).toBeGreaterThanOrEqual(0.15);
    expect(rate).toBeLessThanOrEqual(0.25);
    expectMeanMatches(p, { mean: fixture.reference.base.default_rate, sd: fixture.reference.base.default_rate_sd }, fixture.reference.base.rows, 'P(default)');
    const rng = createRng(77);
    const defaulted = p.filter((pi) => rng.next() < pi).length / p.length;
    expect(defaulted).toBeGreaterThanOrEqual(0.15);
    expect(defaulted).toBeLessThanOrEqual(0.25);
  });
});

describe('shock', () => {
  const affected = affectedByShock(spec);

  it('samples the shocked population Python samples', () => {
    const ref = fixture.reference.shock;
    for (const name of FEATURE_NAMES) {
      expectMeanMatches(column(shocked, name), ref.features[name]!, ref.rows, name);
      expectQuantilesMatch(column(shocked, name), ref.features[name]!, name);
    }
    const p = shocked.map((r) => defaultProbability(r, spec));
    expectMeanMatches(p, { mean: ref.default_rate, sd: ref.default_rate_sd }, ref.rows, 'shocked P(default)');
  });

  it('affects the changed features and their dependents, not num_open_accounts or loan_amount', () => {
    for (const change of spec.shock.changes) expect(affected.has(change.feature)).toBe(true);
    expect(affected.has('num_open_accounts')).toBe(false);
    expect(affected.has('loan_amount')).toBe(false);
  });

  it('shifts the affected features and leaves the others where they were', () => {
    for (const name of FEATURE_NAMES) {
      const b = column(base, name);
      const s = column(shocked, name);
      const sd = fixture.reference.base.features[name]!.sd;
      const z = Math.abs(mean(s) - mean(b)) / (sd * Math.sqrt(2 / N));
      if (affected.has(name)) expect(z, name).toBeGreaterThan(10);
      else expect(z, name).toBeLessThan(4.5);
    }
  });

  it('goes the intended way: younger, poorer, more indebted, more late payments, more defaults', () => {
    const m = (rows: readonly GeneratedApplication[], name: string) => mean(column(rows, name));
    // A recession (schemas/population.json shock.doc): about 40 -> 31 years, 57k -> 40k, 0.30 -> 0.45,
    // 0.32 -> 0.98 late payments, P(default) about 0.20 -> 0.46.
    expect(m(shocked, 'age')).toBeLessThan(m(base, 'age') - 6);
    expect(m(shocked, 'annual_income')).toBeLessThan(0.8 * m(base, 'annual_income'));
    expect(m(shocked, 'debt_to_income_ratio')).toBeGreaterThan(1.35 * m(base, 'debt_to_income_ratio'));
    expect(m(shocked, 'num_late_payments')).toBeGreaterThan(2.5 * m(base, 'num_late_payments'));
    const rate = (rows: readonly GeneratedApplication[]) => mean(rows.map((r) => defaultProbability(r, spec)));
    expect(rate(shocked)).toBeGreaterThan(rate(base) + 0.2);
  });

  it('does not modify the spec it is applied to', () => {
    const before = JSON.parse(specText) as PopulationSpec;
    const after = applyShock(spec);
    expect(spec).toEqual(before);
    expect(after).not.toEqual(spec);
    expect(after.default_model).toBe(spec.default_model);
  });
});
