/** Start-up steps every service shares: retried, logged topic creation and schema registration. */
import { createKafka, type KafkaClient } from './kafka/client.ts';
import type { ConnectionConfig } from './kafka/connection.ts';
import { checkAccess, checkTransport, explainKafkaError, type ClusterNeeds } from './kafka/preflight.ts';
import { ensureTopics } from './kafka/topics.ts';
import type { Logger } from './log.ts';
import type { AvroRegistry } from './registry.ts';
import { withRetry, type RetryOptions } from './retry.ts';
import { ServiceError } from './errors.ts';

export function startupRetry(log: Logger): RetryOptions {
  return { retries: 10, initialDelayMs: 250, maxDelayMs: 5000, factor: 2, onRetry: (e, n) => log.warn({ attempt: n, err: (e as Error).message }, 'start-up step failed; retrying') };
}

/** Creates the topics of `roles` that are missing (infra/topics.json), logging what it created. */
export async function createMissingTopics(kafka: KafkaClient, names: Readonly<Record<string, string>>, roles: readonly string[], log: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    const r = await withRetry(() => ensureTopics(admin, names, roles), startupRetry(log));
    if (r.created.length) log.info({ topics: r.created }, 'created topics');
  } finally {
    admin.disconnect();
  }
}

/** Registers `schema` (a file in schemas/) for `topic`'s values, retrying while the registry is unreachable. */
export function registerWithRetry(registry: AvroRegistry, topic: string, schema: string, log: Logger): Promise<number> {
  return withRetry(() => registry.registerValueSchema(topic, schema), startupRetry(log));
}

/**
 * The cluster half of every service's start-up: the transport and TLS check, then (if `create`) the
 * missing topics, then authentication, topic existence and visibility, and group access. A misconfiguration
 * throws one non-retriable ServiceError naming the cause (preflight.ts); an unreachable broker is retried.
 */
export async function prepareCluster(
  kafka: KafkaClient,
  conn: ConnectionConfig,
  needs: ClusterNeeds,
  opts: { readonly create: boolean; readonly createVar: string },
  log: Logger,
): Promise<void> {
  await checkTransport(conn);
  // A client of its own without a log: librdkafka would otherwise log each refused attempt before our one message.
  const quiet = createKafka(conn, 'preflight');
  // Authenticate first, so a wrong password is not reported as a failure to create topics.
  await withRetry(() => checkAccess(quiet, conn, { names: needs.names, roles: [] }, opts.createVar), startupRetry(log));
  if (opts.create) {
    try {
      await createMissingTopics(kafka, needs.names, needs.roles, log);
    } catch (e) {
      const cause = (e as { cause?: unknown }).cause ?? e;
      const explained = explainKafkaError(cause, conn);
      if (explained?.code === 'KAFKA_NOT_AUTHORIZED') {
        throw new ServiceError('KAFKA_NOT_AUTHORIZED', `${explained.message.replace(/;.*$/, '')} to create topics; on a secured cluster an admin creates them (from infra/topics.json): set ${opts.createVar}=false`, false, explained.context);
      }
      throw explained ?? e;
    }
  }
  await withRetry(() => checkAccess(quiet, conn, needs, opts.createVar), startupRetry(log));
}
