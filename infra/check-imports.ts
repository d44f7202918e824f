/**
 * The import-graph check of `make test` (`make imports`): exits non-zero when
 *  - the TypeScript graph (madge over services/, support/, test/, bench/, infra/) has a cycle;
 *  - bench/ imports from test/, production code under services/ (not *.test.ts) imports from test/,
 *    support/ or bench/, or support/ imports from test/ or bench/ (support/ is what tests and benchmarks
 *    share);
 *  - the Python pipeline breaks its import contracts (`lint-imports`, .importlinter: layers and no
 *    cycle between sibling packages or modules of pipeline/).
 * Usage: node --import tsx infra/check-imports.ts [--skip-python]
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../services/shared/schemas.ts';

interface MadgeResult {
  obj(): Record<string, string[]>;
  circular(): string[][];
  warnings(): { skipped: string[] };
}
type Madge = (paths: string[], config: Record<string, unknown>) => Promise<MadgeResult>;

const ROOTS = ['services', 'support', 'test', 'bench', 'infra'];

/** [importer folder (prefix), forbidden import prefixes, files exempt]. */
const RULES: readonly { readonly from: string; readonly forbidden: readonly string[]; readonly except?: RegExp; readonly why: string }[] = [
  { from: 'bench/', forbidden: ['test/'], why: 'benchmarks share helpers with tests through support/, never test/' },
  { from: 'services/', forbidden: ['test/', 'support/', 'bench/'], except: /\.test\.ts$/, why: 'production code depends on no test or benchmark code' },
  { from: 'support/', forbidden: ['test/', 'bench/'], why: 'support/ is shared by test/ and bench/, so it depends on neither' },
];

/** Returns the rule violations of `graph` (file -> imported files, paths relative to the repository root). */
export function ruleViolations(graph: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [file, deps] of Object.entries(graph)) {
    for (const rule of RULES) {
      if (!file.startsWith(rule.from) || rule.except?.test(file)) continue;
      for (const dep of deps) if (rule.forbidden.some((p) => dep.startsWith(p))) out.push(`${file} imports ${dep}: ${rule.why}`);
    }
  }
  return out;
}

async function typescript(): Promise<boolean> {
  const started = performance.now();
  const madge = createRequire(import.meta.url)('madge') as Madge;
  const res = await madge(ROOTS, {
    baseDir: REPO_ROOT,
    fileExtensions: ['ts', 'mjs'],
    tsConfig: join(REPO_ROOT, 'tsconfig.json'),
    excludeRegExp: [/node_modules/, /^infra\/local\/target\//],
  });
  const graph = res.obj();
  const files = Object.keys(graph).length;
  const edges = Object.values(graph).reduce((n, d) => n + d.length, 0);
  const cycles = res.circular();
  const violations = ruleViolations(graph);
  // A graph without edges would pass every rule: madge must have resolved the .ts imports.
  const resolved = files >= 100 && edges >= files;
  for (const c of cycles) console.error(`import cycle: ${c.join(' -> ')} -> ${c[0]}`);
  for (const v of violations) console.error(`forbidden import: ${v}`);
  if (!resolved) console.error(`madge resolved only ${files} files / ${edges} imports: check its TypeScript settings`);
  const ok = cycles.length === 0 && violations.length === 0 && resolved;
  console.log(`typescript imports: ${files} files, ${edges} imports, ${cycles.length} cycles, ${violations.length} forbidden (${((performance.now() - started) / 1000).toFixed(1)}s)`);
  return ok;
}

function python(): boolean {
  const started = performance.now();
  const r = spawnSync(join(REPO_ROOT, '.venv', 'bin', 'lint-imports'), ['--no-cache'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.error) {
    console.error(`python imports: cannot run .venv/bin/lint-imports (${r.error.message}); run make install`);
    return false;
  }
  const summary = /Contracts: .*/.exec(r.stdout)?.[0] ?? 'no summary';
  if (r.status !== 0) console.error(r.stdout, r.stderr);
  console.log(`python imports: ${summary} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
  return r.status === 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ts = await typescript();
  const py = process.argv.includes('--skip-python') ? true : python();
  process.exit(ts && py ? 0 : 1);
}
