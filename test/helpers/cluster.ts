/** Test helpers against the real broker and registry provided by the global setup. */
import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { Kafka, logLevel } from '../../services/shared/kafka/kafkajs.ts';
import { inject } from 'vitest';
import { ensureTopics, TOPICS_FILE } from '../../services/shared/kafka/topics.ts';
import { AvroRegistry } from '../../services/shared/registry.ts';
import { withRetry } from '../../services/shared/retry.ts';

let override: { brokers: string; registryUrl: string; mode: 'external' | 'containers' | 'local' } | undefined;

export function stack() {
  return override ?? inject('stack');
}

/** Points every helper of this test file at another stack (a fault test's own broker), or back (undefined). */
export function useStack(s: typeof override): void {
  override = s;
}

/** A client of the suite's stack, or of `brokers` (a cluster a test started itself). */
export function kafkaClient(clientId = 'test', brokers: string = stack().brokers): Kafka {
  return new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

export function registryClient(): AvroRegistry {
  return new AvroRegistry({ url: stack().registryUrl });
}

/** Unique topic names for every role in infra/topics.json, so tests never share state. */
export function uniqueTopics(prefix: string): Record<string, string> {
  const id = randomUUID().slice(0, 8);
  return Object.fromEntries(Object.entries(TOPICS_FILE.topics).map(([role, def]) => [role, `${prefix}-${id}-${def.name}`]));
}

/** Environment variables pointing a service at the test stack and at `topics`. */
export function serviceEnv(topics: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack().brokers,
    SCHEMA_REGISTRY_URL: stack().registryUrl,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  for (const [role, def] of Object.entries(TOPICS_FILE.topics)) if (topics[role]) env[def.env] = topics[role]!;
  return { ...env, ...extra };
}

export async function createTopics(topics: Record<string, string>, roles: readonly string[], partitions?: number, brokers?: string): Promise<void> {
  const admin = kafkaClient('test-admin', brokers).admin();
  await admin.connect();
  try {
    // Retriable failures (e.g. a cluster whose last broker is not in every broker's metadata yet refuses RF 3) are retried, as the services' start-up does.
    await withRetry(() => ensureTopics(admin, topics, roles, partitions ? { partitions } : {}), { retries: 10, initialDelayMs: 250, maxDelayMs: 3000, factor: 2 });
  } finally {
    await admin.disconnect();
  }
}

export interface Collected {
  readonly messages: (KafkaMessage & { partition: number })[];
}

/**
 * Reads `topic` from the beginning with read_committed until `expected` messages arrived and nothing more
 * came for `settleMs`, or `timeoutMs` passed. Returns everything read (possibly more than expected, which
 * is how duplicates are caught).
 */
export async function readTopic(topic: string, opts: { expected: number; timeoutMs?: number; settleMs?: number; brokers?: string }): Promise<Collected> {
  const consumer = kafkaClient('test-reader', opts.brokers).consumer({ groupId: `reader-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
  const messages: (KafkaMessage & { partition: number })[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) messages.push({ ...m, partition: batch.partition });
      if (batch.messages.length) last = Date.now();
    },
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const settle = opts.settleMs ?? 1000;
  while (Date.now() < deadline) {
    if (messages.length >= opts.expected && Date.now() - last >= settle) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await consumer.disconnect();
  return { messages };
}

/** Decodes message values through the registry; a value that does not decode fails the test with its reason. */
export async function decodeValues<T = Record<string, unknown>>(registry: AvroRegistry, messages: readonly { value: Buffer | null; offset?: string }[]): Promise<T[]> {
  return Promise.all(
    messages.map(async (m) => {
      const r = await registry.decode<T>(m.value);
      if (!r.ok) throw new Error(`message at offset ${m.offset ?? '?'} does not decode: ${r.error.reason}`);
      return r.value.value;
    }),
  );
}

/** Sum over partitions of (log end - committed) for a consumer group. */
export async function groupLag(groupId: string, topic: string, brokers?: string): Promise<number> {
  const admin = kafkaClient('test-lag', brokers).admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((sum, e) => sum + Number(e.high) - Math.max(done.get(e.partition) ?? Number(e.low), Number(e.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
