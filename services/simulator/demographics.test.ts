/**
 * Demographics of synthetic applicants: the same category probabilities as the Python pipeline for the same
 * features (golden values from pipeline/population/demographics.py), realistic shares and correlations, and
 * drawn after the features without changing them.
 */
import { describe, expect, it } from 'vitest';
import { categoryProbabilities, generateDemographics } from './demographics.ts';
import { createRng } from './rng.ts';
import { demographicsOf, populationSource, populationSpec } from './source.ts';
import { generateFeatures } from './population.ts';

const spec = populationSpec();
const demographics = spec.demographics!;

describe('demographics (schemas/population.json)', () => {
  it('gives the category probabilities Python gives for the same applicant', () => {
    const row = { age: 40, annual_income: 35000, debt_to_income_ratio: 0.45, credit_history_length: 6, num_open_accounts: 3, num_late_payments: 1, loan_amount: 12000 };
    // PYTHONPATH=. .venv/bin/python -c "...probabilities(attribute, cols, 1)" on this row (pipeline/population/demographics.py)
    const python: Record<string, number[]> = {
      race_ethnicity: [0.5895361776655552, 0.13747465666679523, 0.15384407430442018, 0.050818836866981194, 0.03588807566134338, 0.03243817883490503],
      sex: [0.47370122498891676, 0.506989669053283, 0.019309105957800173],
    };
    for (const a of demographics.attributes) {
      const p = categoryProbabilities(a, row);
      p.forEach((v, k) => expect(v, `${a.name} ${a.categories[k]!.value}`).toBeCloseTo(python[a.name]![k]!, 12));
    }
  });

  it('on 20,000 applicants: HMDA-like shares, and groups differ in income and debt as specified', () => {
    const rng = createRng(11);
    const by: Record<string, { n: number; income: number; dti: number }> = {};
    const sex: Record<string, number> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const f = generateFeatures(rng, spec);
      const d = generateDemographics(rng, demographics, f);
      const g = (by[d.race_ethnicity!] ??= { n: 0, income: 0, dti: 0 });
      g.n++;
      g.income += f.annual_income!;
      g.dti += f.debt_to_income_ratio!;
      sex[d.sex!] = (sex[d.sex!] ?? 0) + 1;
    }
    const share = (g: string) => by[g]!.n / n;
    expect(share('WHITE')).toBeGreaterThan(0.55);
    expect(share('WHITE')).toBeLessThan(0.7);
    expect(share('BLACK')).toBeGreaterThan(0.08);
    expect(share('HISPANIC')).toBeGreaterThan(0.09);
    expect(share('NOT_PROVIDED')).toBeGreaterThan(0.01);
    expect(sex.FEMALE! / n).toBeGreaterThan(0.4);
    const mean = (g: string, k: 'income' | 'dti') => by[g]![k] / by[g]!.n;
    expect(mean('BLACK', 'income')).toBeLessThan(0.92 * mean('WHITE', 'income'));
    expect(mean('BLACK', 'dti')).toBeGreaterThan(mean('WHITE', 'dti'));
    expect(mean('ASIAN', 'income')).toBeGreaterThan(mean('WHITE', 'income'));
  });

  it('demographicsOf(i) is a pure function of (seed, i), drawn after the features without changing them', () => {
    const o = { seed: 5, runId: 'r', clock: (i: number) => 1_000 + i };
    const source = populationSource(o);
    const a = source(3);
    const d = demographicsOf(o, 3, a);
    expect(d).toEqual(demographicsOf(o, 3, source(3)));
    expect(d).toMatchObject({ application_id: 'r-3', collected_at: 1_003, source: 'SYNTHETIC' });
    expect(demographics.attributes[0]!.categories.map((c) => c.value)).toContain(d.race_ethnicity);
    // the features are those of a generation without demographics
    const rng = createRng((Math.imul(5, 0x9e3779b1) ^ 3) >>> 0);
    const features = generateFeatures(rng, spec);
    for (const [k, v] of Object.entries(features)) expect(a[k]).toBe(v);
  });
});
