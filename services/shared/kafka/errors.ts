/**
 * Reading the Kafka client's errors: by librdkafka's numeric error code and its fatal / retriable /
 * abort-required flags, never by message text. One walker over an error chain (causes, aggregate errors)
 * serves the supervisor's restart labels, the transaction's fencing decision and topic set-up.
 */
import { codeName, type LibrdKafkaError } from './native.ts';

/** Broker answers meaning the consumer generation the work was fetched under is gone (KIP-447 fencing). */
export const FENCED_COMMIT_CODES: ReadonlySet<string> = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'REBALANCE_IN_PROGRESS']);

/** Errors after which a transactional producer cannot be used again (librdkafka marks them fatal too). */
export const PRODUCER_FATAL_CODES: ReadonlySet<string> = new Set(['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

function isLibrdKafkaError(x: unknown): x is LibrdKafkaError {
  return Boolean(x) && typeof x === 'object' && typeof (x as { code?: unknown }).code === 'number' && 'errno' in (x as object);
}

/** Every error in a chain: the error, its causes and an aggregate's errors (bounded depth). */
export function errorChain(e: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== 'object' || depth > 8) return;
    out.push(x);
    const o = x as { cause?: unknown; errors?: unknown };
    if (Array.isArray(o.errors)) for (const c of o.errors) walk(c, depth + 1);
    walk(o.cause, depth + 1);
  };
  walk(e, 0);
  return out;
}

/** The librdkafka error code names in a chain (ILLEGAL_GENERATION, _TRANSPORT, ...). */
export function kafkaErrorCodes(e: unknown): string[] {
  return errorChain(e).flatMap((x) => (isLibrdKafkaError(x) ? [codeName(x.code)] : []));
}

/** The first librdkafka error of a chain, if any. */
export function librdkafkaError(e: unknown): LibrdKafkaError | undefined {
  return errorChain(e).find(isLibrdKafkaError);
}

/** True when a transactional commit was refused because this member no longer owns what it fetched. */
export function isFencedCommit(e: unknown): boolean {
  return errorChain(e).some((x) => x instanceof CommitFencedError) || kafkaErrorCodes(e).some((c) => FENCED_COMMIT_CODES.has(c));
}

/** Thrown by a commit whose consumer generation changed (a rebalance) since its records were fetched. */
export class CommitFencedError extends Error {
  override readonly name = 'CommitFencedError';
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
