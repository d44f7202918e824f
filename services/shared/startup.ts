/** Start-up steps every service shares: retried, logged topic creation and schema registration. */
import type { Kafka } from 'kafkajs';
import { ensureTopics } from './kafka/topics.ts';
import type { Logger } from './log.ts';
import type { AvroRegistry } from './registry.ts';
import { withRetry, type RetryOptions } from './retry.ts';

export function startupRetry(log: Logger): RetryOptions {
  return { retries: 10, initialDelayMs: 250, maxDelayMs: 5000, factor: 2, onRetry: (e, n) => log.warn({ attempt: n, err: (e as Error).message }, 'start-up step failed; retrying') };
}

/** Creates the topics of `roles` that are missing (infra/topics.json), logging what it created. */
export async function createMissingTopics(kafka: Kafka, names: Readonly<Record<string, string>>, roles: readonly string[], log: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const r = await withRetry(() => ensureTopics(admin, names, roles), startupRetry(log));
    if (r.created.length) log.info({ topics: r.created }, 'created topics');
  } finally {
    await admin.disconnect();
  }
}

/** Registers `schema` (a file in schemas/) for `topic`'s values, retrying while the registry is unreachable. */
export function registerWithRetry(registry: AvroRegistry, topic: string, schema: string, log: Logger): Promise<number> {
  return withRetry(() => registry.registerValueSchema(topic, schema), startupRetry(log));
}
