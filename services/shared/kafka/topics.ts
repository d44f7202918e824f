/** Topic definitions come from infra/topics.json (one source of truth); names can be overridden by env. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, ITopicConfig } from 'kafkajs';
import { REPO_ROOT } from '../schemas.ts';
import { ServiceError } from '../errors.ts';
import { pollUntil } from '../retry.ts';

export interface TopicDefinition {
  readonly name: string;
  readonly env: string;
  readonly key: string;
  readonly schema: string;
  readonly partitions?: number;
  /** Who writes and who reads the topic, and what a reader can rely on (documentation: docs/asyncapi.yaml). */
  readonly publishers?: readonly string[];
  readonly subscribers?: readonly string[];
  readonly delivery?: string;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  readonly config: Readonly<Record<string, string>>;
}

interface TopicsFile {
  readonly defaults: { readonly partitions: number; readonly replicationFactor: number; readonly minInsyncReplicas: number };
  readonly topics: Readonly<Record<string, TopicDefinition>>;
}

export const TOPICS_FILE: TopicsFile = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'topics.json'), 'utf8')) as TopicsFile;

export type TopicRole = keyof typeof TOPICS_FILE.topics & string;
export type TopicNames = Readonly<Record<string, string>> & {
  readonly applications: string;
  readonly decisions: string;
  readonly scoringLog: string;
  readonly deadLetters: string;
  readonly modelUpdates: string;
  readonly modelEvents: string;
  readonly outcomes: string;
};

export function topicNamesFromEnv(rawEnv: NodeJS.ProcessEnv): TopicNames {
  const names: Record<string, string> = {};
  for (const [role, def] of Object.entries(TOPICS_FILE.topics)) names[role] = rawEnv[def.env] || def.name;
  return Object.freeze(names) as TopicNames;
}

export function topicDefinition(role: string): TopicDefinition {
  const def = TOPICS_FILE.topics[role];
  if (!def) throw new Error(`no topic role "${role}" in infra/topics.json`);
  return def;
}

/**
 * A role's replication on a cluster of `brokers` brokers: its target replication factor capped by the
 * broker count, and min.insync.replicas capped at replicas - 1 (at least 1) so that one broker may be down
 * without stopping acks=all writes. 3 brokers: RF 3, min.insync 2; 1 broker: RF 1, min.insync 1.
 */
export function replicationFor(def: Pick<TopicDefinition, 'replicationFactor' | 'minInsyncReplicas'>, brokers: number): { replicationFactor: number; minInsyncReplicas: number } {
  const target = def.replicationFactor ?? TOPICS_FILE.defaults.replicationFactor;
  const replicationFactor = Math.max(1, Math.min(target, brokers));
  const minInsyncReplicas = Math.max(1, Math.min(def.minInsyncReplicas ?? TOPICS_FILE.defaults.minInsyncReplicas, replicationFactor - 1));
  return { replicationFactor, minInsyncReplicas };
}

/** kafkajs' ConfigResourceTypes.BROKER (a type-only import keeps kafkajs' values behind kafkajs.ts). */
const BROKER_RESOURCE = 4;

/**
 * How many replicas a new topic may get on this cluster: the cluster's own `default.replication.factor`
 * (what its operator set for its size: 1 on the one-broker stack, 3 on three), read from a broker's
 * config — not the brokers alive right now, which gave topics 2 replicas on a 3-broker cluster whose third
 * broker was still registering (or restarting). With fewer brokers alive than that, Kafka refuses the
 * topic (INVALID_REPLICATION_FACTOR, retried by the services' start-up) instead of creating it
 * under-replicated for good. A principal without DescribeConfigs on the cluster gets the live broker count.
 */
export async function replicationCap(admin: Admin): Promise<{ readonly cap: number; readonly from: 'default.replication.factor' | 'live brokers' }> {
  const cluster = await admin.describeCluster();
  const live = cluster.brokers.length;
  const broker = cluster.brokers[0]?.nodeId ?? cluster.controller;
  try {
    const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: BROKER_RESOURCE, name: String(broker), configNames: ['default.replication.factor'] }] });
    const v = Number(r.resources[0]?.configEntries.find((e) => e.configName === 'default.replication.factor')?.configValue);
    if (Number.isInteger(v) && v >= 1) return { cap: v, from: 'default.replication.factor' };
  } catch {
    // Not allowed to describe the cluster's configs: fall back to what is alive.
  }
  return { cap: live, from: 'live brokers' };
}

/** The protocol error types in a kafkajs error chain (its causes and an aggregate's errors). */
export function protocolErrorTypes(e: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== 'object' || depth > 8) return;
    const o = x as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.type === 'string') out.push(o.type);
    if (Array.isArray(o.errors)) for (const c of o.errors) walk(c, depth + 1);
    walk(o.cause, depth + 1);
  };
  walk(e, 0);
  return out;
}

/** How long a topic that should exist may stay unknown to the broker asked (metadata propagation between brokers). */
export const TOPIC_VISIBLE_WITHIN_MS = 5000;

/**
 * Creates the topics for `roles` (with the names in `names`) if missing. Idempotent; an existing topic
 * with a different partition count is reported, not changed. Replication follows `replicationFor` capped
 * by `replicationCap` (an explicit `opts.replicationFactor` wins).
 */
export async function ensureTopics(
  admin: Admin,
  names: Readonly<Record<string, string>>,
  roles: readonly string[],
  opts: { partitions?: number; replicationFactor?: number } = {},
): Promise<{ created: string[]; existing: string[] }> {
  const existing = new Set(await admin.listTopics());
  const roleOf = (role: string) => names[role] ?? topicDefinition(role).name;
  const cap = roles.some((r) => !existing.has(roleOf(r))) ? await replicationCap(admin) : { cap: 1, from: 'live brokers' as const };
  const wanted: ITopicConfig[] = roles.map((role) => {
    const def = topicDefinition(role);
    const repl = replicationFor(opts.replicationFactor === undefined ? def : { ...def, replicationFactor: opts.replicationFactor }, cap.cap);
    return {
      topic: roleOf(role),
      numPartitions: opts.partitions ?? def.partitions ?? TOPICS_FILE.defaults.partitions,
      replicationFactor: repl.replicationFactor,
      configEntries: Object.entries({ 'min.insync.replicas': String(repl.minInsyncReplicas), ...def.config }).map(([name, value]) => ({ name, value })),
    };
  });
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (e) {
      // Another instance may have created them concurrently, or (several brokers) they exist and the broker
      // asked does not know yet: re-check for TOPIC_VISIBLE_WITHIN_MS before failing.
      let still: string[] = missing.map((t) => t.topic);
      await pollUntil(async () => {
        const now = new Set(await admin.listTopics());
        still = missing.filter((t) => !now.has(t.topic)).map((t) => t.topic);
        return still.length === 0;
      }, TOPIC_VISIBLE_WITHIN_MS);
      if (still.length > 0) {
        // Fewer brokers alive (or known to the broker asked) than the replication factor: a transient state
        // of a cluster that is starting or restarting a broker, so retriable, never a topic with fewer replicas.
        const tooFewBrokers = protocolErrorTypes(e).includes('INVALID_REPLICATION_FACTOR');
        const why = tooFewBrokers
          ? `fewer brokers are alive than their replication factor (${Math.max(...missing.map((t) => t.replicationFactor ?? 1))}, capped by ${cap.from} = ${cap.cap}): ${(e as Error).message}`
          : (e as Error).message;
        throw new ServiceError('TOPIC_SETUP_FAILED', `could not create topics ${still.join(', ')}: ${why}`, tooFewBrokers || (e as { retriable?: boolean }).retriable !== false, { topics: still }, { cause: e });
      }
    }
  }
  return { created: missing.map((t) => t.topic), existing: wanted.filter((t) => existing.has(t.topic)).map((t) => t.topic) };
}
