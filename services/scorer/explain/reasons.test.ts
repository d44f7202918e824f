/**
 * The reason-code catalogue against the schemas, and reasons on generated applications: REVIEW/DECLINE
 * carry 1..REASONS_MAX catalogue reasons, largest contribution first; APPROVE none; and with the model's
 * monotone constraints no reason contradicts its direction.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, REPO_ROOT } from '../../shared/schemas.ts';
import { createRng } from '../../simulator/rng.ts';
import { generateFeatures, type PopulationSpec } from '../../simulator/population.ts';
import { decide, DEFAULT_POLICY } from '../policy.ts';
import { createExplainer } from './explainer.ts';
import { directionOf, parseCatalogue, reasonCatalogue, reasonDirections, reasonsFor } from './reasons.ts';

const spec = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'population.json'), 'utf8')) as PopulationSpec & { default_model: { monotone: Record<string, number> } };
const catalogue = reasonCatalogue();

describe('reason-code catalogue (schemas/reason-codes.json)', () => {
  it('has exactly the directions each schema feature can push toward default, with unique stable codes', () => {
    const monotone = spec.default_model.monotone;
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
    for (const f of FEATURE_NAMES) expect(Math.sign(meta.training.monotone_constraints[f]), f).toBe(Math.sign(spec.default_model.monotone[f] ?? 0));
  });

  it('refuses a malformed catalogue, naming the entry', () => {
    const base = { version: 1, reasons: [{ code: 'A', feature: 'age', direction: 'high', text: 'Age is high here' }] };
    expect(() => parseCatalogue({ ...base, reasons: [...base.reasons, { ...base.reasons[0], direction: 'low' }] })).toThrow(/code A appears twice/);
    expect(() => parseCatalogue({ ...base, reasons: [{ ...base.reasons[0], direction: 'up' }] })).toThrow(/reasons\[0\].*direction/);
    expect(() => parseCatalogue({ ...base, reasons: [{ ...base.reasons[0], code: 'lower' }] })).toThrow(/UPPER_SNAKE/);
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
