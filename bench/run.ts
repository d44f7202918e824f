/**
 * `make bench`: this scorer side by side with what users would pick instead, and with the limits of the
 * model runtime and the broker, all measured in one run on this machine. Writes bench/results/latest.json
 * (one object per scenario) and prints the tables. See docs/performance.md.
 *
 *   node --import tsx bench/run.ts [--quick] [--n N] [--reps R] [--only a,b] [--out FILE] [--profile] [--contenders a,b] [--baseline REF] [--secure]
 *
 * --secure starts (or reuses) a secured broker next to the cluster (bench/lib/secure.ts) and runs the
 * scorer through its SASL_SSL listener too, for the TLS overhead as a ratio to plaintext.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ScenarioName } from './lib/args.ts';
import { prepareBaseline } from './lib/baseline.ts';
import { BenchCluster } from './lib/cluster.ts';
import { machineInfo } from './lib/machine.ts';
import { addCrossRatios, renderTables } from './lib/report.ts';
import type { BenchContext, ScenarioResult } from './lib/scenario.ts';
import { openSecureBench, type SecureBench } from './lib/secure.ts';
import { brokerLimitScenario } from './scenarios/broker-limit.ts';
import { driftScenario } from './scenarios/drift.ts';
import { latencyScenario } from './scenarios/latency.ts';
import { modelLimitScenario } from './scenarios/model-limit.ts';
import { requestResponseScenario } from './scenarios/request-response.ts';
import { scalingScenario } from './scenarios/scaling.ts';
import { throughputScenario, type ThroughputResult } from './scenarios/throughput.ts';

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const started = performance.now();
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  const profileDir = opts.profile ? join(dirname(out), 'profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const log = (m: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  const baseline = opts.baseline ? prepareBaseline(opts.baseline, log) : undefined;
  const cluster = await BenchCluster.open();
  let secure: SecureBench | undefined;
  try {
    secure = opts.secure ? await openSecureBench(cluster, log) : undefined;
  } catch (e) {
    await cluster.close();
    throw e;
  }
  const ctx: BenchContext = {
    cluster,
    quick: opts.quick,
    sizes: opts.sizes,
    machine: { ...machineInfo(), cluster: await cluster.describe() },
    ...(profileDir ? { profileDir } : {}),
    ...(opts.contenders ? { contenders: opts.contenders } : {}),
    ...(baseline ? { baseline } : {}),
    ...(secure ? { secure } : {}),
    log,
  };
  const results: ScenarioResult[] = [];
  const want = (s: ScenarioName) => opts.only.includes(s);
  /** A scenario that throws is recorded as failed; the others still run. */
  const attempt = async <T extends ScenarioResult>(name: ScenarioName, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!want(name)) return undefined;
    ctx.log(`${name}: start`);
    try {
      const r = await fn();
      results.push(r);
      return r;
    } catch (e) {
      ctx.log(`${name}: FAILED ${(e as Error).stack ?? e}`);
      results.push({ scenario: name, description: 'failed', machine: ctx.machine, repetitions: 0, contenders: {}, ratios: {}, targets: [], error: (e as Error).message, seconds: 0 });
      return undefined;
    }
  };
  try {
    await attempt('model-limit', () => modelLimitScenario(ctx));
    let tp: ThroughputResult | undefined;
    if (want('throughput') || want('broker-limit')) {
      tp = want('throughput') ? await attempt('throughput', () => throughputScenario(ctx)) : undefined;
    }
    await attempt('broker-limit', async () => {
      let input = tp ? { topic: tp.inputTopic, records: opts.sizes.n } : undefined;
      if (!input) {
        // Run alone: pre-load the applications the consumer perf tool reads.
        const topic = cluster.topics('bl').applications;
        await cluster.create({ ...cluster.topics('bl'), applications: topic }, ['applications']);
        const s = await cluster.preload(topic, opts.sizes.n, { invalidShare: opts.sizes.invalidShare });
        input = { topic, records: s.sent };
      }
      return brokerLimitScenario(ctx, input);
    });
    await attempt('request-response', () => requestResponseScenario(ctx));
    await attempt('latency', () => latencyScenario(ctx));
    await attempt('drift', () => driftScenario(ctx));
    await attempt('scaling', () => scalingScenario(ctx));
  } finally {
    await cluster.cleanup();
    await cluster.close();
    if (secure) {
      await secure.cluster.cleanup();
      await secure.close();
    }
  }
  addCrossRatios(results);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const doc = { generatedAt: new Date().toISOString(), quick: opts.quick, argv: process.argv.slice(2), sizes: opts.sizes, seconds, scenarios: results };
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(renderTables(results));
  console.log(`\n${opts.quick ? 'quick ' : ''}benchmark finished in ${seconds} s; results in ${out}`);
  return results.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
