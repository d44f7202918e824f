/**
 * Where an exactly-once commit's time goes with kafkajs on this broker: back-to-back small transactions like
 * the scorer's (produce to two topics, send the consumer offsets, commit), each step timed. Not part of
 * `make bench`; a probe for docs/performance.md.
 *
 *   node --import tsx bench/probes/transaction-steps.ts [transactions=200]
 */
import { randomUUID } from 'node:crypto';
import type { KafkaConfig } from 'kafkajs';
import { Kafka, logLevel } from '../../services/shared/kafka/kafkajs.ts';
import { connectionFromEnv } from '../../services/shared/kafka/connection.ts';
import { percentile, round } from '../lib/stats.ts';

const count = Number(process.argv[2] ?? 200);
const conn = connectionFromEnv();
// kafkajs logs every refused request at debug level; count the CONCURRENT_TRANSACTIONS refusals it retries.
let concurrent = 0;
const kafka = new Kafka({
  clientId: 'bench-probe',
  brokers: [...conn.brokers],
  ...(conn.ssl ? { ssl: conn.ssl.ca ? { ca: [conn.ssl.ca] } : true } : {}),
  ...(conn.sasl ? { sasl: { ...conn.sasl } as KafkaConfig['sasl'] } : {}),
  logLevel: logLevel.DEBUG,
  logCreator: () => (entry) => {
    const error = String((entry.log as { error?: string }).error ?? '');
    if (entry.log.message.startsWith('Response AddPartitionsToTxn') && /concurrent/i.test(error)) concurrent++;
  },
});
const admin = kafka.admin();
await admin.connect();
const id = randomUUID().slice(0, 8);
const [a, b, input] = ['decisions', 'log', 'input'].map((t) => `bench-probe-${id}-${t}`) as [string, string, string];
await admin.createTopics({ topics: [a, b, input].map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })), waitForLeaders: true });
const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(150, i) }));

const steps: Record<string, number[]> = { begin: [], send: [], sendOffsets: [], commit: [], total: [], 'plain send acks=-1': [] };
// The scorer's retry settings (services/scorer/runner.ts): a CONCURRENT_TRANSACTIONS refusal is retried after 10 ms.
const retry = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 10, maxRetryTime: 10_000 };
const tp = kafka.producer({ transactionalId: `bench-probe-${id}`, idempotent: true, maxInFlightRequests: 1, retry });
const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await Promise.all([tp.connect(), plain.connect()]);
for (let i = 0; i < count + 10; i++) {
  const t0 = performance.now();
  const tx = await tp.transaction();
  const t1 = performance.now();
  await tx.sendBatch({ topicMessages: [{ topic: a, messages }, { topic: b, messages }] });
  const t2 = performance.now();
  await tx.sendOffsets({ consumerGroupId: `bench-probe-${id}`, topics: [{ topic: input, partitions: [{ partition: i % 6, offset: String(i + 1) }] }] });
  const t3 = performance.now();
  await tx.commit();
  const t4 = performance.now();
  if (i < 10) continue; // warm-up
  steps.begin!.push(t1 - t0);
  steps.send!.push(t2 - t1);
  steps.sendOffsets!.push(t3 - t2);
  steps.commit!.push(t4 - t3);
  steps.total!.push(t4 - t0);
}
// The at-least-once path for comparison: one produce with acks=-1 (the offset commit is another round trip).
for (let i = 0; i < count + 10; i++) {
  const t0 = performance.now();
  await plain.sendBatch({ topicMessages: [{ topic: a, messages }, { topic: b, messages }], acks: -1 });
  if (i >= 10) steps['plain send acks=-1']!.push(performance.now() - t0);
}
await Promise.all([tp.disconnect(), plain.disconnect()]);
await admin.deleteTopics({ topics: [a, b, input] });
await admin.disconnect();
console.log(`${count} transactions of 2 x 10 records (6 partitions each) + offsets; ${concurrent} CONCURRENT_TRANSACTIONS refusals retried; ms per step:`);
for (const [name, v] of Object.entries(steps)) {
  const over = (ms: number) => `${round((v.filter((x) => x > ms).length / v.length) * 100, 1)}%`;
  console.log(`  ${name.padEnd(20)} p50 ${round(percentile(v, 0.5), 1)}  p90 ${round(percentile(v, 0.9), 1)}  p99 ${round(percentile(v, 0.99), 1)}  max ${round(Math.max(...v), 1)}  (> 10 ms: ${over(10)}, > 50 ms: ${over(50)})`);
}
