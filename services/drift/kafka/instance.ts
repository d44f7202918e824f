/**
 * The Kafka side of one drift instance: a member of the drift consumer group on scoring-log (and
 * loan-outcomes, co-partitioned). Per owned source partition it keeps the open windows (partition-windows)
 * and the outcome join; closed windows, progress reports and joined-outcome deltas go to drift-partials.
 * Every flush is one Kafka transaction holding those messages and the consumer offsets with each
 * partition's checkpoint as offset metadata — so after a crash or a rebalance the owner of a partition
 * re-reads from the first record of its oldest open window and rebuilds exactly the windows that were open.
 */
// Before kafkajs is first loaded: see kafkajs-patch.ts.
import '../../shared/kafka/kafkajs-patch.ts';
import type { EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { Partitioners } from '../../shared/kafka/kafkajs.ts';
import { errorCode, isRetriable, ServiceError } from '../../shared/errors.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { CoPartitionedAssigner } from './assigner.ts';
import { partialKey, partitionCheckpointFrom, partitionCheckpointMetadata, performancePartialValue, progressPartialValue, windowPartialValue, type DriftPartialValue, type PartialContext } from '../windows/codec.ts';
import type { DriftConfig } from '../config.ts';
import type { DriftInstrumentation } from '../events.ts';
import { GroupConsumer } from './group-consumer.ts';
import { commitTransaction, isProducerFailure, TRANSACTION_TIMEOUT_MS } from '../../shared/kafka/legacy-transaction.ts';
import { generationOf, NO_GENERATION, type Generation } from '../../shared/kafka/kip447.ts';
import { OutcomeJoin } from '../windows/join.ts';
import type { Layout } from '../windows/layout.ts';
import { Lock } from '../lock.ts';
import { INITIAL_CHECKPOINT, PartitionWindows } from '../windows/partition-windows.ts';
import { PerformanceCounts } from '../statistics/performance.ts';
import type { ScoringLogDecoder } from '../windows/record-decoder.ts';
import type { Reference } from '../statistics/reference.ts';
import type { ReferenceSchedule } from '../statistics/reference-schedule.ts';
import { idempotentRetry } from '../../shared/kafka/legacy-client.ts';
import { recordName } from '../../shared/schemas.ts';

export const LOAN_OUTCOME_RECORD = recordName('loan-outcome');

const IDEMPOTENT_RETRY = idempotentRetry(200);
/** Flush early when this many closed windows wait. */
const OUTBOX_LIMIT = 64;
const YIELD_EVERY = 2000;

async function yieldAndBeat(heartbeat: () => Promise<void>): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await heartbeat().catch(() => undefined);
}

export interface InstanceDeps {
  readonly kafka: Kafka;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly reference: Reference;
  readonly layout: Layout;
  /** Which reference each window is counted against (champion changes); without it every window uses `layout`. */
  readonly schedule?: ReferenceSchedule;
  readonly events: DriftInstrumentation;
  readonly partialSchemaId: number;
  readonly decoder: ScoringLogDecoder;
}

interface PartitionState {
  readonly partition: number;
  readonly windows: PartitionWindows;
  readonly join: OutcomeJoin;
  readonly perf: Map<number, PerformanceCounts>;
  lastRecordAt: number;
  /** Outcomes offset to commit next, once outcomes were read. */
  outcomesNext: number | undefined;
  dirty: boolean;
  reported: { progress: number; idle: boolean; openFrom: number | undefined } | undefined;
  /**
   * The consumer generation this partition's latest batch was fetched under: sent with its offsets
   * (KIP-447, kip447.ts), so an instance frozen past the session timeout cannot commit partials for a
   * partition that moved to another instance — its commit is refused and its state rebuilt.
   */
  fetchedUnder: Generation;
}

interface Committed {
  readonly offset: number;
  readonly metadata: string | null;
}

export class DriftInstance {
  private readonly lock = new Lock();
  private readonly group: GroupConsumer;
  private producer?: Producer;
  private admin?: ReturnType<Kafka['admin']>;
  private states = new Map<number, PartitionState>();
  /** Next offset to read per source partition, as far as fetches went (transaction markers included). */
  private positions = new Map<number, number>();
  private assigned: number[] = [];
  private assignedAt = 0;
  private generation = 0;
  private committed?: Promise<Map<string, Committed>>;
  private outbox: { key: string; value: Buffer }[] = [];
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  private readonly ctx: PartialContext;
  private readonly layoutFor: (index: number) => Layout;
  private stopped = false;

  constructor(private readonly d: InstanceDeps) {
    const c = d.config;
    this.ctx = { instance: c.instanceId, deployment: c.deployment, windowing: c.windowing, referenceVersion: d.reference.version };
    const schedule = d.schedule;
    this.layoutFor = schedule ? (k) => schedule.at(k).layout : () => d.layout;
    const topics = [c.connection.topics.scoringLog, ...(c.outcomes ? [c.connection.topics.outcomes!] : [])];
    this.group = new GroupConsumer({
      kafka: d.kafka,
      component: 'instance',
      groupId: c.groupId,
      topics,
      fromBeginning: c.fromBeginning,
      sessionTimeoutMs: c.sessionTimeoutMs,
      recoveryDeadlineMs: c.kafkaRecoveryDeadlineMs,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      maxBytesPerPartition: c.maxBytesPerPartition,
      assigner: CoPartitionedAssigner,
      events: d.events,
      onJoin: (a) => this.onJoin(a),
      eachBatch: (p) => this.onBatch(p),
      onBatchEnd: (topic, partition, lastOffset) => {
        if (topic === c.connection.topics.scoringLog) this.positions.set(partition, Math.max(this.positions.get(partition) ?? 0, lastOffset + 1));
      },
    });
  }

  /** Liveness: why this component's consumer is dead (being replaced, or gave up); undefined when alive. */
  get deadReason(): string | undefined {
    return this.group.deadReason;
  }
  get ready(): boolean {
    return this.group.joined;
  }
  /** Source partitions this instance owns now. */
  get partitions(): readonly number[] {
    return this.assigned;
  }
  get openWindows(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.windows.openWindows;
    return n;
  }

  private newProducer(): Producer {
    const c = this.d.config;
    return this.d.kafka.producer({
      transactionalId: `${c.groupId}-${c.instanceId}`,
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      retry: IDEMPOTENT_RETRY,
    });
  }

  /** A fresh transactional producer (its initTransactions fences the old one); flushes wait until it is connected. */
  private replaceProducer(): void {
    const old = this.producer;
    this.producer = undefined;
    void old?.disconnect().catch(() => undefined);
    const p = this.newProducer();
    void p.connect().then(
      () => {
        if (this.stopped) void p.disconnect().catch(() => undefined);
        else this.producer = p;
      },
      (e: unknown) => {
        this.d.events.emit('error', { component: 'instance', code: errorCode(e), message: `reconnecting the producer failed: ${(e as Error).message}`, retriable: true });
        if (!this.stopped) setTimeout(() => this.replaceProducer(), 1000).unref();
      },
    );
  }

  async start(): Promise<void> {
    const c = this.d.config;
    this.producer = this.newProducer();
    this.admin = this.d.kafka.admin();
    await Promise.all([this.producer.connect(), this.admin.connect()]);
    await this.group.start();
    this.timer = setInterval(() => void this.flush('timer').catch(() => undefined), Math.max(50, Math.min(c.flushIntervalMs, 1000)));
    this.timer.unref();
  }

  private onJoin(assignment: Record<string, number[]>): void {
    // A new generation: state of the previous one is dropped and rebuilt from the committed checkpoints.
    this.generation++;
    this.states = new Map();
    this.positions = new Map();
    this.outbox = [];
    this.committed = undefined;
    this.assigned = [...(assignment[this.d.config.connection.topics.scoringLog] ?? [])].sort((a, b) => a - b);
    this.assignedAt = Date.now();
  }

  private async committedOffsets(): Promise<Map<string, Committed>> {
    this.committed ??= (async () => {
      const t = this.d.config.connection.topics;
      const topics = [t.scoringLog, ...(this.d.config.outcomes ? [t.outcomes!] : [])];
      const res = await this.admin!.fetchOffsets({ groupId: this.d.config.groupId, topics });
      const m = new Map<string, Committed>();
      for (const { topic, partitions } of res) for (const p of partitions) m.set(`${topic}:${p.partition}`, { offset: Number(p.offset), metadata: p.metadata });
      return m;
    })();
    const gen = this.generation;
    try {
      return await this.committed;
    } catch (e) {
      if (gen === this.generation) this.committed = undefined;
      throw e;
    }
  }

  private async stateFor(partition: number, lastRecordAt = Date.now()): Promise<PartitionState> {
    const existing = this.states.get(partition);
    if (existing) return existing;
    const gen = this.generation;
    const committed = (await this.committedOffsets()).get(`${this.d.config.connection.topics.scoringLog}:${partition}`);
    const cp = committed && committed.offset >= 0 ? (partitionCheckpointFrom(committed.offset, committed.metadata) ?? { ...INITIAL_CHECKPOINT, offset: committed.offset, through: committed.offset }) : INITIAL_CHECKPOINT;
    if (gen !== this.generation) throw new ServiceError('STATE_INVALID', 'consumer group rebalanced while loading a checkpoint', true);
    const st: PartitionState = {
      partition,
      windows: new PartitionWindows(partition, this.d.config.window, this.layoutFor, cp, this.d.config.eventTime),
      join: new OutcomeJoin(this.d.config.joinMaxEntries),
      perf: new Map(),
      lastRecordAt,
      outcomesNext: undefined,
      dirty: false,
      reported: undefined,
      fetchedUnder: NO_GENERATION,
    };
    this.states.set(partition, st);
    return st;
  }

  private addPerformance(st: PartitionState, probability: number, defaulted: boolean, first: number, last: number): void {
    for (let k = first; k <= last; k++) {
      let c = st.perf.get(k);
      if (!c) st.perf.set(k, (c = new PerformanceCounts()));
      c.add(probability, defaulted);
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.group.isRestarting || this.stopped) return;
    const topics = this.d.config.connection.topics;
    let flushNeeded = false;
    try {
      await this.lock.run(async () => {
        const gen = this.generation;
        const st = await this.stateFor(batch.partition);
        if (gen !== this.generation || !isRunning() || isStale()) return;
        st.fetchedUnder = generationOf(batch);
        if (batch.topic === topics.scoringLog) flushNeeded = await this.onScoringLog(st, batch.messages, batch.partition, heartbeat);
        else await this.onOutcomes(st, batch.messages, heartbeat);
        st.dirty = true;
        resolveOffset(batch.lastOffset());
      });
    } catch (e) {
      this.group.restart(e);
      return;
    }
    await heartbeat().catch(() => undefined);
    if (flushNeeded || Date.now() - this.lastFlush >= this.d.config.flushIntervalMs) await this.flush('batch').catch(() => undefined);
  }

  private async onScoringLog(st: PartitionState, messages: EachBatchPayload['batch']['messages'], partition: number, heartbeat: () => Promise<void>): Promise<boolean> {
    const { registry, config, decoder } = this.d;
    const dropped: Record<string, number> = {};
    let count = 0;
    const start = st.windows.checkpoint().offset;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // A large fetch is thousands of records: let timers, I/O and the group heartbeat run in between.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldAndBeat(heartbeat);
      const offset = Number(m.offset);
      if (offset < start) continue;
      const r = decoder.trySync(m.value) ?? (await decoder.decode(m.value));
      if (!r.ok) {
        dropped[r.error.reason] = (dropped[r.error.reason] ?? 0) + 1;
        continue;
      }
      const rec = r.value;
      // Processing time: when the scorer appended the record (the same on every replay).
      const appended = Number(m.timestamp);
      const closed = st.windows.add(rec, offset, Number.isFinite(appended) && appended > 0 ? appended : Date.now());
      count++;
      for (const w of closed) {
        const v = windowPartialValue(w, w.layout, this.ctx, st.windows.progress);
        this.outbox.push({ key: partialKey(v), value: registry.encodeSync(this.d.partialSchemaId, v) });
      }
      if (config.outcomes) {
        const { first, last } = st.windows.lastWindows;
        if (first <= last) {
          const joined = st.join.onScored(rec.applicationId, { probability: rec.score, first, last });
          if (joined) this.addPerformance(st, joined.probability, joined.defaulted, joined.first, joined.last);
        }
      }
    }
    st.lastRecordAt = Date.now();
    this.d.events.emit('records', { partition, count, dropped });
    this.d.events.emit('open-windows', { open: this.openWindows });
    return this.outbox.length >= OUTBOX_LIMIT;
  }

  private async onOutcomes(st: PartitionState, messages: EachBatchPayload['batch']['messages'], heartbeat: () => Promise<void>): Promise<void> {
    let joined = 0;
    let waiting = 0;
    let dropped = 0;
    const evictedBefore = st.join.evicted;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldAndBeat(heartbeat);
      const r = await this.d.registry.decode(m.value, LOAN_OUTCOME_RECORD);
      st.outcomesNext = Number(m.offset) + 1;
      if (!r.ok) {
        dropped++;
        continue;
      }
      const v = r.value.value as { application_id: string; defaulted: boolean };
      const j = st.join.onOutcome(v.application_id, v.defaulted);
      if (j) {
        joined++;
        this.addPerformance(st, j.probability, j.defaulted, j.first, j.last);
      } else waiting++;
    }
    this.d.events.emit('outcomes', { joined, waiting, evicted: st.join.evicted - evictedBefore, dropped });
  }

  /**
   * Partitions without a record for the idle timeout that are also caught up: nothing unread beyond
   * (at most) one trailing transaction marker. A partition whose records have merely not been fetched yet
   * is not idle — declaring it so would let the aggregator finalize windows it still has data for.
   */
  private async idlePartitions(now: number): Promise<Set<number>> {
    const quiet = [...this.states.values()].filter((st) => now - st.lastRecordAt >= this.d.config.idleTimeoutMs);
    const idle = new Set<number>();
    if (quiet.length === 0) return idle;
    let ends;
    try {
      ends = await this.admin!.fetchTopicOffsets(this.d.config.connection.topics.scoringLog);
    } catch {
      return idle;
    }
    for (const st of quiet) {
      const end = ends.find((e) => e.partition === st.partition);
      if (!end) continue;
      const position = Math.max(this.positions.get(st.partition) ?? 0, st.windows.checkpoint().through, Number(end.low));
      if (Number(end.high) - position <= 1) idle.add(st.partition);
    }
    return idle;
  }

  /** One transaction: closed windows, progress, outcome deltas, and the offsets with their checkpoints. */
  flush(why: 'batch' | 'timer' | 'stop'): Promise<void> {
    return this.lock.run(async () => {
      if (!this.producer || this.group.isRestarting || (this.stopped && why !== 'stop')) return;
      const { config, registry, partialSchemaId } = this.d;
      const topics = config.connection.topics;
      const now = Date.now();
      const gen = this.generation;
      // Owned partitions that never delivered a record still report (idle), so the aggregator need not wait for them.
      if (this.group.joined && now - this.assignedAt >= config.idleTimeoutMs) for (const p of this.assigned) if (!this.states.has(p)) await this.stateFor(p, this.assignedAt);
      if (gen !== this.generation) return;
      const idle = await this.idlePartitions(now);
      if (gen !== this.generation) return;
      const messages = this.outbox;
      this.outbox = [];
      const scoring: { partition: number; offset: string; metadata: string; generation: Generation }[] = [];
      const outcomes: { partition: number; offset: string; generation: Generation }[] = [];
      const reports: [PartitionState, NonNullable<PartitionState['reported']>][] = [];
      let late = 0;
      let future = 0;
      for (const st of this.states.values()) {
        const r = { progress: st.windows.progress, idle: idle.has(st.partition), openFrom: st.windows.openFrom };
        const lateNow = st.windows.takeLate();
        late += lateNow;
        future += st.windows.takeFuture();
        const changed = !st.reported || st.reported.progress !== r.progress || st.reported.idle !== r.idle || st.reported.openFrom !== r.openFrom || lateNow > 0;
        for (const [k, c] of st.perf) {
          const v = performancePartialValue(st.partition, k, c, { ...this.ctx, referenceVersion: this.layoutFor(k).version }, r.progress);
          messages.push({ key: partialKey(v), value: registry.encodeSync(partialSchemaId, v) });
        }
        st.perf.clear();
        if (changed) {
          const v: DriftPartialValue = progressPartialValue(st.partition, { ...r, late: lateNow }, this.ctx);
          messages.push({ key: partialKey(v), value: registry.encodeSync(partialSchemaId, v) });
          reports.push([st, r]);
        }
        if (st.dirty || changed) {
          const cp = st.windows.checkpoint();
          scoring.push({ partition: st.partition, offset: String(cp.offset), metadata: partitionCheckpointMetadata(cp), generation: st.fetchedUnder });
          if (st.outcomesNext !== undefined) outcomes.push({ partition: st.partition, offset: String(st.outcomesNext), generation: st.fetchedUnder });
          st.dirty = false;
        }
      }
      if (late) this.d.events.emit('late', { stage: 'instance', records: late });
      if (future) this.d.events.emit('future', { stage: 'instance', records: future });
      this.lastFlush = now;
      if (messages.length === 0 && scoring.length === 0) return;
      const started = performance.now();
      const offsets = [
        ...scoring.map((o) => ({ topic: topics.scoringLog, ...o })),
        ...outcomes.map((o) => ({ topic: topics.outcomes!, ...o })),
      ];
      try {
        await commitTransaction(this.producer, { messages: [{ topic: topics.driftPartials!, messages }], offsets, groupId: config.groupId });
        for (const [st, r] of reports) st.reported = r;
        this.d.events.emit('flush', { component: 'instance', messages: messages.length, durationMs: performance.now() - started, ok: true });
      } catch (e) {
        this.d.events.emit('flush', { component: 'instance', messages: messages.length, durationMs: performance.now() - started, ok: false });
        this.d.events.emit('error', { component: 'instance', code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e) });
        // A fenced or broken producer cannot run another transaction: replace it before the consumer restarts.
        if (isProducerFailure(e)) this.replaceProducer();
        // In-memory state is now ahead of what is committed: rebuild it from the committed checkpoints.
        this.group.restart(e, isProducerFailure(e) ? 'producer' : 'consumer');
        throw e;
      }
    });
  }

  /**
   * The reference schedule changed: windows still open that were opened on another reference than the one
   * they now belong to are rebuilt — the consumer restarts from the committed checkpoints (the first record
   * of each partition's oldest open window) and counts them again over the right bins.
   */
  onReferenceSwitch(): void {
    for (const st of this.states.values()) {
      if (st.windows.staleLayouts(this.layoutFor)) {
        this.group.restart(new ServiceError('STATE_INVALID', `open windows of partition ${st.partition} predate the switch to v${this.d.schedule?.latest.reference.version}: recounting them`, true));
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    // Commit what was counted, so a graceful restart re-reads nothing it does not need.
    await this.flush('stop').catch(() => undefined);
    this.stopped = true;
    await this.group.stop();
    await Promise.all([this.producer?.disconnect().catch(() => undefined), this.admin?.disconnect().catch(() => undefined)]);
  }
}
