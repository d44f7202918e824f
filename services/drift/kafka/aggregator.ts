/**
 * The drift aggregator: a consumer group of its own on drift-partials (one partition, so one active
 * aggregator however many instances run; the others stand by). It merges partial windows (aggregation.ts),
 * evaluates complete ones (evaluate.ts), runs the alert state machine (alerts.ts), and publishes window
 * results to drift-windows and events to drift-alerts — in one Kafka transaction with its consumer offset,
 * whose metadata carries the aggregation progress and alert state, so a restarted or failed-over aggregator
 * continues where the committed one stopped. The transactional id is the same on every instance: a new
 * aggregator fences a zombie one.
 */
import { errorCode, isRetriable } from '../../shared/errors.ts';
import type { KafkaAdmin } from '../../shared/kafka/admin.ts';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import type { ConsumerBatch, Fence } from '../../shared/kafka/consumer.ts';
import type { TransactionalProducer } from '../../shared/kafka/producers.ts';
import { isFencedCommit, isProducerFailure } from '../../shared/kafka/transaction.ts';
import type { Logger } from '../../shared/log.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { Aggregation, type MergedWindow } from '../aggregation/aggregation.ts';
import { INITIAL_ALERT_STATE, onWindow, type AlertState, type RetrainTrigger } from '../aggregation/alerts.ts';
import {
  aggregatorCheckpointFrom,
  aggregatorMetadata,
  alertStateFrom,
  alertStateJson,
  decodePartial,
  driftAlertValue,
  fairnessProgressOf,
  referenceAlertValue,
  retrainAlertValue,
  windowValue,
  type DriftAlertValue,
  type DriftPartialValue,
} from '../windows/codec.ts';
import type { DriftConfig } from '../config.ts';
import { evaluateWindow, type WindowResult } from '../statistics/evaluate.ts';
import type { DriftInstrumentation } from '../events.ts';
import { GroupConsumer, type AdapterConsumer } from './group-consumer.ts';
import type { Layout } from '../windows/layout.ts';
import { Lock } from '../lock.ts';
import { PerformanceCounts, summarize } from '../statistics/performance.ts';
import type { Reference } from '../statistics/reference.ts';
import { runCommand, type CommandOutcome } from '../aggregation/retrain.ts';
import { INITIAL_RETRAIN_STATE, onOutcomes, onRestart, onResult, retrainStateFrom, retrainStateJson, step, type RetrainNotice, type RetrainPolicy, type RetrainState, type StepResult } from '../aggregation/retrain-policy.ts';
import { ReferenceSchedule, type ReferenceEpoch } from '../statistics/reference-schedule.ts';
import { recordName } from '../../shared/schemas.ts';
import { fairnessAlertFrom, fairnessAlertJson as fairnessAlertJsonOf, fairnessWindowValue, type FairnessWindowValue } from '../fairness/codec.ts';
import { decisionsIn, mergeCounts, type FairnessLayout } from '../fairness/layout.ts';
import { summarizeFairness } from '../fairness/summary.ts';

export const DRIFT_PARTIAL_RECORD = recordName('drift-partial');

/** The cause of a failed command: its last error-looking line (e.g. `DATASET_INVALID: …`), else the end of its output. */
export function errorCause(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /\b[A-Z][A-Z_]{3,}:|error|failed|refused/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l));
  return (err ?? lines.slice(-2).join(' | ')).slice(0, 300);
}

export interface AggregatorDeps {
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly reference: Reference;
  readonly layout: Layout;
  readonly events: DriftInstrumentation;
  readonly schemaIds: { readonly window: number; readonly alert: number; readonly fairness?: number };
  /** The fairness windows' layout; none: no fairness windows. */
  readonly fairnessLayout?: FairnessLayout;
  readonly log: Logger;
  /** Which reference each window is compared with (reference-schedule.ts); default: `reference` for all. */
  readonly schedule?: ReferenceSchedule;
  /** Reads model-updates to its current end (a partial of a reference not yet known may be of a new champion). */
  readonly syncReferences?: () => Promise<boolean>;
  /** Runs the retrain command; replaceable in tests of the loop. */
  readonly runRetrain?: (command: string, env: Record<string, string>, timeoutMs: number) => Promise<CommandOutcome>;
}

interface State {
  readonly agg: Aggregation;
  alerts: AlertState;
  retrain: RetrainState;
  /** Reference version of the last finalized window (a change is a REFERENCE event). */
  lastReference: string | undefined;
  /** The last finalized window: what retrain notices between windows refer to. */
  lastResult: WindowResult | undefined;
  /** Recently finalized windows, to add outcomes that arrive later. */
  readonly recent: Map<number, { result: WindowResult; perf: PerformanceCounts }>;
  readonly republish: Set<number>;
  /** Partials before this offset belong to other runs (a new deployment's start, see startAtEndIfNew). */
  readonly skipBelow: number;
  /** The fairness windows' merge (same machinery as the drift windows', its own checkpoint), when enabled. */
  readonly fair: FairState | undefined;
}

interface FairState {
  readonly agg: Aggregation;
  /** Outcome deltas of windows not finalized yet. */
  readonly outcomes: Map<number, Float64Array>;
  /** Recently published windows, to add outcomes that arrive later (republished). */
  readonly recent: Map<number, { counts: Float64Array; value: FairnessWindowValue }>;
  readonly republish: Set<number>;
  /** Flagged groups of the last published window (RAISED / CLEARED transitions). */
  flagged: string[];
}

/** Adds a PERFORMANCE partial's labelled outcomes to the retrain state's count (once per offset); true. */
function countOutcomes(st: State, labelled: number, offset: number): true {
  st.retrain = onOutcomes(st.retrain, labelled, offset);
  return true;
}

export class DriftAggregator {
  private readonly lock = new Lock();
  private readonly group: GroupConsumer;
  private producer?: TransactionalProducer;
  private admin?: KafkaAdmin;
  private state?: State;
  /** The member and fence this generation's partials were fetched under (the commit's KIP-447 fence). */
  private fetched?: { consumer: AdapterConsumer; fence: Fence };
  /** A commit was fenced: state dropped, batches ignored until the next assignment. */
  private invalid = false;
  /** Where a new deployment starts in drift-partials (its end when this process started), per partition. */
  private startAt?: Map<number, number>;
  private active = false;
  private generation = 0;
  private windowsOut: { key: string; value: Buffer }[] = [];
  private alertsOut: { key: string; value: Buffer; alert: DriftAlertValue }[] = [];
  private finalizedOut: WindowResult[] = [];
  private fairnessOut: FairnessWindowValue[] = [];
  private retrainQueue: { trigger: RetrainTrigger; window: WindowResult; attempt: number; incident: number }[] = [];
  private retrainRunning = false;
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  private lastCommit = '';
  private stopped = false;
  private readonly groupId: string;
  private readonly schedule: ReferenceSchedule;
  private readonly policy: RetrainPolicy;

  constructor(private readonly d: AggregatorDeps) {
    const c = d.config;
    this.groupId = `${c.groupId}-aggregator`;
    this.schedule = d.schedule ?? new ReferenceSchedule(c.window, d.reference);
    this.policy = { cooldownMs: c.retrain.cooldownMs, minOutcomes: c.retrain.minOutcomes, backoffMs: c.retrain.backoffMs, maxBackoffMs: c.retrain.maxBackoffMs, maxAttempts: c.retrain.maxAttempts };
    this.group = new GroupConsumer({
      kafka: d.kafka,
      component: 'aggregator',
      groupId: this.groupId,
      topics: [c.connection.topics.driftPartials!],
      // Always from the beginning of what the group has not committed: a new deployment skips the partials
      // before its start (startAtEndIfNew), DRIFT_BACKFILL reads what is there.
      fromBeginning: true,
      sessionTimeoutMs: c.sessionTimeoutMs,
      recoveryDeadlineMs: c.kafkaRecoveryDeadlineMs,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      events: d.events,
      onJoin: (a) => this.onJoin(a),
      eachBatch: (b, consumer) => this.onBatch(b, consumer),
    });
  }

  /** True while this instance is the active aggregator. */
  get isActive(): boolean {
    return this.active && this.group.joined;
  }
  /** Liveness: why this component's consumer is dead (being replaced, or gave up); undefined when alive. */
  get deadReason(): string | undefined {
    return this.group.deadReason;
  }
  get ready(): boolean {
    return this.group.joined;
  }

  async start(): Promise<void> {
    this.admin = this.d.kafka.admin();
    await this.startAtEndIfNew();
    await this.group.start();
    this.timer = setInterval(() => void this.flush().catch(() => undefined), Math.max(50, Math.min(this.d.config.flushIntervalMs, 1000)));
    this.timer.unref();
  }

  /**
   * A deployment's aggregator that never committed starts at the end drift-partials had when this process
   * started (partials already there belong to other runs). The consumer reads from the beginning of what
   * the group has not committed and skips what lies before that end; the first flush commits it, so a
   * restart after it starts there too. (librdkafka's admin API cannot set a group's offsets before it has
   * joined, as kafkajs's setOffsets did.)
   */
  private async startAtEndIfNew(): Promise<void> {
    const topic = this.d.config.connection.topics.driftPartials!;
    if (this.d.config.backfill) return;
    const committed = await this.admin!.groupOffsets(this.groupId, [topic]);
    if (committed.some((p) => p.offset >= 0)) return;
    const ends = await this.admin!.topicOffsets(topic);
    this.startAt = new Map(ends.map((e) => [e.partition, e.high]));
    this.d.log.info({ topic, offsets: ends.map((e) => e.high), deployment: this.d.config.deployment }, 'drift aggregator: new deployment starts at the end of drift-partials (DRIFT_BACKFILL=true reads it from the beginning)');
  }

  private onJoin(assignment: Record<string, number[]>): void {
    this.generation++;
    this.fetched = undefined;
    this.invalid = false;
    // Under the lock: a flush in flight commits first, so the state reloaded next sees its commit (a reload of
    // the state before it would re-decide a retrain that already ran).
    void this.lock.run(async () => {
      this.state = undefined;
      this.lastCommit = '';
      this.windowsOut = [];
      this.alertsOut = [];
      this.finalizedOut = [];
      this.fairnessOut = [];
      this.retrainQueue = [];
    });
    const wasActive = this.active;
    this.active = (assignment[this.d.config.connection.topics.driftPartials!] ?? []).length > 0;
    if (wasActive && !this.active) {
      const p = this.producer;
      this.producer = undefined;
      void p?.disconnect().catch(() => undefined);
    }
  }

  private async ensureProducer(): Promise<TransactionalProducer> {
    if (!this.producer) {
      const p = this.d.kafka.transactionalProducer(this.groupId);
      try {
        await p.connect();
      } catch (e) {
        await p.disconnect().catch(() => undefined);
        throw e;
      }
      this.producer = p;
    }
    return this.producer;
  }

  private async ensureState(consumer: AdapterConsumer): Promise<State> {
    if (this.state) return this.state;
    const { config } = this.d;
    const topics = config.connection.topics;
    // Through the member itself: the stable read (open transactions waited out) its fetch position started from.
    const [offsets, meta] = await Promise.all([consumer.committed([{ topic: topics.driftPartials!, partition: 0 }], 30_000), this.admin!.describeTopics([topics.scoringLog])]);
    const partitions = meta.get(topics.scoringLog)?.length ?? 0;
    const committed = offsets.find((p) => p.partition === 0);
    let offset = committed ? committed.offset : -1;
    // A new deployment (nothing committed): partials before its start are other runs'.
    const skipBelow = offset < 0 ? (this.startAt?.get(0) ?? -1) : -1;
    if (skipBelow >= 0) offset = skipBelow;
    const cp = committed && committed.offset >= 0 ? aggregatorCheckpointFrom(offset, committed.metadata ?? null) : undefined;
    const usable = cp && cp.windowing === config.windowing ? cp : undefined;
    // Each window's counters follow the layout of the reference it is compared with: after a switch the
    // new champion's bins (another number of counters) apply from the switch window on.
    const agg = new Aggregation(config.window, (index: number) => this.schedule.at(index).layout.size, partitions, usable?.aggregation ?? (offset >= 0 ? { offset, lastFinalized: -Infinity, through: offset, partitions: [] } : undefined));
    const extra = (usable?.retrain ?? undefined) as { s?: unknown; rv?: string; fa?: { o: number; m: string } } | undefined;
    const retrain = retrainStateFrom(extra?.s) ?? INITIAL_RETRAIN_STATE;
    let fair: FairState | undefined;
    const fl = this.d.fairnessLayout;
    if (fl) {
      // Its own checkpoint: the committed offset is the lower of the two merges' (each skips what it had already processed).
      const fcp = extra?.fa ? aggregatorCheckpointFrom(extra.fa.o, extra.fa.m) : undefined;
      const from = fcp?.aggregation ?? (usable ? { ...usable.aggregation, lastFinalized: -Infinity, partitions: [] } : offset >= 0 ? { offset, lastFinalized: -Infinity, through: offset, partitions: [] } : undefined);
      fair = { agg: new Aggregation(config.window, fl.size, partitions, from), outcomes: new Map(), recent: new Map(), republish: new Set(), flagged: fairnessAlertFrom(fcp?.alerts) };
    }
    this.state = { agg, alerts: alertStateFrom(usable?.alerts) ?? INITIAL_ALERT_STATE, retrain, lastReference: extra?.rv, lastResult: undefined, recent: new Map(), republish: new Set(), skipBelow, fair };
    // A run the previous aggregator started has an unknown outcome: reported as failed, retried with backoff.
    this.pendingNotices = [];
    // (unless this process ran it: then its outcome is known, or it is still running and will report).
    const ran = this.runs.get(retrain.incident);
    if (retrain.status === 'running' && ran && ran.attempt >= retrain.attempts) {
      if (ran.ok !== undefined) this.applyStep(this.state, onResult(retrain, { ok: ran.ok, detail: ran.detail ?? '' }, Date.now(), this.policy));
    } else this.applyStep(this.state, onRestart(retrain, Date.now(), this.policy));
    this.d.log.info({ partitions, offset, lastFinalized: agg.lastFinalized, resumed: Boolean(usable) }, 'drift aggregator state loaded');
    return this.state;
  }

  private async onBatch(batch: ConsumerBatch, consumer: AdapterConsumer): Promise<void> {
    if (this.group.isRestarting || this.stopped || this.invalid) return;
    const topic = this.d.config.connection.topics.driftPartials!;
    const gen = this.generation;
    let loaded = false;
    try {
      await this.lock.run(async () => {
        const st = await this.ensureState(consumer);
        loaded = true;
        if (gen !== this.generation || this.invalid || !consumer.isCurrent(batch.fence)) return;
        this.fetched = { consumer, fence: batch.fence };
        const ignored: Record<string, number> = {};
        const ignore = (reason: string) => (ignored[reason] = (ignored[reason] ?? 0) + 1);
        for (const m of batch.messages) {
          if (m.topic !== topic || m.partition !== 0) continue;
          const offset = m.offset;
          if (offset < st.skipBelow) continue;
          const r = await this.d.registry.decode<DriftPartialValue>(m.value, DRIFT_PARTIAL_RECORD);
          if (!r.ok) {
            ignore(r.error.code.toLowerCase());
            continue;
          }
          const v = r.value.value;
          if ((v.deployment ?? '') !== this.d.config.deployment) {
            ignore('other_deployment');
            continue;
          }
          if (v.windowing !== this.d.config.windowing) {
            ignore('other_windowing');
            continue;
          }
          if (v.kind === 'FAIRNESS' || v.kind === 'PROGRESS') {
            if (st.fair && v.kind === 'PROGRESS') st.fair.agg.onProgress(fairnessProgressOf(v), offset);
            if (v.kind === 'FAIRNESS') {
              if (st.fair) this.onFairness(st.fair, v, offset, ignore);
              continue;
            }
          }
          let epoch = this.schedule.at(v.window_index);
          if (v.kind === 'WINDOW' && v.reference_version !== epoch.reference.version && !this.schedule.knows(v.reference_version) && this.d.syncReferences) {
            // Counted against a reference this process has not seen announced yet: catch up on model-updates first.
            await this.d.syncReferences();
            epoch = this.schedule.at(v.window_index);
          }
          if (v.kind === 'WINDOW' && v.reference_version !== epoch.reference.version) {
            ignore('other_reference');
            continue;
          }
          let p;
          try {
            p = decodePartial(v, epoch.layout);
          } catch {
            ignore('layout_mismatch');
            continue;
          }
          if (p.kind === 'PROGRESS') st.agg.onProgress(p.report, offset);
          else if (p.kind === 'WINDOW') {
            const before = st.agg.lateTotal;
            const outcome = st.agg.onWindow(p.part, offset);
            if (outcome === 'duplicate') ignore('duplicate');
            if (outcome === 'late') this.d.events.emit('late', { stage: 'aggregator', records: st.agg.lateTotal - before });
          } else if (p.kind === 'PERFORMANCE' && countOutcomes(st, p.counts.labelled, offset) && st.agg.onPerformance(p.index, p.counts, offset) === 'finalized') {
            const w = st.recent.get(p.index);
            if (w) {
              w.perf.merge(p.counts);
              w.result = { ...w.result, performance: summarize(w.perf) };
              st.republish.add(p.index);
            } else ignore('performance_for_old_window');
          }
        }
        for (const [reason, count] of Object.entries(ignored)) this.d.events.emit('partial.ignored', { reason, count });
        this.finalize(st, st.agg.finalize());
        if (st.fair) this.finalizeFairness(st.fair);
      });
    } catch (e) {
      // A rebalance meanwhile: the new generation reloads from the committed checkpoint.
      if (gen !== this.generation) return;
      // Nothing merged: the consumer rewinds this batch and reads it again.
      if (!loaded) throw e;
      this.group.restart(e);
      return;
    }
    if (this.windowsOut.length || this.alertsOut.length || Date.now() - this.lastFlush >= this.d.config.flushIntervalMs) await this.flush().catch(() => undefined);
  }

  private finalize(st: State, merged: MergedWindow[]): void {
    const { config, registry, schemaIds } = this.d;
    const now = Date.now();
    for (const m of merged) {
      const epoch = this.schedule.at(m.index);
      const evaluated = evaluateWindow(m, epoch.layout, epoch.reference, { bands: config.bands, epsilon: config.epsilon, minRecords: config.minWindowRecords, windowing: config.windowing }, now);
      const result: WindowResult = { ...evaluated, deployment: config.deployment, referenceSha256: epoch.sha256, referenceSinceWindow: epoch.fromWindow };
      if (st.lastReference !== undefined && st.lastReference !== epoch.reference.version) this.queueReferenceSwitch(epoch, st.lastReference, result, now);
      st.lastReference = epoch.reference.version;
      st.lastResult = result;
      st.recent.set(m.index, { result, perf: m.performance ?? new PerformanceCounts() });
      while (st.recent.size > config.historyWindows) st.recent.delete(st.recent.keys().next().value!);
      st.republish.delete(m.index);
      this.windowsOut.push({ key: String(m.index), value: registry.encodeSync(schemaIds.window, windowValue(result)) });
      this.finalizedOut.push(result);
      const wasEpisode = st.alerts.retrainEpisode;
      const out = onWindow(st.alerts, result, { recoveryWindows: config.recoveryWindows, retrainMinFeatures: config.retrain.minFeatures });
      st.alerts = out.state;
      for (const e of out.events) this.queueAlert(driftAlertValue(e, result, now));
      if (out.retrain && config.retrain.mode === 'notify') this.queueAlert(retrainAlertValue(out.retrain, result, 'notify', 'notified', `drift on ${out.retrain.targets.join(', ')}`, now));
      if (config.retrain.mode === 'retrain') {
        // Recorded in the same transaction as the window that caused it; a command runs after the commit.
        const trigger = out.retrain ? { window: m.index, targets: out.retrain.targets } : undefined;
        this.applyStep(st, step(st.retrain, { ...(trigger ? { trigger } : {}), episodeOver: wasEpisode && !st.alerts.retrainEpisode, now }, this.policy));
      }
      if (m.late) this.d.log.info({ window: m.index, late: m.late }, 'late records since the previous window');
    }
  }

  /** A FAIRNESS partial: a partition's closed window (merged once) or outcome deltas of one (added). */
  private onFairness(fair: FairState, v: DriftPartialValue, offset: number, ignore: (reason: string) => void): void {
    const layout = this.d.fairnessLayout!;
    if (v.fairness_layout !== layout.id || v.fairness_counts.length !== layout.size) return ignore('fairness_layout_mismatch');
    const counts = Float64Array.from(v.fairness_counts);
    const k = v.window_index;
    if (!v.fairness_outcomes) {
      const outcome = fair.agg.onWindow({ partition: v.source_partition, index: k, counts, records: decisionsIn(counts, layout), firstEventAt: 0, lastEventAt: 0 }, offset);
      if (outcome === 'duplicate') ignore('fairness_duplicate');
      if (outcome === 'late') ignore('fairness_late');
      return;
    }
    if (k > fair.agg.lastFinalized) {
      const d = fair.outcomes.get(k);
      if (d) mergeCounts(d, layout.id, counts, v.fairness_layout);
      else fair.outcomes.set(k, counts);
      return;
    }
    if (fair.agg.replayed(offset)) return;
    const w = fair.recent.get(k);
    if (!w) return ignore('fairness_outcomes_for_old_window');
    mergeCounts(w.counts, layout.id, counts, v.fairness_layout);
    fair.republish.add(k);
  }

  private fairnessValue(index: number, start: number, end: number, counts: Float64Array, partitions: readonly number[], previousFlagged: readonly string[]): FairnessWindowValue {
    const { config, fairnessLayout } = this.d;
    const summary = summarizeFairness(counts, fairnessLayout!, config.fairness.options);
    return fairnessWindowValue({ index, start, end, counts, partitions }, fairnessLayout!, summary, config.fairness.options, { windowing: config.windowing, deployment: config.deployment, previousFlagged }, Date.now());
  }

  private finalizeFairness(fair: FairState): void {
    for (const m of fair.agg.finalize()) {
      const extra = fair.outcomes.get(m.index);
      if (extra) mergeCounts(m.counts, this.d.fairnessLayout!.id, extra, this.d.fairnessLayout!.id);
      fair.outcomes.delete(m.index);
      const value = this.fairnessValue(m.index, m.start, m.end, m.counts, m.partitions, fair.flagged);
      fair.flagged = value.flagged;
      fair.recent.set(m.index, { counts: m.counts, value });
      while (fair.recent.size > this.d.config.historyWindows) fair.recent.delete(fair.recent.keys().next().value!);
      fair.republish.delete(m.index);
      this.fairnessOut.push(value);
    }
  }

  private pendingNotices: RetrainNotice[] = [];

  /** Takes a retrain policy step: its notices become RETRAIN alerts (about the last finalized window), a start is queued. */
  private applyStep(st: State, r: StepResult): void {
    st.retrain = r.state;
    this.pendingNotices.push(...r.notices);
    const w = st.lastResult;
    if (w) {
      for (const n of this.pendingNotices) {
        const detail = n.outcome === 'started' ? `${this.d.config.retrain.command} (${n.detail})` : n.detail;
        this.queueAlert(retrainAlertValue({ targets: n.targets }, w, 'retrain', n.outcome, detail, Date.now(), { incident: n.incident, attempt: n.attempt, labelled: st.retrain.labelled, required: this.policy.minOutcomes }));
      }
      this.pendingNotices = [];
    }
    // Steps that can start run only with a finalized window (after a window, or on the timer once one exists).
    if (r.start && w) this.retrainQueue.push({ trigger: { targets: r.state.targets }, window: w, attempt: r.state.attempts, incident: r.state.incident });
    if (this.d.config.retrain.mode === 'retrain') this.d.events.emit('retrain.state', { status: st.retrain.status, labelled: st.retrain.labelled, required: this.policy.minOutcomes, attempts: st.retrain.attempts, nextAt: st.retrain.retryAt });
  }

  private queueReferenceSwitch(epoch: ReferenceEpoch, previous: string, w: WindowResult, now: number): void {
    const r = epoch.reference;
    this.queueAlert(
      referenceAlertValue(
        { fromWindow: w.index, version: r.version, modelName: r.modelName, sha256: epoch.sha256, records: r.records, action: epoch.action, reason: epoch.reason, by: epoch.by, announcedAt: epoch.announcedAt },
        previous,
        { windowing: w.windowing, start: w.start, end: w.end, deployment: this.d.config.deployment },
        now,
      ),
    );
    this.d.events.emit('reference.switched', { version: r.version, previousVersion: previous, window: w.index });
  }

  private queueAlert(alert: DriftAlertValue): void {
    this.alertsOut.push({ key: alert.dedup_key, value: this.d.registry.encodeSync(this.d.schemaIds.alert, alert), alert });
  }

  flush(): Promise<void> {
    return this.lock.run(async () => {
      if (!this.active || !this.state || !this.fetched || this.group.isRestarting || this.invalid || this.stopped) return;
      const fetched = this.fetched;
      const gen = this.generation;
      const st = this.state;
      const { config, registry, schemaIds } = this.d;
      const topics = config.connection.topics;
      // Cooldown and backoff expire between windows too.
      if (config.retrain.mode === 'retrain' && st.lastResult && !this.retrainRunning && this.retrainQueue.length === 0 && (st.retrain.status === 'cooldown' || st.retrain.status === 'backoff')) {
        this.applyStep(st, step(st.retrain, { now: Date.now() }, this.policy));
      }
      for (const k of st.republish) {
        const w = st.recent.get(k);
        if (w) this.windowsOut.push({ key: String(k), value: registry.encodeSync(schemaIds.window, windowValue(w.result)) });
      }
      st.republish.clear();
      if (st.fair) {
        for (const k of st.fair.republish) {
          const w = st.fair.recent.get(k);
          // Outcomes change the outcome figures only: the window's flags and transition stay as published.
          if (w) this.fairnessOut.push({ ...this.fairnessValue(k, w.value.window_start, w.value.window_end, w.counts, w.value.partitions, []), transition: w.value.transition });
        }
        st.fair.republish.clear();
      }
      const fairness = this.fairnessOut;
      this.fairnessOut = [];
      const windows = this.windowsOut;
      const alerts = this.alertsOut;
      const finalized = this.finalizedOut;
      const retrains = this.retrainQueue;
      this.windowsOut = [];
      this.alertsOut = [];
      this.finalizedOut = [];
      this.retrainQueue = [];
      const cp = st.agg.checkpoint();
      const fcp = st.fair?.agg.checkpoint();
      const now = Date.now();
      const fa = fcp ? { fa: { o: fcp.offset, m: aggregatorMetadata(fcp, fairnessAlertJsonOf(st.fair!.flagged), config.windowing) } } : {};
      const metadata = aggregatorMetadata(cp, alertStateJson(st.alerts), config.windowing, { s: retrainStateJson(st.retrain), ...(st.lastReference !== undefined ? { rv: st.lastReference } : {}), ...fa });
      const committedOffset = fcp ? Math.min(cp.offset, fcp.offset) : cp.offset;
      const commitKey = `${committedOffset}:${metadata}`;
      if (windows.length === 0 && alerts.length === 0 && fairness.length === 0 && (now - this.lastFlush < config.flushIntervalMs || commitKey === this.lastCommit)) return;
      this.lastFlush = now;
      const started = performance.now();
      try {
        const producer = await this.ensureProducer();
        await producer.commit({
          messages: [
            { topic: topics.driftWindows!, messages: windows },
            { topic: topics.driftAlerts!, messages: alerts.map(({ key, value }) => ({ key, value })) },
            ...(fairness.length ? [{ topic: topics.fairnessWindows!, messages: fairness.map((v) => ({ key: String(v.window_index), value: registry.encodeSync(schemaIds.fairness!, v) })) }] : []),
          ],
          offsets: [{ topic: topics.driftPartials!, partition: 0, offset: String(committedOffset), metadata }],
          consumer: fetched.consumer,
          fence: fetched.fence,
        });
        this.lastCommit = commitKey;
      } catch (e) {
        this.d.events.emit('flush', { component: 'aggregator', messages: windows.length + alerts.length, durationMs: performance.now() - started, ok: false });
        this.d.events.emit('error', { component: 'aggregator', code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e) });
        // The state is now ahead of what is committed: it is reloaded from the committed checkpoint.
        if (isProducerFailure(e)) {
          // A fenced or broken producer cannot run another transaction: the next flush creates a fresh one.
          const p = this.producer;
          this.producer = undefined;
          void p?.disconnect().catch(() => undefined);
          this.group.restart(e, 'producer');
        } else if (isFencedCommit(e)) {
          // (A rebalance already seen by onJoin has reset everything: nothing more to do.)
          if (gen !== this.generation) throw e;
          // Another member owns drift-partials now (or will after the rebalance under way): onJoin reloads.
          this.invalid = true;
          this.state = undefined;
          this.group.expectRebalance(e);
        } else this.group.restart(e, 'consumer');
        throw e;
      }
      this.d.events.emit('flush', { component: 'aggregator', messages: windows.length + alerts.length, durationMs: performance.now() - started, ok: true });
      this.d.events.emit('open-windows', { open: 0, pending: st.agg.pendingWindows });
      for (const result of finalized) this.d.events.emit('window.finalized', { result });
      for (const window of fairness) this.d.events.emit('fairness.finalized', { window });
      for (const { alert } of alerts) {
        this.d.events.emit('alert', { alert });
        if (alert.kind === 'RETRAIN') this.d.events.emit('retrain', { action: alert.action, outcome: alert.outcome, detail: alert.detail, targets: alert.targets });
      }
      for (const r of retrains) if (!this.retrainRunning) this.startRetrain(r.trigger, r.window, r.attempt, r.incident);
    });
  }

  /** Runs of this process by incident: the latest attempt and, once known, how it ended. */
  private readonly runs = new Map<number, { attempt: number; ok?: boolean; detail?: string }>();

  private startRetrain(trigger: RetrainTrigger, window: WindowResult, attempt: number, incident: number): void {
    const { config, log } = this.d;
    const ran = this.runs.get(incident);
    if (ran && ran.attempt >= attempt) {
      // A state reloaded from before this process's run re-decided it: never run the same attempt twice.
      log.warn({ incident, attempt }, 'drift: retrain attempt already ran in this process; not running it again');
      if (ran.ok !== undefined && this.state) this.applyStep(this.state, onResult(this.state.retrain, { ok: ran.ok, detail: ran.detail ?? '' }, Date.now(), this.policy));
      return;
    }
    this.runs.set(incident, { attempt });
    this.retrainRunning = true;
    const run = this.d.runRetrain ?? runCommand;
    const env = {
      DRIFT_WINDOW_INDEX: String(window.index),
      DRIFT_WINDOW_START: String(window.start),
      DRIFT_WINDOW_END: String(window.end),
      DRIFT_TARGETS: trigger.targets.join(','),
      DRIFT_REFERENCE_VERSION: window.referenceVersion,
      DRIFT_DEPLOYMENT: config.deployment,
      DRIFT_RETRAIN_ATTEMPT: String(attempt),
      DRIFT_INCIDENT_WINDOW: String(incident),
    };
    log.warn({ command: config.retrain.command, targets: trigger.targets, window: window.index }, 'drift: running the retrain command');
    void run(config.retrain.command, env, config.retrain.timeoutMs).then(async (o) => {
      this.retrainRunning = false;
      const outcome = o.ok ? 'succeeded' : 'failed';
      log[o.ok ? 'info' : 'error']({ exitCode: o.exitCode, signal: o.signal, durationMs: o.durationMs, tail: o.tail.slice(-500) }, `drift: retrain command ${outcome}`);
      this.runs.set(incident, { attempt, ok: o.ok });
      await this.lock.run(async () => {
        const st = this.state;
        if (!this.active || !st) return;
        const cause = `exit ${o.exitCode ?? o.signal} after ${Math.round(o.durationMs)} ms: ${errorCause(o.tail)}`;
        const detail = o.ok ? `exit 0 after ${Math.round(o.durationMs)} ms` : cause;
        this.runs.set(incident, { attempt, ok: o.ok, detail });
        this.applyStep(st, onResult(st.retrain, { ok: o.ok, detail }, Date.now(), this.policy));
      });
      await this.flush().catch(() => undefined);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
    this.stopped = true;
    await this.group.stop();
    await this.producer?.disconnect().catch(() => undefined);
    this.admin?.disconnect();
  }
}
