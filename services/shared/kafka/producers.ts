/**
 * The services' two producers, both idempotent with acks=all and bounded send queues:
 *
 * - `IdempotentProducer.send(topicMessages)` resolves once every message is acknowledged (at-least-once,
 *   the simulator, model announcements).
 * - `TransactionalProducer.commit({ messages, offsets, fence })` writes the messages and the consumed
 *   offsets in one Kafka transaction. The offsets go with the consumer's group metadata (its generation and
 *   member id, KIP-447): a member that lost its partitions to a rebalance, or was frozen past its session,
 *   is refused by the broker, and the transaction is aborted. librdkafka's own error flags decide what
 *   follows: retriable -> the same call again; abort-required -> abort, the records are read again;
 *   fatal -> this producer is done (KAFKA_PRODUCER_FAILED, the session is replaced).
 */
import type { ProducerGlobalConfig } from '@confluentinc/kafka-javascript';
import { ServiceError } from '../errors.ts';
import type { ConnectionConfig } from './connection.ts';
import type { Fence, GroupConsumer } from './consumer.ts';
import { CommitFencedError, isFencedCommit, kafkaErrorCodes, PRODUCER_FATAL_CODES } from './errors.ts';
import type { OffsetToCommit, TopicMessages } from './messages.ts';
import { attachLog, baseConfig, call, codeName, ERR, Producer, type KafkaLog, type LibrdKafkaError, type NativeProducer } from './native.ts';

/**
 * transaction.timeout.ms of every transactional producer of the services. A transaction here only spans
 * sending one commit's output and offsets (milliseconds), never the processing; but a transaction left
 * open by a producer that died (its broker killed, a frozen process) blocks the new owner's offset fetch
 * (require_stable) until the coordinator aborts it at this timeout. Kafka Streams uses 10 s for the same reason.
 */
export const TRANSACTION_TIMEOUT_MS = 15_000;

/**
 * How long one commit (begin, produce, offsets, commit, each retried while librdkafka calls the error
 * retriable) may take before the producer is given up for a new one: a new instance of the same
 * transactional id fences this one and ends its transaction, so nothing is written twice. Without it a
 * commit whose coordinator moved could retry silently for minutes (a 3-broker rolling restart under load
 * left the scorer with no commit and no log line for over 2 minutes).
 */
export const COMMIT_DEADLINE_MS = 2 * TRANSACTION_TIMEOUT_MS;

export type TransactionResult = 'committed' | 'aborted' | 'fenced';

/** Producer defaults chosen by measurement (docs/performance.md). */
export const PRODUCER_DEFAULTS = {
  lingerMs: 5,
  /** librdkafka's send queue (queue.buffering.max.kbytes); its default of 1 GiB would let RSS grow under overload. */
  queueKBytes: 65_536,
  queueMessages: 200_000,
} as const;

export interface ProducerSettings {
  readonly lingerMs?: number;
  readonly tuning?: Readonly<Record<string, string | number | boolean>>;
}

function producerConfig(conn: ConnectionConfig, clientId: string, s: ProducerSettings, extra: Record<string, string | number | boolean>): ProducerGlobalConfig {
  return {
    ...baseConfig(conn, clientId),
    'enable.idempotence': true,
    acks: 'all',
    'linger.ms': s.lingerMs ?? PRODUCER_DEFAULTS.lingerMs,
    'queue.buffering.max.kbytes': PRODUCER_DEFAULTS.queueKBytes,
    'queue.buffering.max.messages': PRODUCER_DEFAULTS.queueMessages,
    // Retries are unbounded in time only by delivery.timeout.ms: an idempotent producer must not give up early.
    'delivery.timeout.ms': 120_000,
    ...extra,
    ...(s.tuning ?? {}),
  } as ProducerGlobalConfig;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** produce() that waits while librdkafka's bounded queue is full instead of failing. */
async function produceAll(p: NativeProducer, tm: readonly TopicMessages[], opaque?: unknown): Promise<number> {
  let n = 0;
  for (const t of tm) {
    for (const m of t.messages) {
      for (;;) {
        try {
          p.produce(t.topic, null, m.value, m.key ?? null, null, opaque);
          n++;
          break;
        } catch (e) {
          if ((e as { code?: number }).code !== ERR.QUEUE_FULL) throw e;
          await sleep(2);
        }
      }
    }
  }
  return n;
}

abstract class BaseProducer {
  readonly native: NativeProducer;
  private closed = false;
  /** Set when librdkafka reports a fatal error: every later call fails with it. */
  protected fatal?: LibrdKafkaError;

  constructor(config: ProducerGlobalConfig, name: string, log?: KafkaLog) {
    this.native = new Producer(config, {});
    attachLog(this.native, name, log);
    this.native.on('event.error', (e: LibrdKafkaError) => {
      if (e.isFatal) this.fatal = e;
    });
  }

  async connect(): Promise<void> {
    await call((cb) => this.native.connect({ timeout: 30_000 }, (err) => cb(err, undefined)));
    this.native.setPollInBackground(true);
  }

  protected failIfFatal(): void {
    if (this.fatal) throw new ServiceError('KAFKA_PRODUCER_FAILED', `producer failed for good: ${this.fatal.message}`, true, { code: codeName(this.fatal.code) }, { cause: this.fatal });
  }

  /** Waits until every queued message is delivered or fails; then closes. Idempotent. */
  async disconnect(flushTimeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.native.isConnected()) return;
    await call((cb) => this.native.flush(flushTimeoutMs, (err) => cb(err, undefined))).catch(() => undefined);
    await call((cb) => this.native.disconnect((err) => cb(err, undefined))).catch(() => undefined);
  }
}

interface PendingSend {
  left: number;
  error?: unknown;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class IdempotentProducer extends BaseProducer {
  constructor(conn: ConnectionConfig, clientId: string, s: ProducerSettings = {}, log?: KafkaLog) {
    super(producerConfig(conn, clientId, s, { dr_cb: true }), 'producer', log);
    this.native.on('delivery-report', (err: LibrdKafkaError | null, report: { opaque?: PendingSend }) => {
      const p = report.opaque;
      if (!p) return;
      if (err && p.error === undefined) p.error = err;
      if (--p.left === 0) (p.error === undefined ? p.resolve : () => p.reject(p.error))();
    });
  }

  /** Sends and resolves once every message is acknowledged by all in-sync replicas; rejects with the first failure. */
  async send(topicMessages: readonly TopicMessages[]): Promise<void> {
    this.failIfFatal();
    const total = topicMessages.reduce((n, t) => n + t.messages.length, 0);
    if (total === 0) return;
    await new Promise<void>((resolve, reject) => {
      const pending: PendingSend = { left: total, resolve, reject };
      produceAll(this.native, topicMessages, pending).catch((e) => {
        // Messages queued before the failure still report; the rest never will.
        pending.error ??= e;
        reject(e);
      });
    });
  }
}

export interface TransactionCommit {
  readonly messages: readonly TopicMessages[];
  /** Next offsets to consume, with optional metadata (the drift monitor's checkpoints). */
  readonly offsets: readonly OffsetToCommit[];
  /** The consumer and the fence the consumed records were fetched under. */
  readonly consumer?: GroupConsumer;
  readonly fence?: Fence;
}

/**
 * First retry backoff of the transactional producer's requests (librdkafka's retry.backoff.ms, default 100,
 * doubling up to retry.backoff.max.ms = 1 s). A transaction begun right after the previous commit finds the
 * coordinator still writing that commit's markers: AddOffsetsToTxn answers CONCURRENT_TRANSACTIONS and is
 * retried after this backoff (AddPartitionsToTxn has librdkafka's own fixed 20 ms). At 100 ms every
 * transaction waited 100-300 ms there: p50 354 / p99 506 ms submitted->decision at 1,000/s offered; at 10 ms,
 * p50 26-27 / p99 69-79 ms (bench latency scenario, one broker, 2026-12-07). Produce retries double from
 * 10 ms as well, still bounded by delivery.timeout.ms.
 */
export const TXN_RETRY_BACKOFF_MS = 10;

export class TransactionalProducer extends BaseProducer {
  private initialized = false;

  constructor(
    conn: ConnectionConfig,
    clientId: string,
    readonly transactionalId: string,
    s: ProducerSettings = {},
    log?: KafkaLog,
  ) {
    super(producerConfig(conn, clientId, s, { 'transactional.id': transactionalId, 'transaction.timeout.ms': TRANSACTION_TIMEOUT_MS, dr_cb: false, 'retry.backoff.ms': TXN_RETRY_BACKOFF_MS }), `transactional producer ${transactionalId}`, log);
  }

  /** Connects and fences any earlier producer of the same transactional id (aborting its open transaction). */
  override async connect(): Promise<void> {
    await super.connect();
    await call((cb) => this.native.initTransactions(30_000, (err) => cb(err, undefined)));
    this.initialized = true;
  }

  /**
   * One transaction: messages + offsets, committed or aborted. Resolves after the commit; throws
   * CommitFencedError (fenced: the records belong to another member now), the abort-required error
   * (aborted: read the records again) or KAFKA_PRODUCER_FAILED (this producer is done).
   */
  async commit(c: TransactionCommit, onResult?: (result: TransactionResult, durationMs: number) => void): Promise<void> {
    this.failIfFatal();
    if (!this.initialized) throw new Error(`transactional producer ${this.transactionalId}: connect() first`);
    const started = performance.now();
    if (c.consumer && c.fence && !c.consumer.mayCommit(c.fence)) {
      onResult?.('fenced', 0);
      throw new CommitFencedError(`consumer group ${c.consumer.settings.groupId} rebalanced since these records were fetched; not committed`);
    }
    const deadline = Date.now() + COMMIT_DEADLINE_MS;
    const left = () => Math.max(1000, deadline - Date.now());
    await this.retrying(() => call((cb) => this.native.beginTransaction((err) => cb(err, undefined))), deadline);
    try {
      await produceAll(this.native, c.messages);
      if (c.offsets.length > 0) {
        if (!c.consumer) throw new Error('transactional offsets need the consumer that read them');
        const offsets = c.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset), ...(o.metadata !== undefined ? { metadata: o.metadata } : {}) }));
        const owned = () => !c.fence || c.consumer!.mayCommit(c.fence);
        const lostMsg = `consumer group ${c.consumer.settings.groupId}: the assignment these records were fetched under is lost or revoked; not committed`;
        if (!owned()) throw new CommitFencedError(lostMsg);
        await this.retrying(() => call((cb) => this.native.sendOffsetsToTransaction(offsets, c.consumer!.native, left(), (err) => cb(err, undefined))), deadline);
        // Lost while the offsets were on their way (they may carry generation -1, unchecked): abort instead.
        if (!owned()) throw new CommitFencedError(lostMsg);
      }
      await this.retrying(() => call((cb) => this.native.commitTransaction(left(), (err) => cb(err, undefined))), deadline);
      onResult?.('committed', performance.now() - started);
    } catch (e) {
      const err = e as LibrdKafkaError;
      const fenced = isFencedCommit(e);
      if (e instanceof CommitDeadlineError) {
        onResult?.('aborted', performance.now() - started);
        throw new ServiceError('KAFKA_PRODUCER_FAILED', `transactional producer ${this.transactionalId}: ${e.message}; replacing it`, true, { code: 'COMMIT_DEADLINE' }, { cause: e.cause });
      }
      if (err?.isFatal || kafkaErrorCodes(e).some((x) => PRODUCER_FATAL_CODES.has(x)) || this.fatal) {
        onResult?.('aborted', performance.now() - started);
        throw new ServiceError('KAFKA_PRODUCER_FAILED', `transactional producer ${this.transactionalId} failed for good: ${err?.message ?? String(e)}`, true, { code: codeName(err?.code) }, { cause: e });
      }
      try {
        await call((cb) => this.native.abortTransaction(30_000, (er) => cb(er, undefined)));
      } catch (a) {
        onResult?.('aborted', performance.now() - started);
        throw new ServiceError('KAFKA_PRODUCER_FAILED', `transaction failed (${err?.message}) and its abort failed (${(a as Error).message})`, true, {}, { cause: e });
      }
      onResult?.(fenced ? 'fenced' : 'aborted', performance.now() - started);
      if (fenced) throw new CommitFencedError(`transaction refused: this member no longer owns the records (${codeName(err?.code)})`, { cause: e });
      throw e;
    }
  }

  /** Repeats a transactional call while librdkafka flags its error retriable (a coordinator moving, a timeout). */
  private async retrying(fn: () => Promise<void>, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const err = e as LibrdKafkaError;
        if (!err?.isRetriable) throw e;
        if (Date.now() >= deadline) throw new CommitDeadlineError(`the transaction did not complete within ${COMMIT_DEADLINE_MS} ms (last: ${err.message})`, { cause: e });
        await sleep(Math.min(1000, 10 * 2 ** attempt));
      }
    }
  }
}

/** A commit still retrying at its deadline (COMMIT_DEADLINE_MS): the producer is replaced. */
class CommitDeadlineError extends Error {
  override readonly name = 'CommitDeadlineError';
}
