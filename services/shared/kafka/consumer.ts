/**
 * The one consumer-group member of the services: read_committed, manual offsets only (committed in a
 * transaction or explicitly), no topic auto-creation, bounded prefetch queues. It yields batches of
 * consumed records together with the fence they were fetched under; a transactional commit takes that
 * fence (producers.ts), so offsets are sent with this member's group metadata (generation and member id,
 * KIP-447) and a member that lost its partitions cannot commit them.
 *
 * Batches: one `consume` of up to `maxBatchMessages` records across the assigned partitions, waiting at
 * most `maxWaitMs` for the first one. The handler runs one batch at a time. If it throws, the batch's
 * partitions are rewound to the batch's first offsets and read again (nothing is skipped).
 *
 * Rebalances (eager protocol, `range` assignor: partition p of topics with equal partition counts goes to
 * the same member, which the drift monitor's join of scoring log and outcomes relies on): every assign or
 * revoke starts a new fence generation. Records fetched across a rebalance are dropped (the new assignment
 * reads from the committed offsets), and a commit under an old fence is refused locally before it reaches
 * the broker.
 *
 * States: created -> connected -> running -> closed.
 */
import type { ConsumerGlobalConfig } from '@confluentinc/kafka-javascript';
import { attachLog, baseConfig, call, codeName, ERR, KafkaConsumer, type KafkaLog, type LibrdKafkaError, type NativeConsumer, type NativeMessage, type NativeOffset, type NativeTopicPartition } from './native.ts';
import type { ConnectionConfig } from './connection.ts';

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Record timestamp, ms since the epoch. */
  readonly timestamp: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What a batch was fetched under: pass it to the commit. Opaque outside services/shared/kafka. */
export interface Fence {
  readonly generation: number;
}

export interface ConsumerBatch {
  readonly messages: readonly ConsumedMessage[];
  readonly fence: Fence;
}

/** The two stages of a pipelined consumer (GroupConsumer.runPipelined). */
export interface PipelineStages<P> {
  readonly prepare: (batch: ConsumerBatch) => Promise<P>;
  readonly commit: (prepared: P, batch: ConsumerBatch) => Promise<void>;
}

export interface GroupConsumerSettings {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts. */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** At most this many records per batch. */
  readonly maxBatchMessages: number;
  /** How long one poll waits for the first record (then it returns what is there). */
  readonly maxWaitMs?: number;
  readonly maxBytesPerPartition?: number;
  /** librdkafka's prefetch queue per consumer (queued.max.messages.kbytes); bounds memory under a backlog. */
  readonly queuedMaxKBytes?: number;
  /** Extra librdkafka properties (measured tuning; see docs/performance.md). */
  readonly tuning?: Readonly<Record<string, string | number | boolean>>;
}

export interface GroupConsumerHooks {
  /** A new assignment (every rebalance, including an empty one). */
  readonly onAssigned?: (partitions: readonly TopicPartition[]) => void;
  readonly onRevoked?: (partitions: readonly TopicPartition[]) => void;
  /** The client is unusable (a fatal librdkafka error): replace it. */
  readonly onFatal?: (error: LibrdKafkaError) => void;
  /** A batch handler failed; its partitions were rewound. */
  readonly onBatchFailed?: (error: unknown) => void;
}

/** Defaults chosen by measurement (docs/performance.md). */
export const CONSUMER_DEFAULTS = { maxWaitMs: 50, queuedMaxKBytes: 16_384 } as const;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export function consumerConfig(conn: ConnectionConfig, clientId: string, s: GroupConsumerSettings, rebalance: (err: LibrdKafkaError, assignment: NativeTopicPartition[]) => void): ConsumerGlobalConfig {
  return {
    ...baseConfig(conn, clientId),
    'group.id': s.groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'isolation.level': 'read_committed',
    'allow.auto.create.topics': false,
    'session.timeout.ms': s.sessionTimeoutMs,
    'heartbeat.interval.ms': s.heartbeatIntervalMs,
    'max.poll.interval.ms': Math.max(300_000, s.sessionTimeoutMs),
    'partition.assignment.strategy': 'range',
    'queued.max.messages.kbytes': s.queuedMaxKBytes ?? CONSUMER_DEFAULTS.queuedMaxKBytes,
    ...(s.maxBytesPerPartition ? { 'max.partition.fetch.bytes': s.maxBytesPerPartition } : {}),
    ...(s.tuning ?? {}),
    rebalance_cb: rebalance,
  } as ConsumerGlobalConfig;
}

function toMessage(m: NativeMessage): ConsumedMessage {
  const key = m.key === undefined || m.key === null ? null : typeof m.key === 'string' ? Buffer.from(m.key) : m.key;
  return { topic: m.topic, partition: m.partition, offset: m.offset, key, value: m.value ?? null, timestamp: m.timestamp ?? 0 };
}

export class GroupConsumer {
  /** The binding's consumer: producers.ts reads its group metadata for transactional offsets. */
  readonly native: NativeConsumer;
  private generation = 0;
  private running = false;
  private closed = false;
  private loop?: Promise<void>;
  private assigned: TopicPartition[] = [];

  constructor(
    conn: ConnectionConfig,
    clientId: string,
    readonly settings: GroupConsumerSettings,
    private readonly hooks: GroupConsumerHooks = {},
    log?: KafkaLog,
  ) {
    // auto.offset.reset is a topic property: in the global config the binding's (empty) topic config would override it.
    this.native = new KafkaConsumer(consumerConfig(conn, clientId, settings, (err, assignment) => this.rebalance(err, assignment)), { 'auto.offset.reset': settings.fromBeginning ? 'earliest' : 'latest' });
    attachLog(this.native, `consumer ${settings.groupId}`, log);
    this.native.on('event.error', (e: LibrdKafkaError) => {
      if (e.isFatal) hooks.onFatal?.(e);
    });
    const n = this.native as NativeConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void };
    n.setDefaultConsumeTimeout(settings.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs);
    n.setDefaultIsTimeoutOnlyForFirstMessage(true);
  }

  private rebalance(err: LibrdKafkaError, assignment: NativeTopicPartition[]): void {
    this.generation++;
    const parts = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
    try {
      if (err.code === ERR.ASSIGN_PARTITIONS) {
        this.native.assign(assignment);
        this.assigned = parts;
        this.hooks.onAssigned?.(parts);
      } else {
        this.native.unassign();
        this.assigned = [];
        this.hooks.onRevoked?.(parts);
      }
    } catch {
      // Closing: librdkafka unassigns by itself.
    }
  }

  /** The partitions assigned now. */
  assignment(): readonly TopicPartition[] {
    return this.assigned;
  }

  /** True while no rebalance happened since `fence` was issued. */
  isCurrent(fence: Fence): boolean {
    return fence.generation === this.generation && this.running;
  }

  /**
   * Whether records fetched under `fence` may still be committed: the fence is current and librdkafka has
   * not declared the assignment lost. librdkafka marks it lost the moment it sees its session timed out
   * (a frozen instance thawing), before the revoke reaches JavaScript, and at that moment also resets the
   * member id and generation that a transaction's offsets carry: sent then, they carry generation -1, which
   * the group coordinator does not check, so a zombie's commit would be accepted (a duplicate).
   */
  mayCommit(fence: Fence): boolean {
    return this.isCurrent(fence) && !(this.native as NativeConsumer & { assignmentLost(): boolean }).assignmentLost();
  }

  async connect(): Promise<void> {
    await call((cb) => this.native.connect({ timeout: 30_000 }, (err) => cb(err, undefined)));
    this.native.subscribe([...this.settings.topics]);
  }

  /** Starts the poll loop; `handler` gets one batch at a time. */
  run(handler: (batch: ConsumerBatch) => Promise<void>): void {
    if (this.running || this.closed) throw new Error(`consumer ${this.settings.groupId}: run() called twice or after close`);
    this.running = true;
    this.loop = this.poll(handler);
  }

  /**
   * Starts the poll loop with two stages that overlap: up to `depth` batches are fetched and `prepare`d
   * (concurrently: one batch's CPU work runs while another waits for a worker or the broker) while earlier
   * ones are `commit`ted. Commits run one at a time, in fetch order. If a commit fails, every batch behind it
   * is dropped too and all of them are read again from their first offsets: a later batch never commits
   * past an earlier one that did not.
   */
  runPipelined<P>(stages: PipelineStages<P>, depth = 2): void {
    if (this.running || this.closed) throw new Error(`consumer ${this.settings.groupId}: run() called twice or after close`);
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`pipeline depth must be a whole number >= 1, got ${depth}`);
    this.running = true;
    this.loop = this.pipeline(stages, depth);
  }

  private async pipeline<P>(stages: PipelineStages<P>, depth: number): Promise<void> {
    /** Batches fetched and not yet committed, in fetch order; `done` settles when its commit did (or was skipped). */
    const pending: { batch: ConsumerBatch; done: Promise<void>; settled: boolean; committed: boolean }[] = [];
    let failure: { error: unknown } | undefined;
    let chain: Promise<void> = Promise.resolve();
    const recover = async () => {
      // Every batch behind the failed one skips its commit; wait for all, then read them all again.
      await Promise.all(pending.map((p) => p.done));
      const dropped = pending.splice(0).filter((p) => !p.committed).map((p) => p.batch);
      this.hooks.onBatchFailed?.(failure!.error);
      failure = undefined;
      const current = dropped.filter((b) => this.isCurrent(b.fence));
      if (current.length > 0) await this.seekToFirst(current.flatMap((b) => b.messages));
      await sleep(50);
    };
    while (this.running) {
      if (failure) {
        await recover();
        continue;
      }
      if (pending.length >= depth) {
        await pending[0]!.done;
        if (!failure) pending.shift();
        continue;
      }
      const batch = await this.nextBatch();
      if (!batch) continue;
      const prepared = stages.prepare(batch);
      prepared.catch(() => undefined); // observed through the chain
      const entry = { batch, done: Promise.resolve(), settled: false, committed: false };
      chain = chain.then(async () => {
        if (failure) return;
        try {
          await stages.commit(await prepared, batch);
          entry.committed = true;
        } catch (error) {
          failure = { error };
        }
      });
      entry.done = chain;
      void chain.then(() => (entry.settled = true));
      pending.push(entry);
      // Drop what committed from the head of the queue (keeps `pending` to what is in flight).
      while (pending.length > 0 && !failure && pending[0]!.settled) pending.shift();
    }
    await chain;
    if (failure) await recover();
  }

  /** One poll as a batch; undefined when it returned nothing usable (empty, closing, or fetched across a rebalance). */
  private async nextBatch(): Promise<ConsumerBatch | undefined> {
    const generation = this.generation;
    let raw: NativeMessage[];
    try {
      raw = await this.consume();
    } catch (e) {
      const err = e as LibrdKafkaError;
      if (err.isFatal) this.hooks.onFatal?.(err);
      await sleep(100);
      return undefined;
    }
    // Rebalance callbacks queued by this poll run before its records are looked at.
    await new Promise((r) => setImmediate(r));
    if (!this.running || raw.length === 0) return undefined;
    const messages = raw.map(toMessage);
    if (generation !== this.generation) {
      // Fetched across a rebalance: read again, under the new assignment, whatever of it this member still owns.
      await this.seekToFirst(messages.filter((m) => this.assigned.some((a) => a.topic === m.topic && a.partition === m.partition)));
      return undefined;
    }
    return { messages, fence: { generation } };
  }

  private consume(): Promise<NativeMessage[]> {
    return new Promise((resolve, reject) => this.native.consume(this.settings.maxBatchMessages, (err, messages) => (err ? reject(err) : resolve(messages))));
  }

  private async poll(handler: (batch: ConsumerBatch) => Promise<void>): Promise<void> {
    while (this.running) {
      const batch = await this.nextBatch();
      if (!batch) continue;
      try {
        await handler(batch);
      } catch (e) {
        this.hooks.onBatchFailed?.(e);
        await this.rewind(batch);
      }
    }
  }

  /** Seeks the batch's partitions back to its first offsets (if this member still owns them). */
  private async rewind(batch: ConsumerBatch): Promise<void> {
    if (!this.isCurrent(batch.fence)) return; // the new assignment starts from the committed offsets anyway
    await this.seekToFirst(batch.messages);
    await sleep(50);
  }

  private async seekToFirst(messages: readonly ConsumedMessage[]): Promise<void> {
    const first = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const m of messages) {
      const k = `${m.topic}\u0000${m.partition}`;
      if (!first.has(k)) first.set(k, { topic: m.topic, partition: m.partition, offset: m.offset });
    }
    for (const tpo of first.values()) {
      await call((cb) => this.native.seek(tpo, 5000, (err) => cb(err, undefined))).catch(() => undefined);
    }
  }

  /** At-least-once: commits `offsets` (next offsets to read, with optional metadata) synchronously. */
  async commitOffsets(offsets: readonly { topic: string; partition: number; offset: string | number; metadata?: string }[]): Promise<void> {
    if (offsets.length === 0) return;
    const list: NativeOffset[] = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset), ...(o.metadata !== undefined ? { metadata: o.metadata } : {}) }));
    await new Promise<void>((resolve, reject) => {
      try {
        this.native.commitSync(list);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  }

  /** The group's committed offsets (and metadata) of `partitions`. */
  async committed(partitions: readonly TopicPartition[], timeoutMs = 10_000): Promise<{ topic: string; partition: number; offset: number; metadata?: string }[]> {
    const r = await call<NativeOffset[]>((cb) => this.native.committed(partitions.map((p) => ({ ...p })), timeoutMs, cb));
    return r.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, ...(o.metadata ? { metadata: o.metadata } : {}) }));
  }

  /** Stops polling (the running batch finishes), leaves the group and closes. Idempotent. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    await this.loop?.catch(() => undefined);
    if (this.native.isConnected()) await call((cb) => this.native.disconnect((err) => cb(err, undefined))).catch(() => undefined);
  }
}

export { codeName };
