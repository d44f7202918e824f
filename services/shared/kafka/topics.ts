/** Creating the topics infra/topics.json defines (topic-catalog.ts) through the admin adapter. */
import type { KafkaAdmin, TopicSpec } from './admin.ts';
import { kafkaErrorCodes } from './errors.ts';
import { replicationOf, topicDefinition, TOPICS_FILE } from './topic-catalog.ts';
import { ServiceError } from '../errors.ts';
import { pollUntil } from '../retry.ts';

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
