/** Test helpers against the real broker and registry provided by the global setup. */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createKafka, type KafkaClient } from '../../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../../services/shared/kafka/connection.ts';
import type { ConsumedMessage } from '../../services/shared/kafka/consumer.ts';
import { readTopic as readWholeTopic } from '../../services/shared/kafka/read-topic.ts';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { ensureTopics } from '../../services/shared/kafka/topics.ts';
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
export function kafkaClient(clientId = 'test', brokers: string = stack().brokers): KafkaClient {
  return createKafka(connectionFromEnv({ KAFKA_BROKERS: brokers, KAFKA_CLIENT_ID: 'test' }), clientId);
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
  try {
    // Retriable failures (e.g. a cluster whose last broker is not in every broker's metadata yet refuses RF 3) are retried, as the services' start-up does.
    await withRetry(() => ensureTopics(admin, topics, roles, partitions ? { partitions } : {}), { retries: 10, initialDelayMs: 250, maxDelayMs: 3000, factor: 2 });
  } finally {
    admin.disconnect();
  }
}

export interface Collected {
  readonly messages: ConsumedMessage[];
}

/**
 * Reads `topic` from the beginning with read_committed until at least `expected` messages arrived and every
 * partition was read to its end (events, not a quiet period), or `timeoutMs` passed. Returns everything read
 * (possibly more than expected, which is how duplicates are caught).
 */
export async function readTopic(topic: string, opts: { expected: number; timeoutMs?: number; brokers?: string }): Promise<Collected> {
  const r = await readWholeTopic(kafkaClient('test-reader', opts.brokers), topic, { until: (ms) => ms.length >= opts.expected, timeoutMs: opts.timeoutMs ?? 120_000 });
  return { messages: r.messages };
}

/** Decodes message values through the registry; a value that does not decode fails the test with its reason. */
export async function decodeValues<T = Record<string, unknown>>(registry: AvroRegistry, messages: readonly { value: Buffer | null; offset?: string | number }[]): Promise<T[]> {
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
  try {
    const [ends, committed] = await Promise.all([admin.topicOffsets(topic), admin.groupOffsets(groupId, [topic])]);
    const done = new Map(committed.filter((c) => c.offset >= 0).map((c) => [c.partition, c.offset]));
    return ends.reduce((sum, e) => sum + e.high - Math.max(done.get(e.partition) ?? e.low, e.low), 0);
  } finally {
    admin.disconnect();
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
