/**
 * Scenario 6: the drift monitor. Its measurement lives with the drift service's owner in bench/drift*.ts;
 * this hook runs it if present: `node --import tsx bench/drift.ts [--quick]` with the cluster settings in
 * the environment, and takes the LAST line of its stdout as a JSON object — either a whole scenario
 * ({ scenario, description, contenders, ratios?, targets?, ... }) or the drift monitor's figures alone
 * (e.g. { recordsPerSec, windowCloseMs, ... }), which become the contender "drift-monitor".
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { run } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { round } from '../lib/stats.ts';

export function driftBenchFile(): string | undefined {
  const dir = join(REPO_ROOT, 'bench');
  if (existsSync(join(dir, 'drift.ts'))) return 'bench/drift.ts';
  const f = readdirSync(dir)
    .filter((n) => /^drift.*\.ts$/.test(n) && !n.endsWith('.test.ts'))
    .sort()[0];
  return f ? `bench/${f}` : undefined;
}

export async function driftScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = performance.now();
  const file = driftBenchFile();
  const base = { scenario: 'drift', machine: ctx.machine, repetitions: 0, ratios: {}, targets: [] };
  if (!file) {
    return {
      ...base,
      description: 'Drift monitor: log records/s and the cost of a window close',
      contenders: {},
      notes: ['not measured: bench/drift.ts (the drift service owner\'s measurement) is not in this tree yet; this scenario runs it when it appears'],
      seconds: 0,
    };
  }
  ctx.log(`drift: running ${file}`);
  const env = { KAFKA_BROKERS: ctx.cluster.conn.brokers.join(','), SCHEMA_REGISTRY_URL: ctx.cluster.conn.registry.url, BENCH_QUICK: ctx.quick ? '1' : '0' };
  try {
    const out = await run('drift-bench', process.execPath, ['--import', 'tsx', file, ...(ctx.quick ? ['--quick'] : [])], env, 600_000);
    const line = out.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'));
    if (!line) throw new Error(`${file} printed no JSON line:\n${out.slice(-2000)}`);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const seconds = round((performance.now() - started) / 1000, 1);
    if (typeof parsed.scenario === 'string' && parsed.contenders) {
      return { ...base, description: String(parsed.description ?? 'Drift monitor'), ...(parsed as object), scenario: 'drift', machine: ctx.machine, seconds } as unknown as ScenarioResult;
    }
    return { ...base, description: 'Drift monitor: log records/s and the cost of a window close', repetitions: Number(parsed.repetitions ?? 1), contenders: { 'drift-monitor': parsed }, notes: [`measured by ${file}`], seconds };
  } catch (e) {
    return { ...base, description: 'Drift monitor', contenders: {}, error: (e as Error).message, seconds: round((performance.now() - started) / 1000, 1) };
  }
}
