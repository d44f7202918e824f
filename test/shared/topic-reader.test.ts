/**
 * The supervised whole-topic reader against the real broker: it delivers what existed at start as
 * `initial`, and when its session is replaced (the path a fatal consumer error takes: hooks.onFatal ->
 * the supervisor) the new session reads the topic from the beginning again without delivering any record twice.
 */
import { describe, expect, it } from 'vitest';
import { TopicReader, type TopicRecord } from '../../services/shared/kafka/topic-reader.ts';
import { createTopics, kafkaClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';

describe('TopicReader', () => {
  it('delivers each record once, in order, across a replaced session', async () => {
    const topics = uniqueTopics('reader');
    await createTopics(topics, ['modelUpdates']);
    const topic = topics.modelUpdates!;
    const producer = kafkaClient('reader-producer').producer();
    await producer.connect();
    const send = (from: number, to: number) => producer.send([{ topic, messages: Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: Buffer.from(`v${from + i}`) })) }]);
    await send(0, 3);
    const got: TopicRecord[] = [];
    const restarts: string[] = [];
    const reader = new TopicReader({
      kafka: kafkaClient('reader'),
      topic,
      groupPrefix: 'reader-test',
      name: 'test reader',
      deadlineMs: 60_000,
      onMessage: async (r) => void got.push(r),
      hooks: { onRestart: (e) => restarts.push(e.client) },
    });
    try {
      await reader.start(30_000);
      expect(got.map((r) => [r.value?.toString(), r.initial])).toEqual([['v0', true], ['v1', true], ['v2', true]]);
      // Replace the session as the supervisor does when the consumer reports a fatal error.
      (reader as unknown as { supervisor: { fail: (c: string, e: unknown) => void } }).supervisor.fail('consumer', new Error('consumer crashed for good'));
      expect(reader.deadReason).toMatch(/test reader kafka consumer failed .*recovering/);
      await send(3, 5);
      await waitUntil('the new session to deliver the new records', () => got.length >= 5, 60_000, 100);
      expect(await reader.sync(30_000)).toBe(true);
      await waitUntil('the new session to report healthy', () => reader.deadReason === undefined, 60_000, 100);
      expect(restarts).toEqual(['consumer']);
      expect(got.map((r) => [r.value?.toString(), r.initial])).toEqual([['v0', true], ['v1', true], ['v2', true], ['v3', false], ['v4', false]]);
    } finally {
      await reader.stop();
      await producer.disconnect();
    }
  });
});
