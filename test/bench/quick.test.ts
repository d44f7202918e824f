/**
 * The benchmark harness works end to end (bench/run.ts --quick, against the test stack): every scenario
 * ran, every contender processed all of its applications or requests, and the results file has the
 * structure docs/performance.md describes. It checks the harness, not the speed.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { QUICK, SCENARIOS } from '../../bench/lib/args.ts';
import { driftBenchFile } from '../../bench/scenarios/drift.ts';
import { stack } from '../helpers/cluster.ts';
import { run as runCommand } from '../../support/processes.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed results file, navigated freely by the assertions
type Json = Record<string, any>;

describe('bench/run.ts --quick', () => {
  const out = join(REPO_ROOT, 'test-artifacts', 'bench-quick', 'latest.json');
  let run: { status: number | null; stdout: string; stderr: string };
  let doc: Json;
  const scenario = (name: string): Json => doc.scenarios.find((s: Json) => s.scenario === name);

  beforeAll(async () => {
    rmSync(join(out, '..'), { recursive: true, force: true });
    mkdirSync(join(out, '..'), { recursive: true });
    // Asynchronously: a minute-long spawnSync blocks the vitest worker, whose RPC then times out.
    run = await runCommand(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
      env: { ...process.env, KAFKA_BROKERS: stack().brokers, SCHEMA_REGISTRY_URL: stack().registryUrl },
      timeoutMs: 280_000,
    });
    doc = JSON.parse(readFileSync(out, 'utf8')) as Json;
  }, 300_000);

  it('exits 0 and prints the tables with the ratios', () => {
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    expect(run.stdout).toContain('applications/s');
    expect(run.stdout).toContain('Ratios against the targets');
    expect(run.stdout).toMatch(/scorer at-least-once \/ Peer A \s*\| \d/);
  });

  it('writes one object per scenario with machine info, sizes and repetitions', () => {
    expect(doc.quick).toBe(true);
    expect(doc.scenarios.map((s: Json) => s.scenario)).toEqual([...SCENARIOS]);
    for (const s of doc.scenarios) {
      expect(s.error, `${s.scenario}: ${s.error}`).toBeUndefined();
      expect(s.machine.cores).toBeGreaterThan(0);
      expect(s.machine.node).toBe(process.version);
      expect(s.machine.python).toMatch(/^3\.\d+/);
      expect(Array.isArray(s.targets)).toBe(true);
      for (const t of s.targets) expect(typeof t.met).toBe('boolean');
    }
    expect(scenario('throughput').n).toBe(QUICK.n);
  });

  it('every streaming contender committed a decision or dead letter for each of the N applications, once', () => {
    const tp = scenario('throughput');
    const invalid = Math.floor(QUICK.n * QUICK.invalidShare);
    for (const id of ['scorer-eos', 'scorer-alo', 'peer-a']) {
      const runs: Json[] = tp.contenders[id].runs;
      expect(runs).toHaveLength(QUICK.repetitions);
      for (const r of runs) {
        expect(r.processedAll, `${id}: ${r.error}`).toBe(true);
        expect(r.decisions).toBe(QUICK.n - invalid);
        expect(r.deadLetters).toBe(invalid);
        expect(r.duplicates).toBe(0);
        expect(r.appsPerSec).toBeGreaterThan(0);
        expect(r.cpuSecPer100k).toBeGreaterThan(0);
        expect(r.peakRssMb).toBeGreaterThan(0);
      }
    }
    expect(tp.ratios['scorer-alo/peer-a']).toBeGreaterThan(0);
  });

  it('Peer B answered every request with a decision, in both variants', () => {
    const rr = scenario('request-response');
    for (const id of ['peer-b-xgboost', 'peer-b-onnx']) {
      for (const r of rr.contenders[id].runs as Json[]) {
        expect(r.ok, `${id}: ${r.error}`).toBe(QUICK.httpRequests);
        expect(r.requestsPerSec).toBeGreaterThan(0);
      }
    }
    expect(rr.ratios['scorer-alo/peer-b-xgboost']).toBeGreaterThan(0);
  });

  it('measured the limits: the model alone, and the broker with its own perf tools', () => {
    const ml = scenario('model-limit').contenders;
    for (const id of ['onnx-node', 'onnx-python']) {
      expect(ml[id].batch2000RowsPerSec.median).toBeGreaterThan(0);
      expect(ml[id].perCallMicros1Row.median).toBeGreaterThan(0);
    }
    const bl = scenario('broker-limit');
    expect(bl.contenders['kafka-producer-perf'].recordsPerSec.median).toBeGreaterThan(0);
    expect(bl.contenders['kafka-consumer-perf'].recordsPerSec.median).toBeGreaterThan(0);
    expect(bl.ratios['scorer-alo/broker-ceiling']).toBeGreaterThan(0);
  });

  it('measured latency for every streaming contender, with every decision seen', () => {
    const lat = scenario('latency');
    for (const id of ['scorer-eos', 'scorer-alo', 'peer-a']) {
      for (const r of lat.contenders[id].runs as Json[]) {
        expect(r.missing, `${id}: ${r.error}`).toBe(0);
        expect(r.measured).toBeGreaterThan(0);
        expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
      }
    }
  });

  it('ran the drift monitor measurement when bench/drift*.ts exists, and says so when it does not', () => {
    const d = scenario('drift');
    if (driftBenchFile()) expect(Object.keys(d.contenders).length).toBeGreaterThan(0);
    else expect(d.notes.join(' ')).toContain('not in this tree');
  });
});
