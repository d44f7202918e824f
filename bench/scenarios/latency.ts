/**
 * Scenario 5: latency under load. The contender runs on fresh topics; once it has joined its group the
 * harness produces applications at a fixed offered rate (submitted_at = the moment each is produced) and
 * a read_committed consumer in the harness notes when each decision becomes visible, i.e. committed.
 * Latency = visible - submitted_at, for applications submitted after a warm-up. Memory and lag are
 * sampled throughout: under a rate the contender cannot sustain, lag should grow while RSS stays flat.
 */
import { randomUUID } from 'node:crypto';
import type { BenchCluster } from '../lib/cluster.ts';
import { selectedContenders, type StreamContender } from '../lib/contenders.ts';
import { usage } from '../lib/proc.ts';
import { fetchScorerMetrics, type ScorerMetrics } from '../lib/scorer-metrics.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { orderFor, percentile, round, spread } from '../lib/stats.ts';
import { isSecureTwin } from '../lib/transport.ts';

/** Latency runs the default-settings contenders unless --contenders names others (each costs 2 x 15 s). */
const LATENCY_DEFAULT = ['scorer-eos', 'scorer-alo', 'peer-a'];

interface LatencyRun {
  readonly contender: string;
  readonly rate: number;
  readonly repetition: number;
  readonly sent: number;
  readonly measured: number;
  readonly missing: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Achieved production rate (the harness's producer can fall behind the offered rate). */
  readonly producedPerSec: number;
  readonly cores: number;
  readonly rssMbAtLoadStart: number;
  readonly rssMbMax: number;
  readonly rssMbAtEnd: number;
  readonly maxLag: number;
  /** The scorer's own metrics at the end of the run (chunk sizes and times, in-process latency). */
  readonly scorerMetrics?: ScorerMetrics;
  /** The contender's last output lines, kept when something looks wrong (missing decisions, p50 > 1 s). */
  readonly outputTail?: string;
  readonly error?: string;
}

/** Index i from the key "bench-<i>" of application i (bench/lib/cluster.ts preloads with runId "bench"). */
function indexOf(key: Buffer | null): number {
  if (!key) return -1;
  const s = key.toString();
  const dash = s.lastIndexOf('-');
  return dash < 0 ? -1 : Number(s.slice(dash + 1));
}

async function latencyRun(ctx: BenchContext, c: StreamContender, rate: number, repetition: number): Promise<LatencyRun> {
  const cluster: BenchCluster = ctx.cluster;
  const label = `lat-${c.id}-${rate}-r${repetition}`;
  const topics = cluster.topics(label);
  await cluster.create(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
  const count = Math.round(rate * ctx.sizes.latencySeconds);
  const warmupMs = ctx.quick ? 500 : 2000;
  const sentAt = new Float64Array(count);
  const seenAt = new Float64Array(count);
  let seen = 0;
  const groupId = `bench-${cluster.runId}-${label}`;
  // The input schema is registered before the contender starts, as an upstream producer would have.
  await cluster.registry.registerValueSchema(topics.applications, 'loan-application');
  const proc = c.start(cluster, topics, groupId, ctx.profileDir ? { profileDir: ctx.profileDir } : {});
  let joined!: () => void;
  const assigned = new Promise<void>((r) => (joined = r));
  // read_committed, like every consumer of the decisions; up to 100 ms per poll, as the kafkajs observer had.
  const observer = cluster.kafka.consumer(
    { groupId: `bench-observer-${randomUUID()}`, topics: [topics.decisions], fromBeginning: true, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, maxBatchMessages: 1000, maxWaitMs: 100 },
    { onAssigned: () => joined() },
  );
  const samples: { rss: number; lag: number; cpu: number; t: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let error: string | undefined;
  let produceSec = Number.NaN;
  let scorerMetrics: ScorerMetrics | undefined;
  try {
    await proc.waitFor(c.joined, 120_000);
    await observer.connect();
    observer.run(async (batch) => {
      const now = performance.timeOrigin + performance.now();
      for (const m of batch.messages) {
        const i = indexOf(m.key);
        if (i >= 0 && i < count && seenAt[i] === 0) {
          seenAt[i] = now;
          seen++;
        }
      }
    });
    await assigned;
    sampler = setInterval(() => {
      const u = usage(proc.pid);
      if (!u) return;
      void Promise.all([cluster.endOffsets(topics.applications), cluster.committed(groupId, topics.applications)]).then(
        ([end, done]) => samples.push({ rss: u.rssMb, lag: end - done, cpu: u.cpuSec, t: performance.now() }),
        () => undefined,
      );
    }, 250);
    const t0 = performance.now();
    await cluster.preload(topics.applications, count, { ratePerSec: rate, clock: (i) => (sentAt[i] = Date.now()) });
    produceSec = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 30_000;
    while (seen < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    scorerMetrics = await fetchScorerMetrics(proc);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    if (sampler) clearInterval(sampler);
    await observer.disconnect().catch(() => undefined);
    await proc.stop(ctx.profileDir ? 60_000 : 3000);
    await cluster.cleanup(Object.values(topics));
  }
  const start = sentAt[0]! + warmupMs;
  const lat: number[] = [];
  let missing = 0;
  for (let i = 0; i < count; i++) {
    if (sentAt[i]! < start) continue;
    if (seenAt[i] === 0) missing++;
    else lat.push(seenAt[i]! - sentAt[i]!);
  }
  const first = samples[0];
  const last = samples.at(-1);
  const cpuSec = first && last ? last.cpu - first.cpu : Number.NaN;
  const wall = first && last ? (last.t - first.t) / 1000 : Number.NaN;
  if (!error && missing > 0) error = `${missing} decisions not seen within 30 s after producing`;
  const p50 = percentile(lat, 0.5);
  const suspicious = error !== undefined || !(p50 < 1000);
  return {
    contender: c.id,
    rate,
    repetition,
    sent: count,
    measured: lat.length,
    missing,
    p50Ms: round(p50, 1),
    p99Ms: round(percentile(lat, 0.99), 1),
    p999Ms: round(percentile(lat, 0.999), 1),
    maxMs: round(Math.max(...lat), 1),
    producedPerSec: round(count / produceSec),
    cores: round(cpuSec / wall, 2),
    rssMbAtLoadStart: round(first?.rss ?? NaN, 1),
    rssMbMax: round(Math.max(...samples.map((s) => s.rss)), 1),
    rssMbAtEnd: round(last?.rss ?? NaN, 1),
    maxLag: Math.max(0, ...samples.map((s) => s.lag)),
    ...(scorerMetrics ? { scorerMetrics } : {}),
    ...(suspicious ? { outputTail: proc.output().slice(-3000) } : {}),
    ...(error ? { error } : {}),
  };
}

export async function latencyScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = performance.now();
  const { sizes } = ctx;
  const runs: LatencyRun[] = [];
  // The SASL_SSL twins (--secure) are measured for throughput only: latency runs on the plaintext cluster.
  const streamContenders = selectedContenders(ctx.contenders?.filter((id) => !isSecureTwin(id)) ?? LATENCY_DEFAULT);
  for (let rep = 0; rep < sizes.latencyRepetitions; rep++) {
    for (const rate of sizes.latencyRates) {
      for (const c of orderFor(streamContenders, rep + sizes.latencyRates.indexOf(rate))) {
        const r = await latencyRun(ctx, c, rate, rep);
        ctx.log(`latency: ${c.id} at ${rate}/s: ${r.error ? `FAILED ${r.error.split('\n')[0]}` : `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, p99.9 ${r.p999Ms} ms; max lag ${r.maxLag}, RSS ${r.rssMbAtLoadStart} -> ${r.rssMbAtEnd} MB`}`);
        runs.push(r);
      }
    }
  }
  const contenders: Record<string, Record<string, unknown>> = {};
  for (const c of streamContenders) {
    const byRate: Record<string, unknown> = {};
    for (const rate of sizes.latencyRates) {
      const mine = runs.filter((r) => r.contender === c.id && r.rate === rate && !r.error);
      byRate[`${rate}/s`] = mine.length
        ? { p50Ms: spread(mine.map((r) => r.p50Ms)), p99Ms: spread(mine.map((r) => r.p99Ms)), p999Ms: spread(mine.map((r) => r.p999Ms)), maxLag: Math.max(...mine.map((r) => r.maxLag)) }
        : null;
    }
    contenders[c.id] = { description: c.description, ...byRate, processedAll: runs.filter((r) => r.contender === c.id).every((r) => !r.error), runs: runs.filter((r) => r.contender === c.id) };
  }
  const failed = runs.filter((r) => r.error);
  return {
    scenario: 'latency',
    description: `End-to-end latency at fixed offered rates (${sizes.latencyRates.join(', ')}/s for ${sizes.latencySeconds} s each): from submitted_at to the decision being visible to a read_committed consumer; the first ${ctx.quick ? 0.5 : 2} s are warm-up`,
    machine: ctx.machine,
    n: sizes.latencyRates.reduce((s, r) => s + r * sizes.latencySeconds, 0),
    repetitions: sizes.latencyRepetitions,
    contenders,
    ratios: {},
    targets: [],
    notes: ['the harness produces in batches every 50 ms (services/simulator/producer.ts), so applications arrive in small bursts; the observing consumer runs in the harness process'],
    ...(failed.length ? { error: failed.map((r) => `${r.contender} at ${r.rate}/s: ${r.error!.split('\n')[0]}`).join('; ') } : {}),
    seconds: round((performance.now() - started) / 1000, 1),
  };
}
