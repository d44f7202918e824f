import { describe, expect, it } from 'vitest';
import { drawDefault, OutcomeSchedule } from './outcomes.ts';
import { defaultProbability } from './population.ts';
import { populationSource, populationSpec } from './source.ts';

describe('outcomes', () => {
  it('releases outcomes only once due, in order, stamped with the release time', () => {
    const s = new OutcomeSchedule();
    s.schedule('a', true, 100);
    s.schedule('b', false, 200);
    s.schedule('c', false, 200);
    expect(s.takeDue(99)).toEqual([]);
    expect(s.takeDue(150)).toEqual([{ application_id: 'a', defaulted: true, observed_at: 150 }]);
    expect(s.takeDue(250).map((o) => o.application_id)).toEqual(['b', 'c']);
    expect(s.pending).toBe(0);
  });

  it('draws defaults at the population true default rate, reproducibly', () => {
    const spec = populationSpec();
    const source = populationSource({ seed: 1, runId: 'o' });
    let defaults = 0;
    let expected = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const app = source(i);
      if (drawDefault(app, spec, 1, i)) defaults++;
      expected += defaultProbability(app, spec);
    }
    // Binomial sd at n=20k, p~0.2 is ~57 defaults; allow 4 sd.
    expect(Math.abs(defaults - expected)).toBeLessThan(4 * Math.sqrt(expected * 0.8));
    expect(drawDefault(source(5), spec, 1, 5)).toBe(drawDefault(source(5), spec, 1, 5));
  });
});
