import { describe, expect, it } from 'vitest';
import { ruleViolations } from './check-imports.ts';

describe('import rules of check-imports', () => {
  it('refuses bench -> test, services (production) -> test/support/bench and support -> test', () => {
    const found = ruleViolations({
      'bench/drift.ts': ['support/scoring-log.ts', 'test/helpers/models.ts'],
      'services/drift/view.ts': ['services/shared/schemas.ts', 'support/drift-synthetic.ts'],
      'services/drift/codec.test.ts': ['support/drift-synthetic.ts'],
      'support/scoring-log.ts': ['services/scorer/records.ts', 'test/helpers/model.ts'],
      'test/drift/shock.test.ts': ['support/scoring-log.ts', 'bench/lib/stats.ts'],
    });
    expect(found.map((v) => v.split(':')[0])).toEqual([
      'bench/drift.ts imports test/helpers/models.ts',
      'services/drift/view.ts imports support/drift-synthetic.ts',
      'support/scoring-log.ts imports test/helpers/model.ts',
    ]);
  });
});
