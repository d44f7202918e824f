/**
 * Scenario 1 + 2: the streaming contenders on the same pre-loaded applications. One fresh 6-partition
 * input topic per scenario, filled once; every run reads all of it with a fresh consumer group into fresh
 * output topics. The rate is measured from the group's committed offsets, which the harness polls: from
 * the first commit to the commit of the last application, so process start-up and group join are not
 * counted. CPU comes from /proc over the same interval (all threads), memory is the peak RSS.
 *
 * With --secure the same applications (same seed, same keys, same partitions) are also pre-loaded into a
 * topic of the secured broker, and the scorer's SASL_SSL twins read that one, interleaved with the
 * plaintext runs; the TLS overhead is the ratio of the two (bench/lib/transport.ts).
 */
import { selectedContenders, type StreamContender } from '../lib/contenders.ts';
import type { BenchCluster, TopicSet } from '../lib/cluster.ts';
import { recordSizes } from '../lib/data.ts';
import { usage, type Proc } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult, SecureRunInfo } from '../lib/scenario.ts';
import { target } from '../lib/scenario.ts';
import { orderFor, pairedRatio, ratio, round, spread } from '../lib/stats.ts';
import { tlsRatios } from '../lib/transport.ts';

/** --quick checks the harness, not the speed: one contender per kind (each start loads a model, ~5 s). */
const QUICK_CONTENDERS = ['scorer-eos', 'scorer-alo', 'peer-a'];

const POLL_MS = 50;
const STALL_MS = 30_000;

export interface StreamRun {
  readonly contender: string;
  readonly repetition: number;
  readonly position: number;
  readonly appsPerSec: number;
  readonly cpuSecPer100k: number;
  /** CPU cores busy on average while measuring (cpu seconds / wall seconds). */
  readonly cores: number;
  readonly peakRssMb: number;
  /** RSS when a quarter and when all of the backlog was done: flat means bounded under overload. */
  readonly rssMbAtQuarter: number;
  readonly rssMbAtEnd: number;
  /** RSS at each tenth of the backlog committed (10% ... 100%). */
  readonly rssMbByTenth: readonly number[];
  readonly measuredApps: number;
  readonly measuredSec: number;
  readonly decisions: number;
  readonly deadLetters: number;
  readonly duplicates: number;
  readonly processedAll: boolean;
  /** Wall seconds: process start to first commit (start-up, group join, first batch), stop, output check. */
  readonly phases: { readonly toFirstCommit: number; readonly stop: number; readonly check: number };
  readonly error?: string;
}

interface Sample {
  readonly t: number;
  readonly committed: number;
  readonly cpuSec: number;
}

/**
 * What a run left on its output topics: every valid application decided and every invalid one dead-lettered,
 * each once (nothing read when the run already failed). Deletes the run's output topics afterwards.
 */
export async function checkOutputs(cluster: BenchCluster, topics: TopicSet, outputs: readonly string[], expected: { valid: number; invalid: number }, error: string | undefined): Promise<{ decisions: number; deadLetters: number; duplicates: number; processedAll: boolean; error?: string }> {
  const [decisions, dead] = error ? [{ records: 0, distinctKeys: 0 }, { records: 0, distinctKeys: 0 }] : await Promise.all([cluster.count(topics.decisions), cluster.count(topics.deadLetters)]);
  await cluster.cleanup(outputs.map((r) => topics[r]!));
  const processedAll = !error && decisions.distinctKeys === expected.valid && dead.distinctKeys === expected.invalid;
  return {
    decisions: decisions.records,
    deadLetters: dead.records,
    duplicates: decisions.records - decisions.distinctKeys + (dead.records - dead.distinctKeys),
    processedAll,
    ...(error ? { error } : !processedAll ? { error: `expected ${expected.valid} decisions + ${expected.invalid} dead letters, found ${decisions.distinctKeys} + ${dead.distinctKeys} distinct` } : {}),
  };
}

/** Runs one contender over the whole input topic and checks what it committed. */
export async function runStream(
  cluster: BenchCluster,
  contender: StreamContender,
  input: string,
  expected: { valid: number; invalid: number },
  run: { label: string; repetition: number; position: number; profileDir?: string },
): Promise<StreamRun> {
  const n = expected.valid + expected.invalid;
  const topics = cluster.topics(run.label, input);
  const groupId = `bench-${cluster.runId}-${run.label}`;
  // On a secured cluster the admin (the harness) creates every topic the contender uses and grants its
  // principal the ACLs of infra/acls.json for them and for this run's group; it creates none itself.
  const outputs = cluster.security ? contender.principal?.roles : ['decisions', 'scoringLog', 'deadLetters'];
  if (!outputs) throw new Error(`${contender.id} has no principal to run as on the ${cluster.transport} cluster`);
  await cluster.create(topics, outputs);
  if (contender.principal) await cluster.authorize(topics, { [contender.principal.groupEnv]: groupId });
  let proc: Proc | undefined;
  let first: Sample | undefined;
  let last: Sample | undefined;
  let before: Sample | undefined;
  let quarterRss = Number.NaN;
  const byTenth: number[] = [];
  let endRss = Number.NaN;
  let peakRss = Number.NaN;
  let error: string | undefined;
  const t0 = performance.now();
  try {
    proc = contender.start(cluster, topics, groupId, run.profileDir ? { profileDir: run.profileDir } : {});
    let progressAt = Date.now();
    let prev = -1;
    for (;;) {
      const committed = await cluster.committed(groupId, input);
      const t = performance.now();
      const u = usage(proc.pid);
      if (!u) throw new Error(`${contender.id} exited early:\n${proc.output().slice(-3000)}`);
      const s: Sample = { t, committed, cpuSec: u.cpuSec };
      if (committed > 0 && !first) first = s;
      if (committed === 0) before = s;
      if (committed >= n / 4 && Number.isNaN(quarterRss)) quarterRss = u.rssMb;
      while (byTenth.length < 10 && committed >= ((byTenth.length + 1) * n) / 10) byTenth.push(round(u.rssMb));
      if (committed !== prev) {
        prev = committed;
        progressAt = Date.now();
      }
      if (committed >= n) {
        last = s;
        // Everything committed between two samples (a small --quick run in one or two transactions): the
        // rate runs from the last sample that saw nothing committed (at most one poll interval earlier).
        if (first === s && before) first = before;
        endRss = u.rssMb;
        peakRss = u.peakRssMb;
        break;
      }
      if (Date.now() - progressAt > STALL_MS) {
        if (contender.dumpSignal) {
          proc.child.kill(contender.dumpSignal);
          await new Promise((r) => setTimeout(r, 1000));
        }
        throw new Error(`${contender.id} made no progress for ${STALL_MS / 1000} s at ${committed}/${n}:\n${proc.output().slice(-6000)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    error = (e as Error).message;
  } finally {
    // The measurement is over: a short grace (a profile is written only on a graceful exit).
    await proc?.stop(run.profileDir ? 60_000 : 3000);
  }
  const tStopped = performance.now();
  const checked = await checkOutputs(cluster, topics, outputs, expected, error);
  const tChecked = performance.now();
  const apps = first && last ? last.committed - first.committed : 0;
  const sec = first && last ? (last.t - first.t) / 1000 : Number.NaN;
  const cpu = first && last ? last.cpuSec - first.cpuSec : Number.NaN;
  return {
    contender: contender.id,
    repetition: run.repetition,
    position: run.position,
    appsPerSec: apps > 0 ? round(apps / sec) : Number.NaN,
    cpuSecPer100k: apps > 0 ? round((cpu / apps) * 100_000, 2) : Number.NaN,
    cores: round(cpu / sec, 2),
    peakRssMb: round(peakRss, 1),
    rssMbAtQuarter: round(quarterRss, 1),
    rssMbAtEnd: round(endRss, 1),
    rssMbByTenth: byTenth,
    measuredApps: apps,
    measuredSec: round(sec, 3),
    ...checked,
    phases: { toFirstCommit: round(((first?.t ?? NaN) - t0) / 1000, 2), stop: round((tStopped - (last?.t ?? NaN)) / 1000, 2), check: round((tChecked - tStopped) / 1000, 2) },
  };
}

export function summarizeRuns(runs: readonly StreamRun[], ids: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const id of ids) {
    const mine = runs.filter((r) => r.contender === id && !r.error);
    out[id] = {
      appsPerSec: mine.length ? spread(mine.map((r) => r.appsPerSec)) : null,
      cpuSecPer100k: mine.length ? spread(mine.map((r) => r.cpuSecPer100k)) : null,
      peakRssMb: mine.length ? spread(mine.map((r) => r.peakRssMb)) : null,
      processedAll: runs.filter((r) => r.contender === id).every((r) => r.processedAll),
      runs: runs.filter((r) => r.contender === id),
    };
  }
  return out;
}

export function medianOf(contenders: Record<string, Record<string, unknown>>, id: string, field = 'appsPerSec'): number {
  const s = contenders[id]?.[field] as { median: number } | null | undefined;
  return s?.median ?? Number.NaN;
}

export interface ThroughputResult extends ScenarioResult {
  /** The pre-loaded input topic (Kafka's consumer perf tool reads the same records). */
  readonly inputTopic: string;
  readonly applicationBytes: number;
  /** The discarded warm-up rounds (repetition -1, -2, ...). */
  readonly warmupRuns: readonly StreamRun[];
}

export async function throughputScenario(ctx: BenchContext): Promise<ThroughputResult> {
  const started = performance.now();
  const { cluster, sizes } = ctx;
  const input = cluster.topics('tp').applications;
  await cluster.create({ ...cluster.topics('tp'), applications: input }, ['applications']);
  ctx.log(`throughput: pre-loading ${sizes.n} applications into ${input}`);
  const stats = await cluster.preload(input, sizes.n, { invalidShare: sizes.invalidShare });
  const expected = { valid: stats.sent - stats.invalid, invalid: stats.invalid };
  const applicationBytes = recordSizes().application;
  const runs: StreamRun[] = [];
  const streamContenders = selectedContenders(ctx.contenders ?? (ctx.quick ? QUICK_CONTENDERS : undefined), ctx.baseline, Boolean(ctx.secure));
  let secureInput: string | undefined;
  if (ctx.secure && streamContenders.some((c) => c.transport === 'SASL_SSL')) {
    const sc = ctx.secure.cluster;
    secureInput = sc.topics('tp').applications;
    await sc.create({ ...sc.topics('tp'), applications: secureInput }, ['applications']);
    ctx.log(`throughput: pre-loading the same ${sizes.n} applications into ${secureInput} on the SASL_SSL broker ${ctx.secure.brokers}`);
    const s = await sc.preload(secureInput, sizes.n, { invalidShare: sizes.invalidShare });
    if (s.sent !== stats.sent || s.invalid !== stats.invalid) throw new Error(`the SASL_SSL broker got ${s.sent} applications (${s.invalid} invalid), the plaintext one ${stats.sent} (${stats.invalid})`);
  }
  const clusterOf = (c: StreamContender) => (c.transport === 'SASL_SSL' ? { on: ctx.secure!.cluster, topic: secureInput! } : { on: cluster, topic: input });
  const warmups: StreamRun[] = [];
  for (let w = 0; w < sizes.warmupRounds; w++) {
    for (const [position, c] of orderFor(streamContenders, w).entries()) {
      const { on, topic } = clusterOf(c);
      const r = await runStream(on, c, topic, expected, { label: `tp-${c.id}-w${w}`, repetition: -1 - w, position });
      ctx.log(`throughput: warm-up ${w + 1}/${sizes.warmupRounds} ${c.id}: ${r.error ? `FAILED ${r.error.split('\n')[0]}` : `${r.appsPerSec} apps/s (discarded)`}`);
      warmups.push(r);
    }
  }
  for (let rep = 0; rep < sizes.repetitions; rep++) {
    const order = orderFor(streamContenders, rep);
    for (const [position, c] of order.entries()) {
      const { on, topic } = clusterOf(c);
      const r = await runStream(on, c, topic, expected, { label: `tp-${c.id}-r${rep}`, repetition: rep, position, ...(ctx.profileDir ? { profileDir: ctx.profileDir } : {}) });
      ctx.log(`throughput: rep ${rep + 1}/${sizes.repetitions} ${c.id}: ${r.error ? `FAILED ${r.error.split('\n')[0]}` : `${r.appsPerSec} apps/s, ${r.cpuSecPer100k} CPU s/100k, peak RSS ${r.peakRssMb} MB`}`);
      runs.push(r);
    }
  }
  const contenders = summarizeRuns(
    runs,
    streamContenders.map((c) => c.id),
  );
  for (const c of streamContenders) contenders[c.id]!.description = c.description;
  const alo = medianOf(contenders, 'scorer-alo');
  const eos = medianOf(contenders, 'scorer-eos');
  const peerA = medianOf(contenders, 'peer-a');
  const peerAReasons = medianOf(contenders, 'peer-a-reasons');
  const plain = medianOf(contenders, 'scorer-eos-noexplain');
  const aloPlain = medianOf(contenders, 'scorer-alo-noexplain');
  // The same work as the baseline commit did (no explanations), against it in the same run (--baseline).
  const baseEos = medianOf(contenders, 'baseline-eos');
  const baseAlo = medianOf(contenders, 'baseline-alo');
  const baseLabel = ctx.baseline ? `baseline ${ctx.baseline.commit.slice(0, 7)}` : 'baseline';
  const cpuOn = medianOf(contenders, 'scorer-eos', 'cpuSecPer100k');
  const cpuOff = medianOf(contenders, 'scorer-eos-noexplain', 'cpuSecPer100k');
  // The same two contenders within each repetition, median over repetitions (see pairedRatio).
  const paired = (a: string, b: string, field: 'appsPerSec' | 'cpuSecPer100k' = 'appsPerSec') =>
    pairedRatio(runs.filter((r) => !r.error), (r) => r.contender === a, (r) => r.contender === b, (r) => r[field]);
  const failed = [...warmups, ...runs].filter((r) => r.error);
  const secureInfo: SecureRunInfo | undefined =
    secureInput && ctx.secure
      ? {
          brokers: ctx.secure.brokers,
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-512',
          tls: ctx.secure.tls,
          harnessPrincipal: 'admin',
          contenderPrincipal: streamContenders.find((c) => c.transport === 'SASL_SSL')?.principal?.name ?? 'unknown',
          inputTopic: secureInput,
          cluster: await ctx.secure.cluster.describe(),
        }
      : undefined;
  return {
    scenario: 'throughput',
    description: 'Applications/s from a pre-loaded topic to committed output (decode, validate, score, decision + scoring-log record, commit), CPU seconds per 100k applications, peak RSS',
    machine: ctx.machine,
    n: sizes.n,
    repetitions: sizes.repetitions,
    contenders,
    ratios: {
      'scorer-alo/peer-a': ratio(alo, peerA),
      'scorer-eos/peer-a': ratio(eos, peerA),
      'scorer-eos/peer-a-reasons': ratio(eos, peerAReasons),
      'scorer-eos/scorer-alo': ratio(eos, alo),
      // Explanations (TreeSHAP contributions + reasons) on vs off, exactly-once; CPU s per 100k both ways.
      'scorer-eos/scorer-eos-noexplain': ratio(eos, plain),
      'cpu-per-100k scorer-eos/scorer-eos-noexplain': ratio(cpuOn, cpuOff),
      'scorer-alo/scorer-alo-noexplain': ratio(alo, aloPlain),
      'scorer-eos-noexplain/baseline-eos': ratio(plain, baseEos),
      'scorer-alo-noexplain/baseline-alo': ratio(aloPlain, baseAlo),
      'scorer-eos/baseline-eos': ratio(eos, baseEos),
      'paired scorer-eos-noexplain/baseline-eos': paired('scorer-eos-noexplain', 'baseline-eos'),
      'paired scorer-alo-noexplain/baseline-alo': paired('scorer-alo-noexplain', 'baseline-alo'),
      'paired cpu-per-100k scorer-eos-noexplain/baseline-eos': paired('scorer-eos-noexplain', 'baseline-eos', 'cpuSecPer100k'),
      'paired cpu-per-100k scorer-alo-noexplain/baseline-alo': paired('scorer-alo-noexplain', 'baseline-alo', 'cpuSecPer100k'),
      'paired scorer-eos/scorer-eos-noexplain': paired('scorer-eos', 'scorer-eos-noexplain'),
      // --secure: the same contender through the SASL_SSL listener over plaintext, applications/s and CPU s per 100k.
      ...tlsRatios(contenders),
    },
    targets: [
      target('scorer at-least-once / Peer A', ratio(alo, peerA), 'min', 1.5),
      target('scorer exactly-once with reasons / Peer A', ratio(eos, peerA), 'min', 2),
      target('scorer exactly-once with reasons / Peer A with reasons', ratio(eos, peerAReasons), 'min', 1.5),
      target('exactly-once with reasons / without', ratio(eos, plain), 'min', 0.85),
      ...(ctx.baseline
        ? [
            target(`exactly-once without reasons / ${baseLabel}, paired per repetition`, paired('scorer-eos-noexplain', 'baseline-eos'), 'min', 0.9),
            target(`at-least-once without reasons / ${baseLabel}, paired per repetition`, paired('scorer-alo-noexplain', 'baseline-alo'), 'min', 0.9),
          ]
        : []),
    ],
    notes: [
      `${expected.valid} valid + ${expected.invalid} invalid applications (every invalid kind of services/simulator/invalid.ts), ${applicationBytes} bytes per Avro value on average, 6 partitions`,
      'order of contenders rotates and reverses across repetitions; each run uses a fresh consumer group and fresh output topics',
      `${sizes.warmupRounds} warm-up round(s) of every contender ran first and are not in the figures (warmupRuns); "paired" ratios are the median over repetitions of the ratio within one repetition`,
      ...(secureInfo
        ? [
            `*-sasl_ssl: the same applications pre-loaded into ${secureInfo.inputTopic} on a second, secured broker (${secureInfo.brokers}; a single node with the local stack's heap and JVM flags) and read through its SASL_SSL listener (SCRAM-SHA-512, ${secureInfo.tls.protocol} ${secureInfo.tls.cipher}) as User:${secureInfo.contenderPrincipal} with the ACLs of infra/acls.json; the harness is User:admin there; both brokers use the same schema registry (${cluster.conn.registry.url})`,
            ...(ctx.machine.cluster && ctx.machine.cluster.replicationFactor !== secureInfo.cluster.replicationFactor
              ? [`the plaintext cluster has ${ctx.machine.cluster.brokers} brokers (replication factor ${ctx.machine.cluster.replicationFactor}), the secured one ${secureInfo.cluster.brokers}: the SASL_SSL ratio mixes replication in; run it against the one-broker stack`]
              : []),
          ]
        : []),
    ],
    ...(failed.length ? { error: failed.map((r) => `${r.contender} rep ${r.repetition}: ${r.error!.split('\n')[0]}`).join('; ') } : {}),
    seconds: round((performance.now() - started) / 1000, 1),
    inputTopic: input,
    applicationBytes,
    warmupRuns: warmups,
    ...(ctx.baseline ? { baselineCommit: ctx.baseline.commit } : {}),
    ...(secureInfo ? { secure: secureInfo } : {}),
  };
}
