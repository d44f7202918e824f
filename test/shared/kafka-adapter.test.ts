/**
 * The Kafka adapter (services/shared/kafka) against the real broker: idempotent sends, a consume ->
 * transform -> transactional commit loop whose offsets carry metadata, exactly-once output, and a member
 * that lost its partitions (stuck past max.poll.interval.ms) refused at commit (KIP-447 fencing through
 * the consumer's group metadata, no patch).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../../services/shared/kafka/connection.ts';
import type { ConsumerBatch } from '../../services/shared/kafka/consumer.ts';
import { CommitFencedError } from '../../services/shared/kafka/errors.ts';
import { readTopic } from '../../services/shared/kafka/read-topic.ts';
import { stack, waitUntil } from '../helpers/cluster.ts';

function client(name: string) {
  return createKafka(connectionFromEnv({ KAFKA_BROKERS: stack().brokers }), name);
}

async function topics(n: number, partitions: number): Promise<string[]> {
  const names = Array.from({ length: n }, () => `adapter-${randomUUID().slice(0, 8)}`);
  const admin = client('adapter-admin').admin();
  try {
    await admin.createTopics(names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })));
  } finally {
    admin.disconnect();
  }
  return names;
}

/** `n` records keyed k0.. with values "0".."n-1", acknowledged. */
async function produceNumbers(kafka: ReturnType<typeof client>, topic: string, n: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send([{ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.from(String(i)) })) }]);
  await producer.disconnect();
}

const settings = (groupId: string, topic: string) => ({ groupId, topics: [topic], fromBeginning: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, maxBatchMessages: 50 });

describe('Kafka adapter on librdkafka', () => {
  it('consume -> transactional commit with offset metadata writes each record exactly once', async () => {
    const [input, output] = await topics(2, 3);
    const kafka = client('adapter-eos');
    await produceNumbers(kafka, input!, 300);

    const group = `adapter-${randomUUID().slice(0, 8)}`;
    const tx = kafka.transactionalProducer(`${group}-tx`);
    await tx.connect();
    let seen = 0;
    const consumer = kafka.consumer(settings(group, input!));
    await consumer.connect();
    consumer.run(async (b: ConsumerBatch) => {
      const last = new Map<number, number>();
      for (const m of b.messages) last.set(m.partition, m.offset);
      await tx.commit({
        messages: [{ topic: output!, messages: b.messages.map((m) => ({ key: m.key, value: Buffer.from(`out-${m.value!.toString()}`) })) }],
        offsets: [...last].map(([partition, offset]) => ({ topic: input!, partition, offset: String(offset + 1), metadata: `checkpoint-${offset}` })),
        consumer,
        fence: b.fence,
      });
      seen += b.messages.length;
    });
    await waitUntil('all 300 records consumed and committed', () => seen >= 300, 60_000, 50);
    await consumer.disconnect();
    await tx.disconnect();

    const out = await readTopic(kafka, output!, { until: (ms) => ms.length >= 300, timeoutMs: 60_000 });
    expect(out.complete).toBe(true);
    expect(out.messages.length).toBe(300);
    expect(new Set(out.messages.map((m) => m.value!.toString())).size).toBe(300);

    const admin = kafka.admin();
    try {
      const committed = await admin.groupOffsets(group, [input!]);
      expect(committed.reduce((n, c) => n + c.offset, 0)).toBe(300);
      for (const c of committed) expect(c.metadata).toBe(`checkpoint-${c.offset - 1}`);
      await admin.deleteTopics([input!, output!]);
    } finally {
      admin.disconnect();
    }
  });

  it('a member that lost its partitions cannot commit them: the transaction is refused and aborted', async () => {
    const [input, output] = await topics(2, 2);
    const kafka = client('adapter-fence');
    await produceNumbers(kafka, input!, 20);

    const group = `adapter-${randomUUID().slice(0, 8)}`;
    // A short max.poll.interval.ms: a handler stuck past it makes librdkafka leave the group for this member.
    const stuck = kafka.consumer({ ...settings(group, input!), tuning: { 'max.poll.interval.ms': 7000 } });
    const other = kafka.consumer(settings(group, input!));
    const txA = kafka.transactionalProducer(`${group}-a`);
    await txA.connect();
    let outcome: unknown;
    await stuck.connect();
    let started = false;
    stuck.run(async (b) => {
      if (started) return;
      started = true;
      // The other member joins and, once this one is gone from the group, owns every partition.
      await other.connect();
      other.run(async () => undefined);
      await waitUntil('the other member owns both partitions', () => other.assignment().length === 2, 90_000, 100);
      outcome = await txA
        .commit({ messages: [{ topic: output!, messages: [{ key: null, value: Buffer.from('zombie') }] }], offsets: [{ topic: input!, partition: b.messages[0]!.partition, offset: String(b.messages[0]!.offset + 1) }], consumer: stuck, fence: b.fence })
        .then(() => 'committed', (e: unknown) => e);
    });
    await waitUntil('the stuck member tried to commit', () => outcome !== undefined, 120_000, 100);
    await Promise.all([stuck.disconnect(), other.disconnect(), txA.disconnect()]);
    expect(outcome).toBeInstanceOf(CommitFencedError);
    const out = await readTopic(kafka, output!, { timeoutMs: 30_000 });
    expect(out.complete).toBe(true);
    expect(out.messages).toHaveLength(0);
  });

  it('pipelined (depth 3): a failed commit drops the batches behind it and they are read again; each record lands once', async () => {
    const [input, output] = await topics(2, 3);
    const kafka = client('adapter-pipe');
    await produceNumbers(kafka, input!, 400);
    const group = `adapter-${randomUUID().slice(0, 8)}`;
    const tx = kafka.transactionalProducer(`${group}-tx`);
    await tx.connect();
    const consumer = kafka.consumer({ ...settings(group, input!), maxBatchMessages: 40 });
    await consumer.connect();
    let commits = 0;
    let failed = 0;
    let committedRecords = 0;
    consumer.runPipelined({
      prepare: async (b) => b.messages.map((m) => ({ key: m.key, value: Buffer.from(`out-${m.value!.toString()}`) })),
      commit: async (out, b) => {
        // The third commit fails once, with batches already prepared behind it and committed ones ahead of it in the queue.
        if (++commits === 3 && failed === 0) {
          failed++;
          throw new Error('planted commit failure');
        }
        const last = new Map<number, number>();
        for (const m of b.messages) last.set(m.partition, m.offset);
        await tx.commit({ messages: [{ topic: output!, messages: out }], offsets: [...last].map(([partition, offset]) => ({ topic: input!, partition, offset: String(offset + 1) })), consumer, fence: b.fence });
        committedRecords += b.messages.length;
      },
    }, 3);
    await waitUntil('all 400 records committed', () => committedRecords >= 400, 60_000, 50);
    await consumer.disconnect();
    await tx.disconnect();
    expect(failed).toBe(1);
    const out = await readTopic(kafka, output!, { until: (ms) => ms.length >= 400, timeoutMs: 60_000 });
    expect(out.messages.length).toBe(400);
    expect(new Set(out.messages.map((m) => m.value!.toString())).size).toBe(400);
  });
});
