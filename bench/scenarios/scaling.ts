/**
 * Scaling: 1, 2 and 3 scorer processes (exactly-once, the default settings) in one consumer group on the same
 * pre-loaded 6-partition input, in the same run, to show how close throughput scales to linear while the
 * machine's cores last (docs/scaling.md). Each process has its own instance (and transactional) id.
 *
 * The rate runs from the moment the last process of the group logged its join (the assignment that includes
 * every member is in force; earlier, fewer members consumed) to the commit of the last application; the
 * applications committed before that moment are not counted. CPU is the sum over the processes, from /proc,
 * over the same interval. Every run must decide each valid application exactly once.
 */
import { SCORER_EOS } from '../lib/contenders.ts';
import { usage, type Proc } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { ratio, round, spread } from '../lib/stats.ts';
import { checkOutputs } from './throughput.ts';

const POLL_MS = 50;
const STALL_MS = 60_000;
const JOIN_TIMEOUT_MS = 120_000;
export const SCALING_INSTANCES = [1, 2, 3] as const;

export interface ScalingRun {
  readonly instances: number;
  readonly repetition: number;
  readonly appsPerSec: number;
  readonly cpuSecPer100k: number;
  /** CPU cores busy on average over the measured interval (all processes). */
  readonly cores: number;
  /** Applications committed before every member had joined (not in the rate). */
  readonly beforeAllJoined: number;
  readonly measuredApps: number;
  readonly measuredSec: number;
  readonly duplicates: number;
  readonly processedAll: boolean;
  readonly error?: string;
}

function cpuOf(procs: readonly Proc[]): number | undefined {
  let cpu = 0;
  for (const p of procs) {
    const u = usage(p.pid);
    if (!u) return undefined;
    cpu += u.cpuSec;
  }
  return cpu;
}

async function runScaled(ctx: BenchContext, input: string, expected: { valid: number; invalid: number }, k: number, repetition: number): Promise<ScalingRun> {
  const { cluster } = ctx;
  const n = expected.valid + expected.invalid;
  const label = `sc-${k}-r${repetition}`;
  const topics = cluster.topics(label, input);
  const groupId = `bench-${cluster.runId}-${label}`;
  const outputs = ['decisions', 'scoringLog', 'deadLetters'];
  await cluster.create(topics, outputs);
  const procs: Proc[] = [];
  let error: string | undefined;
  let from: { t: number; committed: number; cpu: number } | undefined;
  let to: { t: number; committed: number; cpu: number } | undefined;
  try {
    for (let i = 0; i < k; i++) procs.push(SCORER_EOS.start(cluster, topics, groupId, { instance: `${groupId}-${i}` }));
    // Every member has joined once: the group's assignment now includes all of them.
    await Promise.all(procs.map((p) => p.waitFor(SCORER_EOS.joined, JOIN_TIMEOUT_MS)));
    const cpu0 = cpuOf(procs);
    if (cpu0 === undefined) throw new Error('a scorer exited before the measurement');
    from = { t: performance.now(), committed: await cluster.committed(groupId, input), cpu: cpu0 };
    let prev = from.committed;
    let progressAt = Date.now();
    for (;;) {
      const committed = await cluster.committed(groupId, input);
      const t = performance.now();
      const cpu = cpuOf(procs);
      if (cpu === undefined) throw new Error(`a scorer exited early:\n${procs.map((p) => p.output().slice(-2000)).join('\n---\n')}`);
      if (committed >= n) {
        to = { t, committed, cpu };
        break;
      }
      if (committed !== prev) {
        prev = committed;
        progressAt = Date.now();
      }
      if (Date.now() - progressAt > STALL_MS) throw new Error(`no progress for ${STALL_MS / 1000} s at ${committed}/${n}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    error = (e as Error).message;
  } finally {
    await Promise.all(procs.map((p) => p.stop(3000)));
  }
  const checked = await checkOutputs(cluster, topics, outputs, expected, error);
  const apps = from && to ? to.committed - from.committed : 0;
  const sec = from && to ? (to.t - from.t) / 1000 : Number.NaN;
  const cpu = from && to ? to.cpu - from.cpu : Number.NaN;
  return {
    instances: k,
    repetition,
    appsPerSec: apps > 0 ? round(apps / sec) : Number.NaN,
    cpuSecPer100k: apps > 0 ? round((cpu / apps) * 100_000, 2) : Number.NaN,
    cores: round(cpu / sec, 2),
    beforeAllJoined: from?.committed ?? 0,
    measuredApps: apps,
    measuredSec: round(sec, 3),
    duplicates: checked.duplicates,
    processedAll: checked.processedAll,
    ...(checked.error ? { error: checked.error } : {}),
  };
}

export async function scalingScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = performance.now();
  const { cluster, sizes } = ctx;
  // Three processes need a longer backlog than one to reach their steady rate after the join.
  const n = sizes.n * 3;
  const input = cluster.topics('sc').applications;
  await cluster.create({ ...cluster.topics('sc'), applications: input }, ['applications']);
  ctx.log(`scaling: pre-loading ${n} applications into ${input}`);
  const stats = await cluster.preload(input, n, { invalidShare: sizes.invalidShare });
  const expected = { valid: stats.sent - stats.invalid, invalid: stats.invalid };
  const runs: ScalingRun[] = [];
  const reps = Math.max(1, Math.min(sizes.repetitions, 3));
  for (let rep = 0; rep < reps; rep++) {
    // Alternate the order (1,2,3 then 3,2,1) so a drifting machine does not favour one count.
    const order = rep % 2 === 0 ? [...SCALING_INSTANCES] : [...SCALING_INSTANCES].reverse();
    for (const k of order) {
      const r = await runScaled(ctx, input, expected, k, rep);
      ctx.log(`scaling: rep ${rep + 1}/${reps} ${k} instance(s): ${r.error ? `FAILED ${r.error.split('\n')[0]}` : `${r.appsPerSec} apps/s, ${r.cores} cores, ${r.cpuSecPer100k} CPU s/100k (${r.beforeAllJoined} before all joined)`}`);
      runs.push(r);
    }
  }
  const contenders: Record<string, Record<string, unknown>> = {};
  for (const k of SCALING_INSTANCES) {
    const mine = runs.filter((r) => r.instances === k && !r.error);
    contenders[`scorer-eos x${k}`] = {
      description: `${k} scorer process(es), exactly-once, default settings, one consumer group`,
      appsPerSec: mine.length ? spread(mine.map((r) => r.appsPerSec)) : null,
      cpuSecPer100k: mine.length ? spread(mine.map((r) => r.cpuSecPer100k)) : null,
      cores: mine.length ? spread(mine.map((r) => r.cores)) : null,
      processedAll: runs.filter((r) => r.instances === k).every((r) => r.processedAll),
      runs: runs.filter((r) => r.instances === k),
    };
  }
  const med = (k: number) => (contenders[`scorer-eos x${k}`]?.appsPerSec as { median: number } | null)?.median ?? Number.NaN;
  const failed = runs.filter((r) => r.error);
  return {
    scenario: 'scaling',
    description: 'Applications/s of 1, 2 and 3 scorer processes in one group on the same backlog (rate from the last join to the last commit), and the speed-up over one',
    machine: ctx.machine,
    n,
    repetitions: reps,
    contenders,
    ratios: { 'x2/x1': ratio(med(2), med(1)), 'x3/x1': ratio(med(3), med(1)) },
    targets: [],
    notes: [
      `${expected.valid} valid + ${expected.invalid} invalid applications, 6 partitions (x1: 6 partitions per process, x2: 3, x3: 2), the broker on the same machine`,
      `the machine has ${ctx.machine.cores} cores shared by the broker, the scorers and the harness: beyond them scaling cannot be linear`,
    ],
    ...(failed.length ? { error: failed.map((r) => `x${r.instances} rep ${r.repetition}: ${r.error!.split('\n')[0]}`).join('; ') } : {}),
    seconds: round((performance.now() - started) / 1000, 1),
  };
}
