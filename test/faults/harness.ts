/**
 * Shared parts of the fault tests: a fresh set of topics and a consumer group, scorer processes, a
 * simulator stream, and the verdict read back with read_committed readers — exactly one decision and one
 * scoring-log record per valid application, one dead letter per invalid one — plus the stall: the longest
 * time without a committed decision while applications were waiting (from the decisions' scored_at).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { produceApplications, type ProduceStats } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import type { IdempotentProducer } from '../../services/shared/kafka/producers.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { startService, type ServiceProcess } from '../../support/processes.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'faults');

export interface FaultRun {
  readonly topics: Record<string, string>;
  readonly groupId: string;
  readonly registry: AvroRegistry;
  readonly schemaId: number;
  readonly processes: ServiceProcess[];
  /** A scorer process for this run (instance id `name`). */
  scorer(name: string, extra?: Record<string, string>): ServiceProcess;
  /** Starts the stream; resolves with what was sent. */
  produce(count: number, ratePerSec: number, opts?: { invalidShare?: number; seed?: number }): Promise<ProduceStats>;
  killAll(): void;
}

export async function faultRun(
  prefix: string,
  env: (topics: Record<string, string>) => Record<string, string> = (t) => serviceEnv(t),
  /** Topics beyond the scorer's four, e.g. modelUpdates and modelEvents for a scorer that follows promotions. */
  extraRoles: readonly string[] = [],
): Promise<FaultRun> {
  const topics = uniqueTopics(prefix);
  const groupId = `scorer-${prefix}-${randomUUID().slice(0, 8)}`;
  // Retried: right after a broker restart its metadata may still be settling.
  for (let attempt = 1; ; attempt++) {
    try {
      await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', ...extraRoles]);
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
      await sleep(2000);
    }
  }
  const registry = registryClient();
  const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
  await registry.warm(schemaId);
  const processes: ServiceProcess[] = [];
  const base = {
    SCORER_GROUP_ID: groupId,
    MODEL_DIR: initialModelDir(),
    SCORER_FOLLOW_MODEL_UPDATES: 'false',
    SCORER_MAX_BATCH: '200',
    SCORER_SESSION_TIMEOUT: '6s',
    SCORER_HEARTBEAT_INTERVAL: '1s',
    SCORER_LAG_POLL_INTERVAL: '1s',
    // info: the recovery lines (joined consumer group, kafka session recovered) are what the tests read.
    LOG_LEVEL: 'info',
  };
  return {
    topics,
    groupId,
    registry,
    schemaId,
    processes,
    scorer(name, extra = {}) {
      const p = startService('services/scorer/main.ts', { ...env(topics), ...base, SCORER_INSTANCE_ID: name, ...extra });
      // The whole output of every scorer of a fault run, for the post-mortem of a failed run.
      mkdirSync(ARTIFACTS, { recursive: true });
      const log = createWriteStream(join(ARTIFACTS, `${prefix}-${name}.log`), { flags: 'a' });
      p.child.stdout!.pipe(log);
      p.child.stderr!.pipe(log);
      processes.push(p);
      return p;
    },
    async produce(count, ratePerSec, opts = {}) {
      const producer: IdempotentProducer = kafkaClient(`${prefix}-producer`).producer();
      await producer.connect();
      try {
        return await produceApplications(producer, registry, schemaId, populationSource({ seed: opts.seed ?? 7, runId: `${prefix}-${opts.seed ?? 7}` }), {
          topic: topics.applications!,
          count,
          ratePerSec,
          invalidShare: opts.invalidShare ?? 0.05,
          collectIds: true,
        });
      } finally {
        await producer.disconnect();
      }
    },
    killAll() {
      for (const p of processes) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
      }
    },
  };
}

export interface Verdict {
  readonly decisions: number;
  readonly uniqueDecisions: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly logs: number;
  readonly uniqueLogs: number;
  readonly deadLetters: number;
  /** Longest gap between consecutive committed decisions (s): the stall a fault caused. */
  readonly stallSeconds: number;
  /** scored_at of every committed decision (epoch ms). */
  readonly scoredAt: readonly number[];
}

/** Longest gap between consecutive commit times, in seconds. */
export function longestGap(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!);
  return Math.round(gap / 100) / 10;
}

export async function verdict(run: FaultRun, stats: ProduceStats, timeoutMs = 90_000): Promise<Verdict> {
  const valid = stats.validIds!.length;
  const [decisions, logs, dead] = await Promise.all([
    readTopic(run.topics.decisions!, { expected: valid, timeoutMs }),
    readTopic(run.topics.scoringLog!, { expected: valid, timeoutMs }),
    readTopic(run.topics.deadLetters!, { expected: stats.invalid, timeoutMs }),
  ]);
  const d = await decodeValues<{ application_id: string; scored_at: number }>(run.registry, decisions.messages);
  const l = await decodeValues<{ application_id: string }>(run.registry, logs.messages);
  const ids = new Set(d.map((x) => x.application_id));
  const lost = stats.validIds!.filter((id) => !ids.has(id)).length;
  return {
    decisions: d.length,
    uniqueDecisions: ids.size,
    duplicates: d.length - ids.size,
    lost,
    logs: l.length,
    uniqueLogs: new Set(l.map((x) => x.application_id)).size,
    deadLetters: dead.messages.length,
    stallSeconds: longestGap(d.map((x) => x.scored_at)),
    scoredAt: d.map((x) => x.scored_at),
  };
}

/** Resolves once the scorer has joined its group (a fault "mid-stream" needs a scorer that is working). */
export async function joined(p: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!/joined consumer group/.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`the scorer exited (${p.child.exitCode}) before joining: ${p.output().slice(-2000)}`);
    if (Date.now() > until) throw new Error(`the scorer did not join within ${timeoutMs} ms: ${p.output().slice(-2000)}`);
    await sleep(200);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Consumer lag of the run's group, or undefined while the (restarting) broker cannot answer. */
export async function lagOf(run: FaultRun): Promise<number | undefined> {
  try {
    return await groupLag(run.groupId, run.topics.applications!);
  } catch {
    return undefined;
  }
}
