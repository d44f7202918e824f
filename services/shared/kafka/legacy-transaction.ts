/**
 * The one transaction commit of the services: send the output in bounded requests, send the consumed
 * offsets (with the consumer generation they were fetched under, see kip447.ts), commit — or abort.
 *
 * A commit refused because this instance no longer owns what it fetched (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) is aborted and rethrown as the broker's protocol error itself,
 * so kafkajs' consumer loop recognises it and rejoins the group; the in-flight work is dropped, the new
 * owner processes those offsets.
 */
import type { Producer } from 'kafkajs';
import { ServiceError } from '../errors.ts';
import { FENCED_COMMIT_ERRORS, oldestGeneration, withGeneration, type Generation } from './kip447.ts';
import { splitBySize, type OffsetToCommit, type TopicMessages } from './messages.ts';

export type TransactionResult = 'committed' | 'aborted' | 'fenced';

/**
 * transaction.timeout.ms of every transactional producer of the services. A transaction here only spans
 * sending one commit's output and offsets (milliseconds), never the processing; but a transaction left
 * open by a producer that died (its broker killed, a frozen process) blocks the new owner's offset fetch
 * (require_stable) until the coordinator aborts it at this timeout: 60 s made a 77 s stall on the 3-broker
 * test's rolling restart. Kafka Streams uses 10 s for the same reason.
 */
export const TRANSACTION_TIMEOUT_MS = 15_000;

export interface TransactionCommit {
  readonly messages: readonly TopicMessages[];
  readonly offsets: readonly OffsetToCommit[];
  readonly groupId: string;
  readonly maxRequestBytes?: number;
}

/** The protocol error at the root of a kafkajs error chain (kafkajs wraps in KafkaJSNonRetriableError). */
export function rootCause(e: unknown): unknown {
  let cur = e;
  while (cur && typeof cur === 'object' && 'cause' in cur && (cur as { cause?: unknown }).cause) cur = (cur as { cause: unknown }).cause;
  return cur;
}

/** True if the error says the consumer generation the work was fetched under is gone. */
export function isFencedCommit(e: unknown): boolean {
  const root = rootCause(e) as { type?: unknown } | undefined;
  return typeof root?.type === 'string' && FENCED_COMMIT_ERRORS.has(root.type);
}

/** Groups offsets by topic in the shape kafkajs' sendOffsets/commitOffsets take. */
export function offsetsByTopic(offsets: readonly OffsetToCommit[]): { topic: string; partitions: { partition: number; offset: string; metadata?: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string; metadata?: string }[]>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push(o.metadata === undefined ? { partition: o.partition, offset: o.offset } : { partition: o.partition, offset: o.offset, metadata: o.metadata });
    byTopic.set(o.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** The generation to send for a group of offsets: the oldest one (a stale member is then refused as a whole). */
export function generationOfOffsets(offsets: readonly OffsetToCommit[]): Generation {
  return oldestGeneration(offsets.flatMap((o) => (o.generation ? [o.generation] : [])));
}

/** Runs one transaction; resolves with 'committed' or throws after aborting (result reported through onResult). */
export async function commitTransaction(producer: Producer, c: TransactionCommit, onResult?: (result: TransactionResult, durationMs: number) => void): Promise<void> {
  const started = performance.now();
  const tx = await producer.transaction();
  try {
    for (const send of splitBySize(c.messages, c.maxRequestBytes)) {
      await tx.sendBatch({ topicMessages: send.map((t) => ({ topic: t.topic, messages: [...t.messages] })) });
    }
    if (c.offsets.length > 0) {
      await tx.sendOffsets({ consumerGroupId: c.groupId, topics: withGeneration(offsetsByTopic(c.offsets), generationOfOffsets(c.offsets)) });
    }
    await tx.commit();
    onResult?.('committed', performance.now() - started);
  } catch (e) {
    let abortError: unknown;
    await tx.abort().catch((a: unknown) => (abortError = a));
    const fenced = isFencedCommit(e);
    onResult?.(fenced ? 'fenced' : 'aborted', performance.now() - started);
    if (fenced) throw rootCause(e);
    // The transaction is neither committed nor aborted: this producer cannot run another one.
    if (abortError !== undefined && !isProducerFailure(e)) {
      throw new ServiceError('KAFKA_PRODUCER_FAILED', `transaction failed (${(e as Error).message}) and its abort failed (${(abortError as Error).message})`, true, {}, { cause: e });
    }
    throw e;
  }
}

/** At-least-once: produce (acks=all), then commit the offsets through the consumer. */
export async function produceThenCommit(
  producer: Producer,
  commitOffsets: (offsets: { topic: string; partition: number; offset: string }[]) => Promise<void>,
  c: Omit<TransactionCommit, 'groupId'>,
): Promise<void> {
  for (const send of splitBySize(c.messages, c.maxRequestBytes)) {
    await producer.sendBatch({ topicMessages: send.map((t) => ({ topic: t.topic, messages: [...t.messages] })), acks: -1 });
  }
  if (c.offsets.length > 0) await commitOffsets(c.offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
}

/** Errors after which a (transactional) producer cannot be used again: it must be replaced. */
export const PRODUCER_FATAL_ERRORS: ReadonlySet<string> = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'INVALID_TXN_STATE',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'UNKNOWN_PRODUCER_ID',
]);

export function isProducerFailure(e: unknown): boolean {
  if (e instanceof ServiceError) return e.code === 'KAFKA_PRODUCER_FAILED';
  const root = rootCause(e) as { type?: unknown; name?: unknown; message?: unknown } | undefined;
  if (typeof root?.type === 'string' && PRODUCER_FATAL_ERRORS.has(root.type)) return true;
  // kafkajs' transaction state machine refuses a producer whose previous transaction did not end; a
  // producer kafkajs disconnected (or that was closed under a running consumer) never reconnects by itself.
  return typeof root?.message === 'string' && /Transaction state exception|ongoing transaction|producer is disconnected/i.test(root.message);
}
