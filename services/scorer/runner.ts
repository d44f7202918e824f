/**
 * The Kafka side of the scorer: a consumer group on the applications topic; each fetched batch is cut into
 * chunks of at most `maxBatch` messages, each chunk is scored in one model call and its decisions, log
 * records, dead letters and consumer offset are committed together — in one Kafka transaction
 * (exactly-once) or produce-then-commit (at-least-once).
 *
 * The consumer, the (transactional) producer and the admin form one session kept alive by a
 * ClientSupervisor (shared/kafka/supervisor.ts): when kafkajs gives up on one of them, the whole session
 * is replaced and resumes from the committed offsets.
 *
 * Zombie safety (exactly-once, N instances): offsets are committed with the consumer generation the batch
 * was fetched under (KIP-447, shared/kafka/kip447.ts); a commit refused as stale is aborted and the
 * consumer rejoins.
 *
 * States: see shared/lifecycle.ts.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { errorCode, isRetriable, ServiceError } from '../shared/errors.ts';
import { idempotentRetry } from '../shared/kafka/client.ts';
import { createGroupConsumer } from '../shared/kafka/consumer.ts';
import { generationOf, type Generation } from '../shared/kafka/kip447.ts';
import { ClientSupervisor, StaleSessionError, type SessionContext } from '../shared/kafka/supervisor.ts';
import { commitTransaction, isFencedCommit, isProducerFailure, produceThenCommit, TRANSACTION_TIMEOUT_MS } from '../shared/kafka/transaction.ts';
import { Lifecycle, type LifecycleState } from '../shared/lifecycle.ts';
import type { AvroRegistry } from '../shared/registry.ts';
import { processBatch, type BatchOutput, type Scorer } from './batch.ts';
import type { ScorerConfig } from './config.ts';
import type { ScorerInstrumentation } from './events.ts';
import { GroupCommitter, type OffsetToCommit, type TopicMessages } from './group-commit.ts';
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
  readonly kafka: Kafka;
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
 * Unbounded retries (see idempotentRetry); the short first retry matters: a transaction started right after the previous commit often gets
 * CONCURRENT_TRANSACTIONS while the broker finishes writing markers; kafkajs' default 300 ms backoff made
 * p99 end-to-end latency ~250 ms at 1k/s, 10 ms brings it to ~50 ms.
 */
const IDEMPOTENT_RETRY = idempotentRetry(10);

export const APPLICATION_RECORD = recordName('loan-application');

/** One set of live clients; replaced as a whole when one of them dies. */
interface Session {
  readonly consumer: Consumer;
  readonly producer: Producer;
  readonly admin: Admin;
  readonly committer: GroupCommitter;
  /** Next offset to process per partition, as committed by this session: guards against re-processing a retried batch. Cleared on every (re)join. */
  readonly nextOffsets: Map<string, bigint>;
  readonly ctx: SessionContext;
  joined: boolean;
  lagFailures: number;
}

export class ScoringRunner {
  private readonly life = new Lifecycle('scoring runner');
  private readonly supervisor: ClientSupervisor<Session>;
  private lagTimer?: NodeJS.Timeout;
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
    const producer =
      config.delivery === 'exactly-once'
        ? kafka.producer({ transactionalId: config.transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: TRANSACTION_TIMEOUT_MS, retry: IDEMPOTENT_RETRY })
        : kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
    // eslint-disable-next-line prefer-const -- assigned after the consumer that refers to it
    let session: Session;
    const consumer = createGroupConsumer(
      kafka,
      { groupId: config.groupId, sessionTimeoutMs: config.sessionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, maxBytesPerPartition: config.maxBytesPerPartition },
      {
        // Only the supervisor's current session may be restarted by kafkajs (see SessionContext.current).
        keepRunning: () => this.life.active && ctx.current,
        onJoin: ({ memberId, assignment }) => {
          // A new generation: offsets are re-read from the group (stable, see kip447.ts), so the floors of
          // the previous generation must not filter anything.
          session.nextOffsets.clear();
          session.joined = true;
          ctx.healthy();
          events.emit('consumer.joined', { memberId, partitions: Object.values(assignment).flat() });
        },
        onRebalancing: () => {
          session.joined = false;
          events.emit('consumer.rebalancing', {});
        },
        onCrash: ({ error, restart }) => {
          session.joined = false;
          events.emit('consumer.crashed', { error: error.message, restart });
        },
        onDead: (error) => ctx.fail('consumer', error),
      },
    );
    const admin = kafka.admin();
    session = {
      consumer,
      producer,
      admin,
      committer: new GroupCommitter((messages, offsets) => this.commitGroup(session, messages, offsets)),
      nextOffsets: new Map(),
      ctx,
      joined: false,
      lagFailures: 0,
    };
    try {
      await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
      await consumer.subscribe({ topics: [config.connection.topics.applications], fromBeginning: config.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Partitions are processed concurrently; their chunks share commits through the GroupCommitter, the
        // only user of the (transactional) producer, which runs one transaction at a time.
        partitionsConsumedConcurrently: config.partitionsConcurrently,
        eachBatch: (p) => this.onBatch(session, p),
      });
    } catch (e) {
      await this.closeSession(session);
      throw e;
    }
    return session;
  }

  private async closeSession(s: Session): Promise<void> {
    s.joined = false;
    // The consumer first: it finishes (or abandons, via isRunning) the in-flight chunk before leaving the group.
    await s.consumer.disconnect().catch(() => undefined);
    await Promise.all([s.producer.disconnect().catch(() => undefined), s.admin.disconnect().catch(() => undefined)]);
  }

  private async onBatch(session: Session, { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // A replaced session's consumer that kafkajs brought back: stop it before it holds partitions.
    if (!session.ctx.current) throw new StaleSessionError('scorer');
    const { topic, partition } = batch;
    const generation = generationOf(batch);
    const key = `${topic}:${partition}`;
    const floor = session.nextOffsets.get(key);
    const todo = floor === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= floor);
    if (todo.length === 0 && batch.messages.length > 0) resolveOffset(batch.lastOffset());
    const max = this.deps.config.maxBatch;
    for (let i = 0; i < todo.length; i += max) {
      if (!isRunning() || isStale()) return;
      const chunk = todo.slice(i, i + max);
      const last = chunk[chunk.length - 1]!.offset;
      const inputs: InputMessage[] = chunk.map((m) => ({
        topic,
        partition,
        offset: Number(m.offset),
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
      }));
      const started = performance.now();
      let out: BatchOutput | undefined;
      try {
        out = await this.processAndCommit(session, { topic, partition, offset: (BigInt(last) + 1n).toString(), generation }, inputs);
      } catch (e) {
        this.deps.events.emit('error', { code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e), fenced: isFencedCommit(e) });
        throw e;
      } finally {
        this.deps.events.emit('batch.end', {
          partition,
          firstOffset: chunk[0]!.offset,
          lastOffset: last,
          size: chunk.length,
          scored: out?.scored.length ?? 0,
          deadLettered: out?.deadLetters.length ?? 0,
          durationMs: performance.now() - started,
          ok: out !== undefined,
          ...(out ? { modelVersion: out.modelVersion } : {}),
        });
      }
      session.nextOffsets.set(key, BigInt(last) + 1n);
      resolveOffset(last);
      this.report(out);
      await heartbeat();
    }
  }

  private async processAndCommit(session: Session, next: OffsetToCommit & { generation: Generation }, inputs: InputMessage[]): Promise<BatchOutput> {
    const { registry, config, schemaIds } = this.deps;
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
    const topicMessages = [
      { topic: t.decisions, messages: out.scored.map((s) => ({ key: s.key, value: registry.encodeSync(schemaIds.decision, s.decision) })) },
      { topic: t.scoringLog, messages: out.scored.map((s) => ({ key: s.key, value: registry.encodeSync(schemaIds.scoringLog, s.log) })) },
      { topic: t.deadLetters, messages: out.deadLetters.map((d) => ({ key: d.original_key, value: registry.encodeSync(schemaIds.deadLetter, d) })) },
    ].filter((tm) => tm.messages.length > 0);
    await session.committer.commit(topicMessages, [next]);
    return out;
  }

  /** One commit for a group of chunks: a transaction (exactly-once) or produce-then-commit (at-least-once). */
  private async commitGroup(session: Session, messages: TopicMessages[], offsets: OffsetToCommit[]): Promise<void> {
    const { config, events } = this.deps;
    try {
      if (config.delivery === 'exactly-once') {
        await commitTransaction(session.producer, { messages, offsets, groupId: config.groupId, maxRequestBytes: config.maxRequestBytes }, (result, durationMs) =>
          events.emit('transaction', { result, durationMs }),
        );
      } else {
        await produceThenCommit(session.producer, (o) => session.consumer.commitOffsets(o), { messages, offsets, maxRequestBytes: config.maxRequestBytes });
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
    if (!session || !this.life.running) return [];
    const topic = this.deps.config.connection.topics.applications;
    try {
      const [ends, committed] = await Promise.all([
        session.admin.fetchTopicOffsets(topic),
        session.admin.fetchOffsets({ groupId: this.deps.config.groupId, topics: [topic] }),
      ]);
      session.lagFailures = 0;
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
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
