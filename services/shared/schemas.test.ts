import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSchema, recordName, REPO_ROOT, SCHEMAS_DIR } from './schemas.ts';

/** TypeScript files that may still spell a record name: none. */
const SPELLED_OUT_ALLOWED = new Set<string>();

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('recordName', () => {
  it('is namespace.name of every schema in schemas/', () => {
    const names = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc')).map((f) => f.replace(/\.avsc$/, ''));
    expect(names.length).toBeGreaterThanOrEqual(9);
    for (const n of names) {
      const raw = JSON.parse(readFileSync(join(SCHEMAS_DIR, `${n}.avsc`), 'utf8')) as { name: string; namespace: string };
      expect(recordName(n)).toBe(`${raw.namespace}.${raw.name}`);
    }
    expect(recordName('loan-application')).toBe('com.creditrisk.v1.LoanApplication');
    expect(loadSchema('loan-application').name).toBe('LoanApplication');
  });

  it('is where services/ get record names: no production file spells one out', () => {
    const namespaces = new Set(readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc')).map((f) => loadSchema(f.replace(/\.avsc$/, '')).namespace!));
    const offenders = tsFiles(join(REPO_ROOT, 'services'))
      .filter((f) => !f.endsWith('.test.ts'))
      .map((f) => relative(REPO_ROOT, f))
      .filter((f) => !SPELLED_OUT_ALLOWED.has(f))
      .filter((f) => [...namespaces].some((ns) => new RegExp(`['"\`]${ns.replace(/\./g, '\\.')}\\.[A-Z]`).test(readFileSync(join(REPO_ROOT, f), 'utf8'))));
    expect(offenders).toEqual([]);
  });
});
