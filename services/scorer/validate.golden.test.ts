/**
 * The scorer's validator and the pipeline's agree on the golden rows of test/fixtures/validation-golden.json.
 * The same rows run through pipeline/population/validation.py in pipeline/tests/test_validation_golden.py: both tests
 * hold their validator to the fixture's `fields` (the fields found wrong), so the two agree on every row;
 * this one also holds the scorer's field + rule to the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared/schemas.ts';
import { validateApplication } from './validate.ts';

interface GoldenCase {
  readonly name: string;
  readonly set: Readonly<Record<string, number | string>>;
  readonly fields: readonly string[];
  readonly scorer: readonly { readonly field: string; readonly rule: string }[];
}
const golden = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'validation-golden.json'), 'utf8')) as {
  readonly base: Readonly<Record<string, number | string>>;
  readonly cases: readonly GoldenCase[];
};
const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

function row(c: GoldenCase): Record<string, unknown> {
  const out: Record<string, unknown> = { ...golden.base };
  for (const [k, v] of Object.entries(c.set)) out[k] = typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v;
  return out;
}

describe('validator golden rows (shared with pipeline/population/validation.py)', () => {
  it('cover valid and invalid rows', () => {
    expect(golden.cases.some((c) => c.fields.length === 0)).toBe(true);
    expect(golden.cases.filter((c) => c.fields.length > 0).length).toBeGreaterThan(20);
  });

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = validateApplication(row(c));
    const errors = r.ok ? [] : r.error.map((e) => ({ field: e.field, rule: e.rule }));
    expect([...new Set(errors.map((e) => e.field))].sort()).toEqual(c.fields);
    expect(errors).toEqual(c.scorer);
  });
});
