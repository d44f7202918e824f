/**
 * Replication of new topics follows the cluster's own default.replication.factor, not the brokers that
 * happen to be alive (services/shared/kafka/topics.ts replicationCap), and a topic the cluster cannot
 * replicate as asked is refused with a retriable error naming the cause — checked against the real broker
 * of the run (one broker: default.replication.factor 1). The 3-broker side is in three-brokers.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ensureTopics, protocolErrorTypes, replicationCap } from '../../services/shared/kafka/topics.ts';
import { kafkaClient } from '../helpers/cluster.ts';

describe('replication of new topics', () => {
  it("reads the cap from the broker's default.replication.factor", async () => {
    const admin = kafkaClient('replication-cap').admin();
    await admin.connect();
    try {
      const cap = await replicationCap(admin);
      expect(cap).toEqual({ cap: 1, from: 'default.replication.factor' });
      const topic = `rf-${randomUUID().slice(0, 8)}`;
      await ensureTopics(admin, { deadLetters: topic }, ['deadLetters']);
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(md.topics[0]!.partitions.every((p) => p.replicas.length === 1)).toBe(true);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });

  it('a replication factor above the live brokers is refused by the broker as INVALID_REPLICATION_FACTOR, found through kafkajs\' error chain', async () => {
    const admin = kafkaClient('replication-cap').admin();
    await admin.connect();
    try {
      const topic = `rf-${randomUUID().slice(0, 8)}`;
      const raw = await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The shape ensureTopics reads to call the failure retriable (a broker still registering or restarting).
      expect(protocolErrorTypes(raw)).toContain('INVALID_REPLICATION_FACTOR');
      expect((await admin.listTopics()).includes(topic)).toBe(false);
    } finally {
      await admin.disconnect();
    }
  });
});
