/**
 * The Kafka side of the scorer: a consumer-group member on the applications topic; each polled batch (up
 * to `maxBatch` records across the assigned partitions) is scored in one model call and its decisions, log
 * records, dead letters and consumer offsets are committed together — in one Kafka transaction
 * (exactly-once) or produce-then-commit (at-least-once).
 *
 * The consumer, the (transactional) producer and the admin form one session kept alive by a
 * ClientSupervisor (shared/kafka/supervisor.ts): when one of them fails for good (a fatal librdkafka
 * error, a fenced producer), the whole session is replaced and resumes from the committed offsets.
 *
 * Zombie safety (exactly-once, N instances): the transaction's offsets go with the consumer's group
 * metadata (KIP-447, librdkafka's own API); a member that lost its partitions is refused, the transaction
 * is aborted and the records are read again by whoever owns them now.
 *
 * States: see shared/lifecycle.ts.
 */
import { errorCode, isRetriable, ServiceError } from '../shared/errors.ts';
import type { KafkaAdmin } from '../shared/kafka/admin.ts';
import type { KafkaClient } from '../shared/kafka/client.ts';
import type { ConsumerBatch, GroupConsumer } from '../shared/kafka/consumer.ts';
import type { IdempotentProducer, TransactionalProducer } from '../shared/kafka/producers.ts';
import { ClientSupervisor, type SessionContext } from '../shared/kafka/supervisor.ts';
import { isFencedCommit, isProducerFailure, produceThenCommit } from '../shared/kafka/transaction.ts';
import type { OffsetToCommit, TopicMessages } from '../shared/kafka/messages.ts';
import { Lifecycle, type LifecycleState } from '../shared/lifecycle.ts';
import type { AvroRegistry } from '../shared/registry.ts';
import { processBatch, type BatchOutput, type Scorer } from './batch.ts';
import type { ScorerConfig } from './config.ts';
import type { ScorerInstrumentation } from './events.ts';
import type { InputMessage } from './records.ts';
import { buildValidator } from './validate.ts';
import { recordName } from '../shared/schemas.ts';

export type RunnerState = LifecycleState;

export interface SchemaIds {
  readonly decision: number;
  readonly scoringLog: number;
  readonly deadLetter: number;
}

export interface RunnerDeps {
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  /** Runs one batch with the serving model, which stays loaded until the batch settles (see ModelSlot). */
  readonly useModel: <T>(fn: (model: Scorer) => Promise<T>) => Promise<T>;
  /** The shadow (challenger) model, if any. */
  readonly shadow?: () => Scorer | undefined;
  readonly config: ScorerConfig;
  readonly events: ScorerInstrumentation;
  readonly schemaIds: SchemaIds;
  /** Called once if the Kafka clients cannot be recovered within the deadline: the process must exit. */
  readonly onFatal?: (e: Error) => void;
}

/**
 * Batches in flight between fetch and commit: while one commits, the next is in the model worker and a
 * third is decoded on the main thread. Measured on 50k applications (loaded machine, 2 reps): depth 2
 * 8.8-12.0k/s exactly-once with reasons, depth 3 16.1-16.6k/s, depth 4 17.4-17.9k/s (more memory).
 */
export const PIPELINE_DEPTH = 3;

export const APPLICATION_RECORD = recordName('loan-application');

/** A scored and encoded batch waiting for its commit. */
interface Prepared {
  readonly out: BatchOutput;
  readonly messages: TopicMessages[];
  readonly offsets: OffsetToCommit[];
  readonly ranges: readonly { partition: number; firstOffset: string; lastOffset: string }[];
  readonly size: number;
  readonly started: number;
}

/** One set of live clients; replaced as a whole when one of them dies. */
interface Session {
  readonly consumer: GroupConsumer;
  readonly producer: { readonly kind: 'transactional'; readonly p: TransactionalProducer } | { readonly kind: 'idempotent'; readonly p: IdempotentProducer };
  readonly admin: KafkaAdmin;
  readonly ctx: SessionContext;
  joined: boolean;
  lagFailures: number;
}

export class ScoringRunner {
  private readonly life = new Lifecycle('scoring runner');
  private readonly supervisor: ClientSupervisor<Session>;
  private lagTimer?: NodeJS.Timeout;
  private lagInFlight = false;
  private readonly validate: ReturnType<typeof buildValidator>;

  constructor(private readonly deps: RunnerDeps) {
    const { config, events } = deps;
    this.validate = buildValidator(config.inputBounds);
    this.supervisor = new ClientSupervisor<Session>({
      name: 'scorer',
      open: (ctx) => this.openSession(ctx),
      close: (s) => this.closeSession(s),
      deadlineMs: config.kafkaRecoveryDeadlineMs,
      onRestart: (e) => events.emit('kafka.client.restart', e),
      onRecovered: (e) => events.emit('kafka.client.recovered', e),
      onOpenFailed: (e) => events.emit('kafka.client.open-failed', e),
      onGiveUp: (e) => {
        events.emit('kafka.client.gave-up', e);
        deps.onFatal?.(new ServiceError('KAFKA_CLIENT_DEAD', `kafka ${e.client} not recovered within ${config.kafkaRecoveryDeadlineMs} ms (${e.reason})`, false, e));
      },
    });
  }

  get state(): RunnerState {
    return this.life.state;
  }
  /** Joined the group and consuming. */
  get ready(): boolean {
    return this.life.running && this.supervisor.current?.joined === true;
  }
  /** Liveness: undefined when alive, else why not (a Kafka client is dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.life.active ? this.supervisor.deadReason : undefined;
  }

  async start(): Promise<void> {
    await this.life.start(
      async () => {
        await this.supervisor.start();
        this.lagTimer = setInterval(() => void this.pollLag(), this.deps.config.lagPollIntervalMs);
        this.lagTimer.unref();
      },
      () => this.shutdown(),
    );
  }

  private async openSession(ctx: SessionContext): Promise<Session> {
    const { kafka, config, events } = this.deps;
    const producer: Session['producer'] =
      config.delivery === 'exactly-once' ? { kind: 'transactional', p: kafka.transactionalProducer(config.transactionalId) } : { kind: 'idempotent', p: kafka.producer() };
    // eslint-disable-next-line prefer-const -- assigned after the consumer that refers to it
    let session: Session;
    const consumer = kafka.consumer(
      {
        groupId: config.groupId,
        topics: [config.connection.topics.applications],
        fromBeginning: config.fromBeginning,
        sessionTimeoutMs: config.sessionTimeoutMs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        maxBatchMessages: config.maxBatch,
        maxBytesPerPartition: config.maxBytesPerPartition,
      },
      {
        onAssigned: (partitions) => {
          session.joined = true;
          ctx.healthy();
          events.emit('consumer.joined', { memberId: config.instanceId, partitions: partitions.map((p) => p.partition) });
        },
        onRevoked: () => {
          session.joined = false;
          events.emit('consumer.rebalancing', {});
        },
        onFatal: (error) => {
          session.joined = false;
          events.emit('consumer.crashed', { error: error.message, restart: false });
          ctx.fail('consumer', error);
        },
      },
    );
    const admin = kafka.admin();
    session = { consumer, producer, admin, ctx, joined: false, lagFailures: 0 };
    try {
      await Promise.all([producer.p.connect(), consumer.connect()]);
      // Later batches are decoded, scored and encoded while earlier ones commit (consumer.ts runPipelined).
      consumer.runPipelined({ prepare: (b) => this.prepare(session, b), commit: (p, b) => this.finish(session, p, b) }, PIPELINE_DEPTH);
    } catch (e) {
      await this.closeSession(session);
      throw e;
    }
    return session;
  }

  private async closeSession(s: Session): Promise<void> {
    s.joined = false;
    // The consumer first: it finishes the in-flight batch (commit or abort) before leaving the group.
    await s.consumer.disconnect().catch(() => undefined);
    await s.producer.p.disconnect().catch(() => undefined);
    s.admin.disconnect();
  }

  /** Stage 1: decode, validate, score and encode a batch (overlaps the previous batch's commit). */
  private async prepare(session: Session, batch: ConsumerBatch): Promise<Prepared> {
    // A replaced session's consumer: do no more work (its disconnect is under way).
    if (!session.ctx.current) throw new ServiceError('KAFKA_CLIENT_DEAD', 'scorer: this kafka session was replaced', true);
    const started = performance.now();
    const inputs: InputMessage[] = batch.messages.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp }));
    const ranges = new Map<number, { partition: number; firstOffset: string; lastOffset: string }>();
    for (const m of batch.messages) {
      const r = ranges.get(m.partition);
      if (r) r.lastOffset = String(m.offset);
      else ranges.set(m.partition, { partition: m.partition, firstOffset: String(m.offset), lastOffset: String(m.offset) });
    }
    const { registry, config, schemaIds } = this.deps;
    const topic = config.connection.topics.applications;
    const offsets: OffsetToCommit[] = [...ranges.values()].map((r) => ({ topic, partition: r.partition, offset: String(Number(r.lastOffset) + 1) }));
    try {
      const shadow = this.deps.shadow?.();
      const out = await this.deps.useModel((scorer) =>
        processBatch(inputs, {
          decode: (v) => registry.decodeCached(v, APPLICATION_RECORD) ?? registry.decode(v, APPLICATION_RECORD),
          scorer,
          ...(shadow ? { shadow } : {}),
          policy: config.policy,
          validate: this.validate,
          service: `scorer@${config.instanceId}`,
        }),
      );
      if (out.scored.length > 0) this.deps.events.emit('inference', { rows: out.scored.length, durationMs: out.inferenceMs, modelVersion: out.modelVersion });
      const t = config.connection.topics;
      const messages: TopicMessages[] = [
        { topic: t.decisions, messages: out.scored.map((s) => ({ key: s.key, value: registry.encodeSync(schemaIds.decision, s.decision) })) },
        { topic: t.scoringLog, messages: out.scored.map((s) => ({ key: s.key, value: registry.encodeSync(schemaIds.scoringLog, s.log) })) },
        { topic: t.deadLetters, messages: out.deadLetters.map((d) => ({ key: d.original_key, value: registry.encodeSync(schemaIds.deadLetter, d) })) },
      ].filter((tm) => tm.messages.length > 0);
      return { out, messages, offsets, ranges: [...ranges.values()], size: inputs.length, started };
    } catch (e) {
      this.batchFailed(e, [...ranges.values()], inputs.length, started);
      throw e;
    }
  }

  /** Stage 2: commit a prepared batch (one at a time, in fetch order). */
  private async finish(session: Session, p: Prepared, batch: ConsumerBatch): Promise<void> {
    try {
      await this.commit(session, batch, p.messages, p.offsets);
    } catch (e) {
      this.batchFailed(e, p.ranges, p.size, p.started);
      throw e;
    }
    this.deps.events.emit('batch.end', { partitions: p.ranges, size: p.size, scored: p.out.scored.length, deadLettered: p.out.deadLetters.length, durationMs: performance.now() - p.started, ok: true, modelVersion: p.out.modelVersion });
    this.report(p.out);
  }

  private batchFailed(e: unknown, partitions: Prepared['ranges'], size: number, started: number): void {
    this.deps.events.emit('error', { code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e), fenced: isFencedCommit(e) });
    this.deps.events.emit('batch.end', { partitions, size, scored: 0, deadLettered: 0, durationMs: performance.now() - started, ok: false });
  }

  /** One commit for a batch: a transaction (exactly-once) or produce-then-commit (at-least-once). */
  private async commit(session: Session, batch: ConsumerBatch, messages: TopicMessages[], offsets: OffsetToCommit[]): Promise<void> {
    const { events } = this.deps;
    try {
      if (session.producer.kind === 'transactional') {
        await session.producer.p.commit({ messages, offsets, consumer: session.consumer, fence: batch.fence }, (result, durationMs) => events.emit('transaction', { result, durationMs }));
      } else {
        await produceThenCommit(session.producer.p, session.consumer, { messages, offsets });
      }
    } catch (e) {
      // A fenced or broken producer cannot run another transaction: replace the session.
      if (isProducerFailure(e)) session.ctx.fail('producer', e);
      throw e;
    }
  }

  private report(out: BatchOutput): void {
    if (out.scored.length > 0) {
      const byDecision: Record<string, number> = {};
      const now = Date.now();
      const endToEndMs: number[] = [];
      const records = out.scored.map((s) => s.decision);
      for (const d of records) {
        byDecision[d.decision] = (byDecision[d.decision] ?? 0) + 1;
        endToEndMs.push(now - d.submitted_at);
      }
      this.deps.events.emit('decisions', { byDecision, endToEndMs });
      this.deps.events.emit('decision.records', { records });
    }
    if (out.deadLetters.length > 0) {
      const byCode: Record<string, number> = {};
      for (const d of out.deadLetters) byCode[d.error_code] = (byCode[d.error_code] ?? 0) + 1;
      this.deps.events.emit('dead-letters', { byCode });
    }
  }

  /** Consumer lag per partition: log-end offset minus the group's committed offset. */
  async pollLag(): Promise<{ partition: number; lag: number }[]> {
    const session = this.supervisor.current;
    // One poll at a time: while a broker is down a poll waits (up to its timeout) on pool threads, and
    // the interval must not stack more of them.
    if (!session || !this.life.running || this.lagInFlight) return [];
    const topic = this.deps.config.connection.topics.applications;
    const timeoutMs = Math.max(1000, this.deps.config.lagPollIntervalMs);
    this.lagInFlight = true;
    try {
      const [ends, committed] = await Promise.all([session.admin.topicOffsets(topic, timeoutMs), session.admin.groupOffsets(this.deps.config.groupId, [topic], timeoutMs)]);
      session.lagFailures = 0;
      const done = new Map(committed.map((p) => [p.partition, BigInt(p.offset)]));
      const lags = ends.map((e) => {
        const c = done.get(e.partition) ?? -1n;
        const start = c >= 0n ? c : BigInt(e.low);
        // The two reads are not atomic: a commit between them can make the difference negative.
        return { topic, partition: e.partition, lag: Math.max(0, Number(BigInt(e.high) - start)) };
      });
      this.deps.events.emit('lag', lags);
      return lags;
    } catch (e) {
      // An admin that keeps failing while the consumer works has lost its connection for good: replace it.
      if (++session.lagFailures >= 5 && session.joined) session.ctx.fail('admin', e);
      return [];
    } finally {
      this.lagInFlight = false;
    }
  }

  private async shutdown(): Promise<void> {
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.supervisor.stop();
  }

  /** Idempotent: concurrent and repeated calls share one shutdown. */
  stop(): Promise<void> {
    return this.life.stop(() => this.shutdown());
  }
}
