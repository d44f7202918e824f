/**
 * The Kafka side of one drift instance: a member of the drift consumer group on scoring-log (and
 * loan-outcomes, co-partitioned). Per owned source partition it keeps the open windows (partition-windows)
 * and the outcome join; closed windows, progress reports and joined-outcome deltas go to drift-partials.
 * Every flush is one Kafka transaction holding those messages and the consumer offsets with each
 * partition's checkpoint as offset metadata — so after a crash or a rebalance the owner of a partition
 * re-reads from the first record of its oldest open window and rebuilds exactly the windows that were open.
 */
import { errorCode, isRetriable, ServiceError } from '../../shared/errors.ts';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import type { ConsumedMessage, ConsumerBatch, Fence } from '../../shared/kafka/consumer.ts';
import type { KafkaAdmin } from '../../shared/kafka/admin.ts';
import type { TransactionalProducer } from '../../shared/kafka/producers.ts';
import { isFencedCommit, isProducerFailure } from '../../shared/kafka/transaction.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { copartitionMismatch } from './copartition.ts';
import {
  fairnessMetadataOf,
  fairnessPartialValue,
  partialKey,
  partitionCheckpointFrom,
  partitionCheckpointMetadata,
  performancePartialValue,
  progressPartialValue,
  windowPartialValue,
  type DriftPartialValue,
  type PartialContext,
} from '../windows/codec.ts';
import { fairnessCheckpointFrom, fairnessCheckpointJson, fairnessStartFrom } from '../fairness/codec.ts';
import type { FairnessLayout } from '../fairness/layout.ts';
import { PartitionFairness, type ClosedFairnessWindow } from '../fairness/partition-fairness.ts';
import type { DriftConfig } from '../config.ts';
import type { DriftInstrumentation } from '../events.ts';
import { GroupConsumer, type AdapterConsumer } from './group-consumer.ts';
import { OutcomeJoin } from '../windows/join.ts';
import type { Layout } from '../windows/layout.ts';
import { Lock } from '../lock.ts';
import { INITIAL_CHECKPOINT, PartitionWindows } from '../windows/partition-windows.ts';
import { PerformanceCounts } from '../statistics/performance.ts';
import type { ScoringLogDecoder } from '../windows/record-decoder.ts';
import type { Reference } from '../statistics/reference.ts';
import type { ReferenceSchedule } from '../statistics/reference-schedule.ts';
import { recordName } from '../../shared/schemas.ts';

export const LOAN_OUTCOME_RECORD = recordName('loan-outcome');
export const DEMOGRAPHICS_RECORD = recordName('applicant-demographics');

/** How long loading a generation's checkpoints may wait for offsets to be stable (a zombie's transaction is aborted within TRANSACTION_TIMEOUT_MS). */
const COMMITTED_TIMEOUT_MS = 30_000;
/** Flush early when this many closed windows wait. */
const OUTBOX_LIMIT = 64;
const YIELD_EVERY = 2000;

/** A large batch is thousands of records: let timers and I/O run in between (librdkafka heartbeats on its own threads). */
function yieldNow(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** A batch's records per topic-partition, in offset order. */
export function byPartition(messages: readonly ConsumedMessage[]): { topic: string; partition: number; messages: ConsumedMessage[] }[] {
  const groups = new Map<string, { topic: string; partition: number; messages: ConsumedMessage[] }>();
  for (const m of messages) {
    const k = `${m.topic}\u0000${m.partition}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { topic: m.topic, partition: m.partition, messages: [] }));
    g.messages.push(m);
  }
  return [...groups.values()];
}

export interface InstanceDeps {
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly reference: Reference;
  readonly layout: Layout;
  /** Which reference each window is counted against (champion changes); without it every window uses `layout`. */
  readonly schedule?: ReferenceSchedule;
  readonly events: DriftInstrumentation;
  readonly partialSchemaId: number;
  readonly decoder: ScoringLogDecoder;
  /** The fairness windows' layout (schemas/population.json's protected attributes); none: no fairness windows. */
  readonly fairnessLayout?: FairnessLayout;
}

interface PartitionState {
  readonly partition: number;
  readonly windows: PartitionWindows;
  readonly join: OutcomeJoin;
  readonly perf: Map<number, PerformanceCounts>;
  lastRecordAt: number;
  /** Outcomes offset to commit next, once outcomes were read. */
  outcomesNext: number | undefined;
  /** The fairness windows of the partition (decisions joined with demographics), when enabled. */
  readonly fairness: PartitionFairness | undefined;
  dirty: boolean;
  reported: { progress: number; idle: boolean; openFrom: number | undefined; fairness: string } | undefined;
}

interface Committed {
  readonly offset: number;
  readonly metadata: string | null;
}

export class DriftInstance {
  private readonly lock = new Lock();
  private readonly group: GroupConsumer;
  private producer?: TransactionalProducer;
  private admin?: KafkaAdmin;
  private states = new Map<number, PartitionState>();
  /**
   * The member and fence the batches of this generation were fetched under: a flush commits with them, so
   * an instance that lost its partitions (a rebalance, or frozen past the session timeout) cannot commit
   * partials for a partition that moved to another instance: its commit is refused (KIP-447, the
   * consumer's group metadata) and its state rebuilt.
   */
  private fetched?: { consumer: AdapterConsumer; fence: Fence };
  /** A commit was fenced: state dropped, batches ignored until the next assignment rebuilds it. */
  private invalid = false;
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

  private get fairnessOn(): boolean {
    return this.d.fairnessLayout !== undefined;
  }
  /** The topics joined to the scoring log by application id (co-partitioned with it): outcomes, demographics. */
  private readonly joinedTopics: readonly string[];

  constructor(private readonly d: InstanceDeps) {
    const c = d.config;
    this.ctx = { instance: c.instanceId, deployment: c.deployment, windowing: c.windowing, referenceVersion: d.reference.version };
    const schedule = d.schedule;
    this.layoutFor = schedule ? (k) => schedule.at(k).layout : () => d.layout;
    this.joinedTopics = [...(c.outcomes ? [c.connection.topics.outcomes!] : []), ...(d.fairnessLayout ? [c.connection.topics.demographics!] : [])];
    const topics = [c.connection.topics.scoringLog, ...this.joinedTopics];
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
      events: d.events,
      onJoin: (a) => this.onJoin(a),
      eachBatch: (b, consumer) => this.onBatch(b, consumer),
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

  private newProducer(): TransactionalProducer {
    const c = this.d.config;
    return this.d.kafka.transactionalProducer(`${c.groupId}-${c.instanceId}`);
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
    await this.producer.connect();
    await this.checkPartitionCounts();
    await this.group.start();
    this.timer = setInterval(() => void this.flush('timer').catch(() => undefined), Math.max(50, Math.min(c.flushIntervalMs, 1000)));
    this.timer.unref();
  }

  /**
   * The join of scoring log and outcomes needs partition p of both on one instance: librdkafka's range
   * assignor gives it only when both topics have the same partition count. A mismatch is reported (the
   * windows are still right; outcomes of other partitions then stay unjoined).
   */
  private async checkPartitionCounts(): Promise<void> {
    const t = this.d.config.connection.topics;
    const joined = this.joinedTopics;
    if (joined.length === 0) return;
    try {
      const d = await this.admin!.describeTopics([t.scoringLog, ...joined]);
      const a = d.get(t.scoringLog)?.length ?? 0;
      for (const other of joined) {
        const b = d.get(other)?.length ?? 0;
        if (a !== b) this.d.events.emit('error', { component: 'instance', code: 'CONFIG_INVALID', message: `${t.scoringLog} has ${a} partitions and ${other} ${b}: records can only be joined when both have the same count (co-partitioning)`, retriable: false });
      }
    } catch {
      // Checked again by every assignment (onJoin).
    }
  }

  private onJoin(assignment: Record<string, number[]>): void {
    // A new generation (an assignment, or a revocation: `{}`): state of the previous one is dropped and
    // rebuilt from the committed checkpoints.
    this.generation++;
    this.states = new Map();
    this.positions = new Map();
    this.outbox = [];
    this.committed = undefined;
    this.fetched = undefined;
    this.invalid = false;
    const t = this.d.config.connection.topics;
    this.assigned = [...(assignment[t.scoringLog] ?? [])].sort((a, b) => a - b);
    this.assignedAt = Date.now();
    for (const other of this.joinedTopics) {
      const mismatch = copartitionMismatch(assignment, t.scoringLog, other);
      if (mismatch) this.d.events.emit('error', { component: 'instance', code: 'CONFIG_INVALID', message: `assignment is not co-partitioned: ${mismatch}`, retriable: false });
    }
  }

  /**
   * The committed offsets (and checkpoints) of this generation's partitions, asked through the member
   * itself: the same stable read (read_committed: it waits out transactions still open, e.g. a zombie's)
   * its fetch positions started from.
   */
  private async committedOffsets(consumer: AdapterConsumer): Promise<Map<string, Committed>> {
    this.committed ??= (async () => {
      const t = this.d.config.connection.topics;
      const topics = [t.scoringLog, ...this.joinedTopics];
      const res = await consumer.committed(
        topics.flatMap((topic) => this.assigned.map((partition) => ({ topic, partition }))),
        COMMITTED_TIMEOUT_MS,
      );
      const m = new Map<string, Committed>();
      for (const p of res) m.set(`${p.topic}:${p.partition}`, { offset: p.offset, metadata: p.metadata ?? null });
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

  private async stateFor(partition: number, consumer: AdapterConsumer, lastRecordAt = Date.now()): Promise<PartitionState> {
    const existing = this.states.get(partition);
    if (existing) return existing;
    const gen = this.generation;
    const committed = (await this.committedOffsets(consumer)).get(`${this.d.config.connection.topics.scoringLog}:${partition}`);
    const cp = committed && committed.offset >= 0 ? (partitionCheckpointFrom(committed.offset, committed.metadata) ?? { ...INITIAL_CHECKPOINT, offset: committed.offset, through: committed.offset }) : INITIAL_CHECKPOINT;
    if (gen !== this.generation) throw new ServiceError('STATE_INVALID', 'consumer group rebalanced while loading a checkpoint', true);
    const c = this.d.config;
    let fairness: PartitionFairness | undefined;
    if (this.d.fairnessLayout) {
      // Nothing of the fairness windows committed yet (a first start, or a monitor upgraded to them): they
      // start where the drift windows' checkpoint does.
      const fcp = fairnessCheckpointFrom(fairnessMetadataOf(committed?.metadata)) ?? (committed && committed.offset >= 0 ? fairnessStartFrom(cp.offset, cp.progress, c.window) : undefined);
      fairness = new PartitionFairness(partition, c.window, this.d.fairnessLayout, { maxWaitMs: c.fairness.maxWaitMs, maxEntries: c.joinMaxEntries, outcomes: c.outcomes }, fcp);
    }
    const st: PartitionState = {
      partition,
      windows: new PartitionWindows(partition, this.d.config.window, this.layoutFor, cp, this.d.config.eventTime),
      join: new OutcomeJoin(this.d.config.joinMaxEntries),
      perf: new Map(),
      lastRecordAt,
      outcomesNext: undefined,
      fairness,
      dirty: false,
      reported: undefined,
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

  private async onBatch(batch: ConsumerBatch, consumer: AdapterConsumer): Promise<void> {
    if (this.group.isRestarting || this.stopped || this.invalid) return;
    const topics = this.d.config.connection.topics;
    const gen = this.generation;
    const parts = byPartition(batch.messages);
    let flushNeeded = false;
    let loaded = false;
    try {
      await this.lock.run(async () => {
        // Every partition's state first: if loading fails (offsets not stable in time), nothing was counted
        // yet and the batch is simply read again.
        for (const part of parts) await this.stateFor(part.partition, consumer);
        loaded = true;
        for (const part of parts) {
          const st = this.states.get(part.partition);
          if (!st || gen !== this.generation || this.invalid || !consumer.isCurrent(batch.fence)) return;
          this.fetched = { consumer, fence: batch.fence };
          if (part.topic === topics.scoringLog) {
            if (await this.onScoringLog(st, part.messages, part.partition)) flushNeeded = true;
            const next = part.messages[part.messages.length - 1]!.offset + 1;
            this.positions.set(part.partition, Math.max(this.positions.get(part.partition) ?? 0, next));
          } else if (part.topic === topics.demographics) {
            if (await this.onDemographics(st, part.messages)) flushNeeded = true;
          } else await this.onOutcomes(st, part.messages);
          st.dirty = true;
        }
      });
    } catch (e) {
      // A rebalance meanwhile: the new generation re-reads from the committed checkpoints.
      if (gen !== this.generation) return;
      // Nothing counted: the consumer rewinds this batch and reads it again.
      if (!loaded) throw e;
      // Counted in part: in-memory state no longer matches any offset, rebuild it from the checkpoints.
      this.group.restart(e);
      return;
    }
    if (flushNeeded || Date.now() - this.lastFlush >= this.d.config.flushIntervalMs) await this.flush('batch').catch(() => undefined);
  }

  private async onScoringLog(st: PartitionState, messages: readonly ConsumedMessage[], partition: number): Promise<boolean> {
    const { registry, config, decoder } = this.d;
    const dropped: Record<string, number> = {};
    let count = 0;
    const start = st.windows.checkpoint().offset;
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldNow();
      const offset = m.offset;
      // Before the drift checkpoint: re-read for the fairness windows only (they need further back).
      if (offset < start && !st.fairness) continue;
      const r = decoder.trySync(m.value) ?? (await decoder.decode(m.value));
      if (!r.ok) {
        if (offset >= start) dropped[r.error.reason] = (dropped[r.error.reason] ?? 0) + 1;
        continue;
      }
      const rec = r.value;
      if (st.fairness) this.queueFairness(st.fairness.onDecision(offset, rec.applicationId, rec.decision, rec.score, rec.eventAt, now), st.fairness.progress);
      if (offset < start) continue;
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

  /** A FAIRNESS partial: a closed window's counts, or (outcomes) outcome deltas of one. */
  private fairnessMessage(partition: number, index: number, counts: ArrayLike<number>, outcomes: boolean, progress: number): { key: string; value: Buffer } {
    const v = fairnessPartialValue(partition, index, counts, this.d.fairnessLayout!.id, outcomes, this.ctx, progress);
    return { key: outcomes ? `${partialKey(v)}:outcomes` : partialKey(v), value: this.d.registry.encodeSync(this.d.partialSchemaId, v) };
  }

  /** Closed fairness windows go out with the next flush, like closed drift windows. */
  private queueFairness(closed: readonly ClosedFairnessWindow[], progress: number, out: { key: string; value: Buffer }[] = this.outbox): void {
    for (const w of closed) out.push(this.fairnessMessage(w.partition, w.index, w.counts, false, progress));
  }

  /** Applicant demographics of the partition: joined with its decisions (partition-fairness.ts). */
  private async onDemographics(st: PartitionState, messages: readonly ConsumedMessage[]): Promise<boolean> {
    const f = st.fairness;
    const layout = this.d.fairnessLayout;
    if (!f || !layout) return false;
    let dropped = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldNow();
      const r = this.d.registry.decodeCached(m.value, DEMOGRAPHICS_RECORD) ?? (await this.d.registry.decode(m.value, DEMOGRAPHICS_RECORD));
      if (!r.ok) {
        dropped++;
        continue;
      }
      const v = r.value.value as Record<string, unknown>;
      const groups: Record<string, string> = {};
      for (const a of layout.attributes) if (typeof v[a.attribute.name] === 'string') groups[a.attribute.name] = v[a.attribute.name] as string;
      this.queueFairness(f.onDemographics(m.offset, String(v.application_id), groups, Number(v.collected_at)), f.progress);
    }
    if (dropped) this.d.events.emit('records', { partition: st.partition, count: 0, dropped: { demographics_undecodable: dropped } });
    return this.outbox.length >= OUTBOX_LIMIT;
  }

  private async onOutcomes(st: PartitionState, messages: readonly ConsumedMessage[]): Promise<void> {
    let joined = 0;
    let waiting = 0;
    let dropped = 0;
    const evictedBefore = st.join.evicted;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldNow();
      const r = await this.d.registry.decode(m.value, LOAN_OUTCOME_RECORD);
      st.outcomesNext = m.offset + 1;
      if (!r.ok) {
        dropped++;
        continue;
      }
      const v = r.value.value as { application_id: string; defaulted: boolean };
      st.fairness?.onOutcome(v.application_id, v.defaulted);
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
      ends = await this.admin!.topicOffsets(this.d.config.connection.topics.scoringLog);
    } catch {
      return idle;
    }
    const fetchedTo = this.fetchPositions(quiet.map((st) => st.partition));
    for (const st of quiet) {
      const end = ends.find((e) => e.partition === st.partition);
      if (!end) continue;
      const position = Math.max(this.positions.get(st.partition) ?? 0, fetchedTo.get(st.partition) ?? 0, st.windows.checkpoint().through, end.low);
      if (end.high - position <= 1) idle.add(st.partition);
    }
    return idle;
  }

  /**
   * How far the member's fetches went per scoring-log partition (librdkafka's consumer position: past
   * transaction markers and aborted records it skipped, which no batch shows). Empty when unknown.
   */
  private fetchPositions(partitions: readonly number[]): Map<number, number> {
    const out = new Map<number, number>();
    const consumer = this.fetched?.consumer ?? this.group.instance;
    if (!consumer || partitions.length === 0) return out;
    try {
      const topic = this.d.config.connection.topics.scoringLog;
      for (const p of consumer.native.position(partitions.map((partition) => ({ topic, partition })))) if (typeof p.offset === 'number' && p.offset >= 0) out.set(p.partition, p.offset);
    } catch {
      // Not assigned (any more): the other signals decide.
    }
    return out;
  }

  /** One transaction: closed windows, progress, outcome deltas, and the offsets with their checkpoints. */
  flush(why: 'batch' | 'timer' | 'stop'): Promise<void> {
    return this.lock.run(async () => {
      if (!this.producer || this.group.isRestarting || this.invalid || (this.stopped && why !== 'stop')) return;
      const { config, registry, partialSchemaId } = this.d;
      const topics = config.connection.topics;
      const now = Date.now();
      const gen = this.generation;
      // Owned partitions that never delivered a record still report (idle), so the aggregator need not wait for them.
      const member = this.fetched?.consumer ?? this.group.instance;
      if (member && this.group.joined && now - this.assignedAt >= config.idleTimeoutMs) for (const p of this.assigned) if (!this.states.has(p)) await this.stateFor(p, member, this.assignedAt);
      if (gen !== this.generation) return;
      const idle = await this.idlePartitions(now);
      if (gen !== this.generation) return;
      const messages = this.outbox;
      this.outbox = [];
      const scoring: { partition: number; offset: string; metadata: string }[] = [];
      const outcomes: { partition: number; offset: string }[] = [];
      const reports: [PartitionState, NonNullable<PartitionState['reported']>][] = [];
      let late = 0;
      let future = 0;
      const demographics: { partition: number; offset: string }[] = [];
      let fairnessStats = { late: 0, unjoined: 0, orphans: 0, invalid: 0, waiting: 0 };
      for (const st of this.states.values()) {
        const f = st.fairness;
        if (f) {
          // Decisions that waited long enough for their demographics are counted without them.
          this.queueFairness(f.tick(now), f.progress, messages);
          for (const delta of f.takeOutcomeDeltas()) messages.push(this.fairnessMessage(st.partition, delta.index, delta.counts, true, f.progress));
          const s = f.takeStats();
          fairnessStats = { late: fairnessStats.late + s.late, unjoined: fairnessStats.unjoined + s.unjoined, orphans: fairnessStats.orphans + s.orphans, invalid: fairnessStats.invalid + s.invalid, waiting: fairnessStats.waiting + f.waiting.decisions };
        }
        const fp = f ? { progress: f.fairnessProgress, openFrom: f.openFrom } : undefined;
        const r = { progress: st.windows.progress, idle: idle.has(st.partition), openFrom: st.windows.openFrom, fairness: fp ? `${fp.progress}:${fp.openFrom}` : '' };
        const lateNow = st.windows.takeLate();
        late += lateNow;
        future += st.windows.takeFuture();
        const changed = !st.reported || st.reported.progress !== r.progress || st.reported.idle !== r.idle || st.reported.openFrom !== r.openFrom || st.reported.fairness !== r.fairness || lateNow > 0;
        for (const [k, c] of st.perf) {
          const v = performancePartialValue(st.partition, k, c, { ...this.ctx, referenceVersion: this.layoutFor(k).version }, r.progress);
          messages.push({ key: partialKey(v), value: registry.encodeSync(partialSchemaId, v) });
        }
        st.perf.clear();
        if (changed) {
          const v: DriftPartialValue = progressPartialValue(st.partition, { ...r, late: lateNow }, this.ctx, fp);
          messages.push({ key: partialKey(v), value: registry.encodeSync(partialSchemaId, v) });
          reports.push([st, r]);
        }
        if (st.dirty || changed) {
          const cp = st.windows.checkpoint();
          const fcp = f?.checkpoint();
          // The fairness windows may need to re-read from further back than the drift windows.
          const offset = fcp ? Math.min(cp.offset, fcp.offset) : cp.offset;
          scoring.push({ partition: st.partition, offset: String(offset), metadata: partitionCheckpointMetadata(cp, offset, fcp ? fairnessCheckpointJson(fcp) : undefined) });
          if (fcp && fcp.demographicsOffset >= 0) demographics.push({ partition: st.partition, offset: String(fcp.demographicsOffset) });
          if (st.outcomesNext !== undefined) outcomes.push({ partition: st.partition, offset: String(st.outcomesNext) });
          st.dirty = false;
        }
      }
      if (late) this.d.events.emit('late', { stage: 'instance', records: late });
      if (this.fairnessOn) this.d.events.emit('fairness.join', fairnessStats);
      if (future) this.d.events.emit('future', { stage: 'instance', records: future });
      this.lastFlush = now;
      if (messages.length === 0 && scoring.length === 0) return;
      const started = performance.now();
      const offsets = [
        ...scoring.map((o) => ({ topic: topics.scoringLog, ...o })),
        ...outcomes.map((o) => ({ topic: topics.outcomes!, ...o })),
        ...demographics.map((o) => ({ topic: topics.demographics!, ...o })),
      ];
      // The member that fetched this generation's records (or, before any record, the current one).
      const consumer = this.fetched?.consumer ?? this.group.instance;
      try {
        if (!consumer) throw new ServiceError('STATE_INVALID', 'no consumer to commit offsets with', true);
        await this.producer.commit({ messages: [{ topic: topics.driftPartials!, messages }], offsets, consumer, ...(this.fetched ? { fence: this.fetched.fence } : {}) });
        for (const [st, r] of reports) st.reported = r;
        this.d.events.emit('flush', { component: 'instance', messages: messages.length, durationMs: performance.now() - started, ok: true });
      } catch (e) {
        this.d.events.emit('flush', { component: 'instance', messages: messages.length, durationMs: performance.now() - started, ok: false });
        this.d.events.emit('error', { component: 'instance', code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e) });
        // In-memory state is now ahead of what is committed: it is rebuilt from the committed checkpoints.
        if (isProducerFailure(e)) {
          // A fenced or broken producer cannot run another transaction: replace it, and the consumer with it.
          this.replaceProducer();
          this.group.restart(e, 'producer');
        } else if (isFencedCommit(e) && gen === this.generation) {
          // This member no longer owns (some of) the partitions: the rebalance under way assigns them anew
          // (onJoin rebuilds from the checkpoints); until then nothing of this generation is processed.
          this.invalid = true;
          this.states = new Map();
          this.outbox = [];
          this.group.expectRebalance(e);
        } else if (!isFencedCommit(e)) this.group.restart(e, 'consumer');
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
    await this.producer?.disconnect().catch(() => undefined);
    this.admin?.disconnect();
  }
}
