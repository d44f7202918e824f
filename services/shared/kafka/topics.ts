/** Topic definitions come from infra/topics.json (one source of truth); names can be overridden by env. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KafkaAdmin, TopicSpec } from './admin.ts';
import { kafkaErrorCodes } from './errors.ts';
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
  readonly defaults: { readonly partitions: number };
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
 * A new topic's replication: the role's own `replicationFactor` / `minInsyncReplicas` from
 * infra/topics.json when it pins them, else the cluster's defaults (default.replication.factor via
 * replication factor -1, KIP-464, and the broker's min.insync.replicas): what the cluster's operator set
 * for its size (the local stack: 1 and 1 on one broker, 3 and 2 on three). Never "the brokers alive right
 * now": with fewer alive than the factor, Kafka refuses the topic (INVALID_REPLICATION_FACTOR, retried by
 * the services' start-up) instead of creating it under-replicated for good.
 */
export function replicationOf(def: Pick<TopicDefinition, 'replicationFactor' | 'minInsyncReplicas'>): { replicationFactor: number; config: Record<string, string> } {
  return {
    replicationFactor: def.replicationFactor ?? -1,
    config: def.minInsyncReplicas !== undefined ? { 'min.insync.replicas': String(def.minInsyncReplicas) } : {},
  };
}

/** How long a topic that should exist may stay unknown to the broker asked (metadata propagation between brokers). */
export const TOPIC_VISIBLE_WITHIN_MS = 5000;

/**
 * Creates the topics for `roles` (with the names in `names`) if missing. Idempotent; an existing topic
 * with a different partition count is reported, not changed. Replication: `replicationOf` (an explicit
 * `opts.replicationFactor` wins).
 */
export async function ensureTopics(
  admin: KafkaAdmin,
  names: Readonly<Record<string, string>>,
  roles: readonly string[],
  opts: { partitions?: number; replicationFactor?: number } = {},
): Promise<{ created: string[]; existing: string[] }> {
  const existing = new Set(await admin.listTopics());
  const roleOf = (role: string) => names[role] ?? topicDefinition(role).name;
  const wanted: TopicSpec[] = roles.map((role) => {
    const def = topicDefinition(role);
    const repl = replicationOf(opts.replicationFactor === undefined ? def : { ...def, replicationFactor: opts.replicationFactor });
    return {
      topic: roleOf(role),
      numPartitions: opts.partitions ?? def.partitions ?? TOPICS_FILE.defaults.partitions,
      replicationFactor: repl.replicationFactor,
      config: { ...repl.config, ...def.config },
    };
  });
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics(missing);
      // Like kafkajs' waitForLeaders: on several brokers a topic just created reaches each broker's metadata
      // (with its leaders) a moment later; callers describe or produce right after.
      await pollUntil(async () => {
        const md = await admin.describeTopics(missing.map((t) => t.topic), 5_000).catch(() => undefined);
        return md !== undefined && [...md.values()].every((ps) => ps.length > 0 && ps.every((p) => p.leader !== null && p.leader >= 0));
      }, TOPIC_VISIBLE_WITHIN_MS);
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
        // Fewer brokers alive than the replication factor: a transient state of a cluster that is starting or
        // restarting a broker, so retriable, never a topic with fewer replicas.
        const codes = kafkaErrorCodes(e);
        const tooFewBrokers = codes.includes('INVALID_REPLICATION_FACTOR');
        const why = tooFewBrokers ? `fewer brokers are alive than their replication factor (the cluster's default.replication.factor unless infra/topics.json pins one): ${(e as Error).message}` : (e as Error).message;
        const retriable = tooFewBrokers || !codes.some((c) => /AUTHORIZATION_FAILED|POLICY_VIOLATION|INVALID_CONFIG|INVALID_PARTITIONS/.test(c));
        throw new ServiceError('TOPIC_SETUP_FAILED', `could not create topics ${still.join(', ')}: ${why}`, retriable, { topics: still, codes }, { cause: e });
      }
    }
  }
  return { created: missing.map((t) => t.topic), existing: wanted.filter((t) => existing.has(t.topic)).map((t) => t.topic) };
}
