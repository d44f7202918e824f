/**
 * What an exactly-once commit costs on this broker through the services' Kafka adapter: back-to-back small
 * transactions like the scorer's (produce to two topics, send the consumer's offsets with its group
 * metadata, commit: TransactionalProducer.commit), against the same transaction without offsets and the
 * at-least-once path's one acknowledged send (acks=all). Not part of `make bench`; a probe for
 * docs/performance.md. (The adapter commits in one call, so the steps inside a transaction are not timed
 * one by one.)
 *
 *   node --import tsx bench/probes/transaction-steps.ts [transactions=200]
 */
import { randomUUID } from 'node:crypto';
import { createKafka } from '../../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../../services/shared/kafka/connection.ts';
import { pollUntil } from '../../services/shared/retry.ts';
import { percentile, round } from '../lib/stats.ts';

const count = Number(process.argv[2] ?? 200);
const kafka = createKafka(connectionFromEnv(), 'bench-probe');
const admin = kafka.admin();
const id = randomUUID().slice(0, 8);
const [a, b, input] = ['decisions', 'log', 'input'].map((t) => `bench-probe-${id}-${t}`) as [string, string, string];
await admin.createTopics([a, b, input].map((topic) => ({ topic, numPartitions: 6, replicationFactor: -1 })));
const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(150, i) }));

// The offsets go with a group member's metadata (KIP-447), as the scorer's do: a member of a group on the (empty) input topic.
let assigned = false;
const consumer = kafka.consumer(
  { groupId: `bench-probe-${id}`, topics: [input], fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxBatchMessages: 100 },
  { onAssigned: (ps) => (assigned ||= ps.length > 0) },
);
await consumer.connect();
consumer.run(async () => undefined);
if (!(await pollUntil(async () => assigned, 60_000, 50))) throw new Error(`the probe's consumer got no partitions of ${input} within 60 s`);

const steps: Record<string, number[]> = { 'transaction + offsets': [], 'transaction, no offsets': [], 'send acks=all': [] };
const tp = kafka.transactionalProducer(`bench-probe-${id}`);
const plain = kafka.producer();
await Promise.all([tp.connect(), plain.connect()]);
const topicMessages = [{ topic: a, messages }, { topic: b, messages }];
for (let i = 0; i < count + 10; i++) {
  const t0 = performance.now();
  await tp.commit({ messages: topicMessages, offsets: [{ topic: input, partition: i % 6, offset: String(i + 1) }], consumer });
  const t1 = performance.now();
  await tp.commit({ messages: topicMessages, offsets: [] });
  const t2 = performance.now();
  await plain.send(topicMessages);
  const t3 = performance.now();
  if (i < 10) continue; // warm-up
  steps['transaction + offsets']!.push(t1 - t0);
  steps['transaction, no offsets']!.push(t2 - t1);
  steps['send acks=all']!.push(t3 - t2);
}
await Promise.all([tp.disconnect(), plain.disconnect(), consumer.disconnect()]);
await admin.deleteTopics([a, b, input]);
await admin.deleteGroups([`bench-probe-${id}`]).catch(() => undefined);
admin.disconnect();
console.log(`${count} transactions of 2 x 10 records (6 partitions each), with and without offsets, and as many plain sends; ms each:`);
for (const [name, v] of Object.entries(steps)) {
  const over = (ms: number) => `${round((v.filter((x) => x > ms).length / v.length) * 100, 1)}%`;
  console.log(`  ${name.padEnd(24)} p50 ${round(percentile(v, 0.5), 1)}  p90 ${round(percentile(v, 0.9), 1)}  p99 ${round(percentile(v, 0.99), 1)}  max ${round(Math.max(...v), 1)}  (> 10 ms: ${over(10)}, > 50 ms: ${over(50)})`);
}
