/**
 * The reason-code catalogue against the schemas, and reasons on generated applications: REVIEW/DECLINE
 * carry 1..REASONS_MAX catalogue reasons, largest contribution first; APPROVE none; and with the model's
 * monotone constraints no reason contradicts its direction.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fairLending } from '../../shared/fair-lending.ts';
import { FEATURE_NAMES, REPO_ROOT } from '../../shared/schemas.ts';
import { createRng } from '../../simulator/rng.ts';
import { generateFeatures, type PopulationSpec } from '../../simulator/population.ts';
import { decide, DEFAULT_POLICY } from '../policy.ts';
import { createExplainer } from './explainer.ts';
import { directionOf, parseCatalogue, reasonCatalogue, reasonDirections, reasonsFor } from './reasons.ts';

const spec = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'population.json'), 'utf8')) as PopulationSpec & { default_model: { monotone: Record<string, number> } };
const catalogue = reasonCatalogue();
/** What every model is trained with: the population's constraints plus the fair-lending ones (non-increasing in age). */
const modelMonotone: Record<string, number> = { ...spec.default_model.monotone, ...fairLending().modelMonotone };

describe('reason-code catalogue (schemas/reason-codes.json)', () => {
  it('has exactly the directions each schema feature can push toward default, with unique stable codes', () => {
    const monotone = modelMonotone;
    expect(new Set(catalogue.reasons.map((r) => r.feature))).toEqual(new Set(FEATURE_NAMES));
    expect(spec.features.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    for (const f of FEATURE_NAMES) {
      const dirs = [...catalogue.byFeature.get(f)!.keys()].sort();
      const m = monotone[f] ?? 0;
      expect(dirs, f).toEqual(m > 0 ? ['high'] : m < 0 ? ['low'] : ['high', 'low']);
    }
    expect(new Set(catalogue.reasons.map((r) => r.code)).size).toBe(catalogue.reasons.length);
    for (const r of catalogue.reasons) expect(r.text.length, r.code).toBeGreaterThan(10);
  });

  it('the model bundle trains with the same constraints the catalogue is written for', () => {
    const meta = JSON.parse(readFileSync(join(REPO_ROOT, 'models', 'credit-default-classifier', '1', 'metadata.json'), 'utf8'));
    for (const f of FEATURE_NAMES) expect(Math.sign(meta.training.monotone_constraints[f]), f).toBe(Math.sign(modelMonotone[f] ?? 0));
  });

  it('no age reason says anything against being older, and a retired code is never used again', () => {
    const age = catalogue.reasons.filter((r) => r.feature === fairLending().elderly.feature);
    expect(age.map((r) => r.direction)).toEqual(['low']);
    for (const r of age) expect(r.text, r.code).not.toMatch(/older|elder|senior|retire|\bold\b/i);
    expect(catalogue.retired).toContain('AGE_HIGH');
    for (const code of catalogue.retired) expect(catalogue.reasons.map((r) => r.code)).not.toContain(code);
    const base = { version: 1, retired: [{ code: 'AGE_HIGH' }], reasons: [{ code: 'AGE_HIGH', feature: 'age', direction: 'high', text: 'Age is high here' }] };
    expect(() => parseCatalogue(base)).toThrow(/AGE_HIGH is retired/);
  });

  it('refuses a malformed catalogue, naming the entry', () => {
    const base = { version: 1, reasons: [{ code: 'A', feature: 'age', direction: 'high', text: 'Age is high here' }] };
    expect(() => parseCatalogue({ ...base, reasons: [...base.reasons, { ...base.reasons[0], direction: 'low' }] })).toThrow(/code A appears twice/);
    expect(() => parseCatalogue({ ...base, reasons: [{ ...base.reasons[0], direction: 'up' }] })).toThrow(/reasons\[0\].*direction/);
    expect(() => parseCatalogue({ ...base, reasons: [{ ...base.reasons[0], code: 'lower' }] })).toThrow(/UPPER_SNAKE/);
  });
});

describe('the elderly-age rule in the reasons (Regulation B)', () => {
  const F = FEATURE_NAMES.length;
  const ageIdx = FEATURE_NAMES.indexOf('age');
  // Every feature pushes toward default, age the most: only the rule can keep age out of the reasons.
  const contributions = FEATURE_NAMES.map((_, j) => (j === ageIdx ? 2 : 0.1 * (j + 1))).concat([-1]);
  const directions = { monotone: FEATURE_NAMES.map((f) => modelMonotone[f] ?? 0), median: FEATURE_NAMES.map(() => 0) };
  const applicant = (age: number) => Object.fromEntries(FEATURE_NAMES.map((f) => [f, f === 'age' ? age : 1]));

  it('an applicant aged 62 or more never gets an age reason, whatever the contribution; a younger one may', () => {
    expect(contributions.length).toBe(F + 1);
    for (const age of [62, 62.5, 70, 90, 120]) {
      for (const decision of ['REVIEW', 'DECLINE'] as const) {
        const reasons = reasonsFor(decision, applicant(age), contributions, 0, directions, 4);
        expect(reasons.map((r) => r.feature), `age ${age}`).not.toContain('age');
        expect(reasons.length).toBe(4);
      }
    }
    expect(reasonsFor('DECLINE', applicant(61.9), contributions, 0, directions, 4)[0]!.code).toBe('AGE_LOW');
    expect(reasonsFor('DECLINE', applicant(30), contributions, 0, directions, 4)[0]!.code).toBe('AGE_LOW');
  });

  it('the threshold and feature come from schemas/population.json', () => {
    expect(fairLending().elderly).toEqual({ feature: 'age', from: 62 });
    expect(fairLending().modelMonotone).toEqual({ age: -1 });
    const other = { feature: 'age', from: 80 };
    expect(reasonsFor('DECLINE', applicant(70), contributions, 0, directions, 4, reasonCatalogue(), other)[0]!.code).toBe('AGE_LOW');
  });

  it('on the model bundle: generated applicants aged 55..90 - no age reason from 62, P(default) never rises with age from 62 on or into it', () => {
    const dir = join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    const explainer = createExplainer(readFileSync(join(dir, 'trees.json')), FEATURE_NAMES);
    const dirs = reasonDirections(meta);
    const rng = createRng(19);
    const ages = Array.from({ length: 36 }, (_, k) => 55 + k);
    const people = 150;
    const data = new Float32Array(people * ages.length * F);
    for (let a = 0; a < people; a++) {
      const app = generateFeatures(rng, spec);
      ages.forEach((age, k) => FEATURE_NAMES.forEach((f, j) => {
        data[(a * ages.length + k) * F + j] = f === 'age' ? age : f === 'credit_history_length' ? Math.min(app[f]!, 37) : app[f]!;
      }));
    }
    const rows = people * ages.length;
    const p = explainer.probabilities(data, rows);
    const c = explainer.contributions(data, rows);
    let adverse = 0, ageReasons = 0, rises = 0;
    for (let a = 0; a < people; a++) {
      const base = a * ages.length;
      const youngest = Math.min(...ages.map((age, k) => (age < 62 ? p[base + k]! : Infinity)));
      ages.forEach((age, k) => {
        const r = base + k;
        if (age < 62) return;
        if (p[r]! > youngest) rises++;
        if (k > 0 && p[r]! > p[r - 1]!) rises++;
        const { decision } = decide(p[r]!, DEFAULT_POLICY);
        if (decision === 'APPROVE') return;
        adverse++;
        const features = Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, data[r * F + j]!]));
        if (reasonsFor(decision, features, c, r * (F + 1), dirs, 4).some((x) => x.feature === 'age')) ageReasons++;
      });
    }
    expect(adverse).toBeGreaterThan(100);
    expect(ageReasons).toBe(0);
    expect(rises).toBe(0);
  });
});

describe('reasons on generated applications', () => {
  const dir = join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
  const explainer = createExplainer(readFileSync(join(dir, 'trees.json')), FEATURE_NAMES);
  const directions = reasonDirections(meta);
  const F = FEATURE_NAMES.length;
  const rng = createRng(7);
  const n = 3000;
  const apps = Array.from({ length: n }, () => generateFeatures(rng, spec));
  const data = Float32Array.from(apps.flatMap((a) => FEATURE_NAMES.map((f) => a[f]!)));
  const contributions = explainer.contributions(data, n);
  const probabilities = explainer.probabilities(data, n);
  // The favourable extreme of each constrained feature over the generated rows.
  const extreme = FEATURE_NAMES.map((f, j) => {
    const values = apps.map((a) => a[f]!);
    return directions.monotone[j]! > 0 ? Math.min(...values) : Math.max(...values);
  });

  it('REVIEW/DECLINE carry 1..4 catalogue reasons, positive and largest first; APPROVE none; REASONS_MAX caps', () => {
    const seen = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
    for (let i = 0; i < n; i++) {
      const { decision } = decide(probabilities[i]!, DEFAULT_POLICY);
      seen[decision]++;
      const features = Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, data[i * F + j]!]));
      const reasons = reasonsFor(decision, features, contributions, i * (F + 1), directions, 4);
      if (decision === 'APPROVE') {
        expect(reasons).toEqual([]);
        continue;
      }
      expect(reasons.length).toBeGreaterThanOrEqual(1);
      expect(reasons.length).toBeLessThanOrEqual(4);
      const positive = FEATURE_NAMES.filter((_, j) => contributions[i * (F + 1) + j]! > 0).length;
      expect(reasons.length).toBe(Math.min(4, positive));
      reasons.forEach((r, k) => {
        expect(r.contribution).toBeGreaterThan(0);
        if (k > 0) expect(r.contribution).toBeLessThanOrEqual(reasons[k - 1]!.contribution);
        const entry = catalogue.reasons.find((e) => e.code === r.code)!;
        expect(entry.feature).toBe(r.feature);
        expect(r.text).toBe(entry.text);
      });
      expect(reasonsFor(decision, features, contributions, i * (F + 1), directions, 1)).toEqual(reasons.slice(0, 1));
    }
    expect(seen.REVIEW).toBeGreaterThan(100);
    expect(seen.DECLINE).toBeGreaterThan(20);
  });

  it('no reason contradicts its direction: the monotone feature named would lower P(default) if moved the favourable way', () => {
    let checked = 0;
    for (let i = 0; i < n; i++) {
      const { decision } = decide(probabilities[i]!, DEFAULT_POLICY);
      const features = Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, data[i * F + j]!]));
      for (const r of reasonsFor(decision, features, contributions, i * (F + 1), directions, 4)) {
        const j = FEATURE_NAMES.indexOf(r.feature);
        const entry = catalogue.reasons.find((e) => e.code === r.code)!;
        expect(entry.direction).toBe(directionOf(j, features[r.feature]!, directions));
        if (directions.monotone[j] === 0) {
          expect(entry.direction).toBe(features[r.feature]! >= directions.median[j]! ? 'high' : 'low');
          continue;
        }
        // The catalogue's direction is the constraint's ("too high" for +1, "too low" for -1) ...
        expect(entry.direction).toBe(directions.monotone[j]! > 0 ? 'high' : 'low');
        // ... and the model agrees: at the favourable extreme the probability is no higher and the feature
        // no longer pushes toward default.
        const moved = data.slice(i * F, (i + 1) * F);
        moved[j] = extreme[j]!;
        const p = explainer.probabilities(moved, 1)[0]!;
        expect(p).toBeLessThanOrEqual(probabilities[i]! + 1e-12);
        expect(explainer.contributions(moved, 1)[j]!).toBeLessThanOrEqual(1e-12);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });
});
