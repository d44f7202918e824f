/**
 * Runs the whole vitest suite (unit + integration) and ends with one plain summary line,
 * "vitest: N passed, N failed, N skipped", so any CI can read the result.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

mkdirSync('test-artifacts', { recursive: true });
const out = 'test-artifacts/vitest-results.json';
const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary: string;
try {
  const j = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  summary = `vitest: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + j.numTodoTests} skipped`;
} catch {
  summary = 'vitest: 0 passed, 1 failed (no results file)';
}
console.log(summary);
process.exit(r.status ?? 1);
