/**
 * The retry rule of send-messages.ts on a scripted cluster: which (topic, partition) batches each attempt
 * sends, with which sequence numbers, when leaders move and broker objects are replaced between attempts.
 */
import { describe, expect, it } from 'vitest';
import { createSendMessages, type SendDeps } from './send-messages.ts';

interface Sent {
  readonly attempt: number;
  readonly nodeId: string;
  readonly partitions: { partition: number; firstSequence: number; count: number }[];
}

/** Partitions 0..5 of topic t; `leaders[attempt]` maps partition -> node; `fail[attempt]` = nodes whose request fails. */
function scripted(leaders: Record<number, number>[], fail: Record<number, string[]>) {
  let attempt = 0;
  const sent: Sent[] = [];
  const seq = new Map<number, number>();
  const retriable = () => Object.assign(new Error('connection closed'), { name: 'KafkaJSConnectionError', retriable: true });
  const deps: SendDeps = {
    logger: { debug: () => undefined, error: () => undefined },
    cluster: {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      findTopicPartitionMetadata: () => Array.from({ length: 6 }, (_, i) => ({ partitionId: i })),
      findLeaderForPartitions: (_t, partitions) => {
        const out: Record<string, number[]> = {};
        for (const p of partitions) (out[String(leaders[attempt]![p])] ??= []).push(p);
        return out;
      },
      // A new broker object on every lookup: kafkajs replaces them after a closed connection.
      findBroker: async ({ nodeId }) => ({
        produce: async (args: Record<string, unknown>) => {
          const topicData = args.topicData as { topic: string; partitions: { partition: number; firstSequence: number; messages: unknown[] }[] }[];
          sent.push({ attempt, nodeId, partitions: topicData[0]!.partitions.map((p) => ({ partition: p.partition, firstSequence: p.firstSequence, count: p.messages.length })) });
          if (fail[attempt]?.includes(nodeId)) throw retriable();
          return { topics: topicData.map((t) => ({ topicName: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })) })) };
        },
      }),
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      connect: async () => undefined,
      removeBroker: () => undefined,
    },
    partitioner: ({ message }) => Number((message as { key: string }).key) % 6,
    eosManager: {
      acquireBrokerLock: async () => undefined,
      releaseBrokerLock: async () => undefined,
      isTransactional: () => true,
      addPartitionsToTransaction: async () => undefined,
      getSequence: (_t, p) => seq.get(p) ?? 0,
      updateSequence: (_t, p, n) => seq.set(p, (seq.get(p) ?? 0) + n),
      getTransactionalId: () => 'tx',
      getProducerId: () => 1,
      getProducerEpoch: () => 0,
    },
    retrier: async (fn) => {
      for (;;) {
        try {
          return await fn((e) => {
            throw e;
          }, attempt, 0);
        } catch (e) {
          if (!(e as { retriable?: boolean }).retriable || attempt >= 5) throw e;
          attempt++;
        }
      }
    },
  };
  return { deps, sent, seq };
}

const messages = Array.from({ length: 60 }, (_, i) => ({ key: String(i), value: `v${i}` }));

describe('sendMessages replacement (kafkajs 2.2.4)', () => {
  it('after a partial failure and a leader move, re-sends only the batches not acknowledged, with their first sequence numbers', async () => {
    // Attempt 0: node 1 leads 0-2 (acknowledged), node 2 leads 3-5 (fails). Attempt 1: node 1 leads everything.
    const { deps, sent, seq } = scripted(
      [
        { 0: 1, 1: 1, 2: 1, 3: 2, 4: 2, 5: 2 },
        { 0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1 },
      ],
      { 0: ['2'] },
    );
    const responses = await createSendMessages(deps)({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    const second = sent.filter((s) => s.attempt === 1);
    expect(second.flatMap((s) => s.partitions.map((p) => p.partition)).sort()).toEqual([3, 4, 5]);
    // The failed batches keep the sequence they were first sent with (the broker deduplicates them).
    for (const p of second.flatMap((s) => s.partitions)) expect(p.firstSequence).toBe(0);
    expect([...seq.values()]).toEqual(Array(6).fill(10));
    expect(responses.map((r) => r.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('sends a partition whose new leader already answered for others (the original skipped it)', async () => {
    // Attempt 0: node 1 leads 0-4 (acknowledged), node 2 leads 5 (fails). Attempt 1: 5 moves to node 1.
    const { deps, sent } = scripted(
      [
        { 0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 2 },
        { 0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1 },
      ],
      { 0: ['2'] },
    );
    await createSendMessages(deps)({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(sent.filter((s) => s.attempt === 1)).toEqual([{ attempt: 1, nodeId: '1', partitions: [{ partition: 5, firstSequence: 0, count: 10 }] }]);
  });

  it('sends every batch once when nothing fails', async () => {
    const { deps, sent } = scripted([{ 0: 1, 1: 2, 2: 3, 3: 1, 4: 2, 5: 3 }], {});
    await createSendMessages(deps)({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(sent.flatMap((s) => s.partitions.map((p) => p.partition)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sent.every((s) => s.attempt === 0)).toBe(true);
  });
});
