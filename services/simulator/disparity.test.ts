/**
 * The disparity scenario: within its index range only the matching group's income is scaled, after the group
 * was drawn, so the groups (demographicsOf), every other feature and every other applicant stay as they were;
 * the options are checked with errors naming the flag or variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.ts';
import { fairLending } from '../shared/fair-lending.ts';
import type { Application } from './invalid.ts';
import { applyDisparity, describeDisparity, DISPARITY_FEATURE, inDisparity, parseDisparity, type Disparity } from './disparity.ts';
import { demographicsOf, populationSource, populationSpec, type SourceOptions } from './source.ts';

const d: Disparity = { from: 10, until: 20, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 };
const app = { application_id: 'a', submitted_at: 0, age: 40, annual_income: 60_000, loan_amount: 9_000 };
const FLAGS = { from: '--disparity-from', until: '--disparity-until', group: '--disparity-group', incomeFactor: '--disparity-income-factor' };
const attributes = fairLending().attributes;

describe('applyDisparity', () => {
  it('scales the matching group\'s income within [from, until), nothing else', () => {
    const hit = applyDisparity(app, 10, { race_ethnicity: 'BLACK', sex: 'FEMALE' }, d);
    expect(hit).toEqual({ ...app, annual_income: 30_000 });
    expect(app.annual_income).toBe(60_000);
    expect(applyDisparity(app, 19, { race_ethnicity: 'BLACK' }, d).annual_income).toBe(30_000);
  });

  it('leaves other groups, indexes outside the range and the scenario off untouched (the same object)', () => {
    expect(applyDisparity(app, 12, { race_ethnicity: 'WHITE', sex: 'FEMALE' }, d)).toBe(app);
    expect(applyDisparity(app, 12, { sex: 'BLACK' }, d)).toBe(app);
    expect(applyDisparity(app, 9, { race_ethnicity: 'BLACK' }, d)).toBe(app);
    expect(applyDisparity(app, 20, { race_ethnicity: 'BLACK' }, d)).toBe(app);
    expect(applyDisparity(app, 12, { race_ethnicity: 'BLACK' }, undefined)).toBe(app);
  });

  it('runs for good without `until`', () => {
    const forGood = { ...d, until: undefined };
    expect(inDisparity(1e9, forGood)).toBe(true);
    expect(inDisparity(9, forGood)).toBe(false);
    expect(inDisparity(5, undefined)).toBe(false);
  });

  it('hits the income feature of schemas/population.json', () => {
    expect(populationSpec().features.map((f) => f.name)).toContain(DISPARITY_FEATURE);
    expect(describeDisparity(d)).toBe('race_ethnicity BLACK incomes x0.5');
  });
});

describe('populationSource with a disparity', () => {
  const base: SourceOptions = { seed: 7, runId: 'r', clock: () => 0 };
  const hit: SourceOptions = { ...base, disparity: { from: 100, until: 1_100, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 } };
  const plain = populationSource(base);
  const scenario = populationSource(hit);
  const features = populationSpec().features.map((f) => f.name);

  it('in range: the group\'s incomes halved, its other features and every other applicant as without it; groups unchanged', () => {
    let scaled = 0;
    for (let i = 100; i < 1_100; i++) {
      const a = plain(i) as Record<string, unknown>;
      const b = scenario(i) as Record<string, unknown>;
      const groups = demographicsOf(base, i, a as Application);
      expect(demographicsOf(hit, i, b as Application)).toEqual(groups);
      for (const f of features) {
        if (f === DISPARITY_FEATURE && groups.race_ethnicity === 'BLACK') expect(b[f]).toBe((a[f] as number) * 0.5);
        else expect(b[f], `${i} ${f}`).toBe(a[f]);
      }
      if (groups.race_ethnicity === 'BLACK') scaled++;
    }
    // About the group's share (0.11) of the 1,000 applicants.
    expect(scaled).toBeGreaterThan(60);
    expect(scaled).toBeLessThan(170);
  });

  it('outside the range: the same applications; and deterministic in (seed, i)', () => {
    for (const i of [0, 99, 1_100, 5_000]) expect(scenario(i)).toEqual(plain(i));
    expect(populationSource(hit)(500)).toEqual(scenario(500));
  });
});

describe('parseDisparity', () => {
  const parse = (x: Partial<Parameters<typeof parseDisparity>[0]>) => parseDisparity({ from: 0, group: 'race_ethnicity=BLACK', incomeFactor: 0.5, ...x }, attributes, FLAGS);

  it('reads attribute=GROUP (any case) and the range', () => {
    expect(parse({ from: 5, until: 9, group: 'sex=female', incomeFactor: 0.7 })).toEqual({ from: 5, until: 9, attribute: 'sex', group: 'FEMALE', incomeFactor: 0.7 });
    expect(parse({})).toEqual({ from: 0, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 });
  });

  it('names the flag at fault', () => {
    const fails = (x: Partial<Parameters<typeof parseDisparity>[0]>, re: RegExp) => {
      expect(() => parse(x)).toThrow(ConfigError);
      expect(() => parse(x)).toThrow(re);
    };
    fails({ from: -1 }, /--disparity-from must be a whole number/);
    fails({ from: 1.5 }, /--disparity-from/);
    fails({ from: 10, until: 10 }, /--disparity-until must be a whole number above --disparity-from \(10\)/);
    fails({ group: 'BLACK' }, /--disparity-group must be <attribute>=<group>.*race_ethnicity=WHITE\|BLACK/);
    fails({ group: 'religion=X' }, /--disparity-group must be/);
    fails({ group: 'race_ethnicity=MARTIAN' }, /--disparity-group: race_ethnicity has no group "MARTIAN"/);
    fails({ group: 'race_ethnicity=WHITE' }, /--disparity-group: WHITE is the reference group/);
    fails({ group: 'sex=NOT_PROVIDED' }, /--disparity-group: NOT_PROVIDED of sex is counted but never compared/);
    fails({ incomeFactor: 0 }, /--disparity-income-factor must be a number in \(0, 1\]/);
    fails({ incomeFactor: 1.5 }, /--disparity-income-factor/);
    fails({ incomeFactor: Number.NaN }, /--disparity-income-factor/);
  });
});
