/**
 * The services' two ways to commit a chunk of work: in one Kafka transaction with the consumed offsets
 * (exactly-once, producers.ts TransactionalProducer.commit), or produce-then-commit (at-least-once:
 * every message acknowledged by all in-sync replicas, then the offsets committed through the consumer).
 */
import { ServiceError } from '../errors.ts';
import type { GroupConsumer } from './consumer.ts';
import type { OffsetToCommit, TopicMessages } from './messages.ts';
import type { IdempotentProducer } from './producers.ts';

export { isFencedCommit, CommitFencedError } from './errors.ts';
export { TRANSACTION_TIMEOUT_MS, type TransactionCommit, type TransactionResult } from './producers.ts';

/** At-least-once: produce (acks=all), then commit the offsets through the consumer. */
export async function produceThenCommit(producer: IdempotentProducer, consumer: GroupConsumer, c: { messages: readonly TopicMessages[]; offsets: readonly OffsetToCommit[] }): Promise<void> {
  await producer.send(c.messages);
  await consumer.commitOffsets(c.offsets);
}

/** True if the producer behind `e` cannot be used again and must be replaced (with its session). */
export function isProducerFailure(e: unknown): boolean {
  return e instanceof ServiceError && e.code === 'KAFKA_PRODUCER_FAILED';
}
