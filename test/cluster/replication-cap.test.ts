/**
 * Replication of new topics is the cluster's own: a topic of a role that pins nothing is created with
 * replication factor -1 (KIP-464: the broker's default.replication.factor) and no min.insync.replicas of
 * its own (the broker's default applies), never "the brokers alive right now"; and a topic pinned above
 * the live brokers is refused by the broker as INVALID_REPLICATION_FACTOR, read from librdkafka's error
 * code, which ensureTopics reports as a retriable TOPIC_SETUP_FAILED (services/shared/kafka/topics.ts
 * replicationOf). Checked against the real broker of the run (one broker). The 3-broker side is in
 * three-brokers.test.ts.
 *
 * The broker's and the topic's configs are read with confluent-kafka's AdminClient (the project's Python,
 * the same librdkafka): the Node binding has no DescribeConfigs.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../services/shared/errors.ts';
import { kafkaErrorCodes } from '../../services/shared/kafka/errors.ts';
import { ensureTopics } from '../../services/shared/kafka/topics.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { kafkaClient, stack } from '../helpers/cluster.ts';

interface Configs {
  readonly defaultReplicationFactor: number;
  readonly brokerMinInsync: number;
  readonly topicMinInsync: { readonly value: number; readonly source: string };
}

/** The broker's default.replication.factor and min.insync.replicas, and `topic`'s min.insync.replicas with where it comes from. */
function configs(topic: string): Configs {
  const script = `
import json, os
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, ResourceType
a = AdminClient({"bootstrap.servers": os.environ["KAFKA_BROKERS"]})
broker = next(iter(a.list_topics(timeout=10).brokers))
b, t = ConfigResource(ResourceType.BROKER, str(broker)), ConfigResource(ResourceType.TOPIC, os.environ["TOPIC"])
got = {r: f.result(timeout=10) for r, f in a.describe_configs([b, t], request_timeout=10).items()}
bc, tc = got[b], got[t]
print(json.dumps({"defaultReplicationFactor": int(bc["default.replication.factor"].value), "brokerMinInsync": int(bc["min.insync.replicas"].value),
  "topicMinInsync": {"value": int(tc["min.insync.replicas"].value), "source": ConfigSource(tc["min.insync.replicas"].source).name}}))
`;
  const r = spawnSync(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, KAFKA_BROKERS: stack().brokers, TOPIC: topic }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`describe_configs failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Configs;
}

describe('replication of new topics', () => {
  it("a new topic gets the cluster's default.replication.factor (RF -1) and the broker's default min.insync.replicas", async () => {
    const admin = kafkaClient('replication-cap').admin();
    const topic = `rf-${randomUUID().slice(0, 8)}`;
    try {
      const r = await ensureTopics(admin, { deadLetters: topic }, ['deadLetters']);
      expect(r.created).toEqual([topic]);
      const partitions = (await admin.describeTopics([topic])).get(topic)!;
      const c = configs(topic);
      expect(partitions.length).toBeGreaterThan(0);
      expect(partitions.every((p) => p.replicas.length === c.defaultReplicationFactor)).toBe(true);
      expect(c.defaultReplicationFactor).toBe(1); // the run's one-broker stack
      // No topic-level override: the value is the broker's, and its source is not the topic's own config.
      expect(c.topicMinInsync.value).toBe(c.brokerMinInsync);
      expect(c.topicMinInsync.source).not.toBe('DYNAMIC_TOPIC_CONFIG');
    } finally {
      await admin.deleteTopics([topic]);
      admin.disconnect();
    }
  });

  it('a topic pinned above the live brokers is refused as INVALID_REPLICATION_FACTOR (librdkafka error code), a retriable TOPIC_SETUP_FAILED, and not created', async () => {
    const admin = kafkaClient('replication-cap').admin();
    try {
      const raw = `rf-${randomUUID().slice(0, 8)}`;
      const refused = await admin.createTopics([{ topic: raw, numPartitions: 1, replicationFactor: 3 }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(kafkaErrorCodes(refused)).toContain('INVALID_REPLICATION_FACTOR');

      const pinned = `rf-${randomUUID().slice(0, 8)}`;
      const e = await ensureTopics(admin, { deadLetters: pinned }, ['deadLetters'], { replicationFactor: 3 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ServiceError);
      expect((e as ServiceError).code).toBe('TOPIC_SETUP_FAILED');
      expect((e as ServiceError).retriable).toBe(true);
      expect(kafkaErrorCodes(e)).toContain('INVALID_REPLICATION_FACTOR');
      expect((e as Error).message).toMatch(/fewer brokers are alive than their replication factor/);
      const topics = await admin.listTopics();
      expect(topics.includes(raw) || topics.includes(pinned)).toBe(false);
    } finally {
      admin.disconnect();
    }
  });
});
