/**
 * The drift aggregator: a consumer group of its own on drift-partials (one partition, so one active
 * aggregator however many instances run; the others stand by). It merges partial windows (aggregation.ts),
 * evaluates complete ones (evaluate.ts), runs the alert state machine (alerts.ts), and publishes window
 * results to drift-windows and events to drift-alerts — in one Kafka transaction with its consumer offset,
 * whose metadata carries the aggregation progress and alert state, so a restarted or failed-over aggregator
 * continues where the committed one stopped. The transactional id is the same on every instance: a new
 * aggregator fences a zombie one.
 */
// Before kafkajs is first loaded: see kafkajs-patch.ts.
import '../../shared/kafka/kafkajs-patch.ts';
import { Partitioners, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import { errorCode, isRetriable } from '../../shared/errors.ts';
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
  retrainAlertValue,
  windowValue,
  type DriftAlertValue,
  type DriftPartialValue,
} from '../windows/codec.ts';
import type { DriftConfig } from '../config.ts';
import { evaluateWindow, type WindowResult } from '../statistics/evaluate.ts';
import type { DriftInstrumentation } from '../events.ts';
import { chunkBySize, GroupConsumer } from './group-consumer.ts';
import type { Layout } from '../windows/layout.ts';
import { Lock } from '../lock.ts';
import { PerformanceCounts, summarize } from '../statistics/performance.ts';
import type { Reference } from '../statistics/reference.ts';
import { runCommand, type CommandOutcome } from '../aggregation/retrain.ts';
import { idempotentRetry } from '../../shared/kafka/client.ts';
import { recordName } from '../../shared/schemas.ts';

export const DRIFT_PARTIAL_RECORD = recordName('drift-partial');
const IDEMPOTENT_RETRY = idempotentRetry(200);

export interface AggregatorDeps {
  readonly kafka: Kafka;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly reference: Reference;
  readonly layout: Layout;
  readonly events: DriftInstrumentation;
  readonly schemaIds: { readonly window: number; readonly alert: number };
  readonly log: Logger;
  /** Runs the retrain command; replaceable in tests of the loop. */
  readonly runRetrain?: (command: string, env: Record<string, string>, timeoutMs: number) => Promise<CommandOutcome>;
}

interface State {
  readonly agg: Aggregation;
  alerts: AlertState;
  /** Recently finalized windows, to add outcomes that arrive later. */
  readonly recent: Map<number, { result: WindowResult; perf: PerformanceCounts }>;
  readonly republish: Set<number>;
}

export class DriftAggregator {
  private readonly lock = new Lock();
  private readonly group: GroupConsumer;
  private producer?: Producer;
  private admin?: ReturnType<Kafka['admin']>;
  private state?: State;
  private active = false;
  private generation = 0;
  private windowsOut: { key: string; value: Buffer }[] = [];
  private alertsOut: { key: string; value: Buffer; alert: DriftAlertValue }[] = [];
  private finalizedOut: WindowResult[] = [];
  private retrainQueue: { trigger: RetrainTrigger; window: WindowResult }[] = [];
  private retrainRunning = false;
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  private lastCommit = '';
  private stopped = false;
  private readonly groupId: string;

  constructor(private readonly d: AggregatorDeps) {
    const c = d.config;
    this.groupId = `${c.groupId}-aggregator`;
    this.group = new GroupConsumer({
      kafka: d.kafka,
      component: 'aggregator',
      groupId: this.groupId,
      topics: [c.connection.topics.driftPartials!],
      fromBeginning: true,
      sessionTimeoutMs: c.sessionTimeoutMs,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      events: d.events,
      onJoin: (a) => this.onJoin(a),
      eachBatch: (p) => this.onBatch(p),
    });
  }

  /** True while this instance is the active aggregator. */
  get isActive(): boolean {
    return this.active && this.group.joined;
  }
  get ready(): boolean {
    return this.group.joined;
  }

  async start(): Promise<void> {
    this.admin = this.d.kafka.admin();
    await this.admin.connect();
    await this.group.start();
    this.timer = setInterval(() => void this.flush().catch(() => undefined), Math.max(50, Math.min(this.d.config.flushIntervalMs, 1000)));
    this.timer.unref();
  }

  private onJoin(assignment: Record<string, number[]>): void {
    this.generation++;
    this.state = undefined;
    this.lastCommit = '';
    this.windowsOut = [];
    this.alertsOut = [];
    this.finalizedOut = [];
    this.retrainQueue = [];
    const wasActive = this.active;
    this.active = (assignment[this.d.config.connection.topics.driftPartials!] ?? []).length > 0;
    if (wasActive && !this.active) {
      const p = this.producer;
      this.producer = undefined;
      void p?.disconnect().catch(() => undefined);
    }
  }

  private async ensureProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.d.kafka.producer({ transactionalId: this.groupId, createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000, retry: IDEMPOTENT_RETRY });
      await p.connect();
      this.producer = p;
    }
    return this.producer;
  }

  private async ensureState(): Promise<State> {
    if (this.state) return this.state;
    const { config, layout } = this.d;
    const topics = config.connection.topics;
    const [offsets, meta] = await Promise.all([
      this.admin!.fetchOffsets({ groupId: this.groupId, topics: [topics.driftPartials!] }),
      this.admin!.fetchTopicMetadata({ topics: [topics.scoringLog] }),
    ]);
    const partitions = meta.topics[0]?.partitions.length ?? 0;
    const committed = offsets[0]?.partitions.find((p) => p.partition === 0);
    const offset = committed ? Number(committed.offset) : -1;
    const cp = offset >= 0 ? aggregatorCheckpointFrom(offset, committed!.metadata) : undefined;
    const usable = cp && cp.windowing === config.windowing ? cp : undefined;
    const agg = new Aggregation(config.window, layout.size, partitions, usable?.aggregation ?? (offset >= 0 ? { offset, lastFinalized: -Infinity, through: offset, partitions: [] } : undefined));
    this.state = { agg, alerts: alertStateFrom(usable?.alerts) ?? INITIAL_ALERT_STATE, recent: new Map(), republish: new Set() };
    this.d.log.info({ partitions, offset, lastFinalized: agg.lastFinalized, resumed: Boolean(usable) }, 'drift aggregator state loaded');
    return this.state;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.group.isRestarting || this.stopped) return;
    try {
      await this.lock.run(async () => {
        const gen = this.generation;
        const st = await this.ensureState();
        if (gen !== this.generation || !isRunning() || isStale()) return;
        const ignored: Record<string, number> = {};
        const ignore = (reason: string) => (ignored[reason] = (ignored[reason] ?? 0) + 1);
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          const r = await this.d.registry.decode<DriftPartialValue>(m.value, DRIFT_PARTIAL_RECORD);
          if (!r.ok) {
            ignore(r.error.code.toLowerCase());
            continue;
          }
          const v = r.value.value;
          if (v.windowing !== this.d.config.windowing) {
            ignore('other_windowing');
            continue;
          }
          if (v.reference_version !== this.d.reference.version) {
            ignore('other_reference');
            continue;
          }
          let p;
          try {
            p = decodePartial(v, this.d.layout);
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
          } else if (st.agg.onPerformance(p.index, p.counts, offset) === 'finalized') {
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
        resolveOffset(batch.lastOffset());
      });
    } catch (e) {
      this.group.restart(e);
      return;
    }
    await heartbeat().catch(() => undefined);
    if (this.windowsOut.length || this.alertsOut.length || Date.now() - this.lastFlush >= this.d.config.flushIntervalMs) await this.flush().catch(() => undefined);
  }

  private finalize(st: State, merged: MergedWindow[]): void {
    const { config, reference, layout, registry, schemaIds } = this.d;
    const now = Date.now();
    for (const m of merged) {
      const result = evaluateWindow(m, layout, reference, { bands: config.bands, epsilon: config.epsilon, minRecords: config.minWindowRecords, windowing: config.windowing }, now);
      st.recent.set(m.index, { result, perf: m.performance ?? new PerformanceCounts() });
      while (st.recent.size > config.historyWindows) st.recent.delete(st.recent.keys().next().value!);
      st.republish.delete(m.index);
      this.windowsOut.push({ key: String(m.index), value: registry.encodeSync(schemaIds.window, windowValue(result)) });
      this.finalizedOut.push(result);
      const out = onWindow(st.alerts, result, { recoveryWindows: config.recoveryWindows, retrainMinFeatures: config.retrain.minFeatures });
      st.alerts = out.state;
      for (const e of out.events) this.queueAlert(driftAlertValue(e, result, now));
      if (out.retrain && config.retrain.mode !== 'off') {
        if (config.retrain.mode === 'notify') this.queueAlert(retrainAlertValue(out.retrain, result, 'notify', 'notified', `drift on ${out.retrain.targets.join(', ')}`, now));
        else {
          // Recorded in the same transaction as the window that caused it; the command runs after the commit.
          const outcome = this.retrainRunning || this.retrainQueue.length > 0 ? 'skipped' : 'started';
          this.queueAlert(retrainAlertValue(out.retrain, result, 'retrain', outcome, outcome === 'skipped' ? 'a retrain command is still running' : config.retrain.command, now));
          if (outcome === 'started') this.retrainQueue.push({ trigger: out.retrain, window: result });
        }
      }
      if (m.late) this.d.log.info({ window: m.index, late: m.late }, 'late records since the previous window');
    }
  }

  private queueAlert(alert: DriftAlertValue): void {
    this.alertsOut.push({ key: alert.dedup_key, value: this.d.registry.encodeSync(this.d.schemaIds.alert, alert), alert });
  }

  flush(): Promise<void> {
    return this.lock.run(async () => {
      if (!this.active || !this.state || this.group.isRestarting || this.stopped) return;
      const st = this.state;
      const { config, registry, schemaIds } = this.d;
      const topics = config.connection.topics;
      for (const k of st.republish) {
        const w = st.recent.get(k);
        if (w) this.windowsOut.push({ key: String(k), value: registry.encodeSync(schemaIds.window, windowValue(w.result)) });
      }
      st.republish.clear();
      const windows = this.windowsOut;
      const alerts = this.alertsOut;
      const finalized = this.finalizedOut;
      const retrains = this.retrainQueue;
      this.windowsOut = [];
      this.alertsOut = [];
      this.finalizedOut = [];
      this.retrainQueue = [];
      const cp = st.agg.checkpoint();
      const now = Date.now();
      const metadata = aggregatorMetadata(cp, alertStateJson(st.alerts), config.windowing);
      const commitKey = `${cp.offset}:${metadata}`;
      if (windows.length === 0 && alerts.length === 0 && (now - this.lastFlush < config.flushIntervalMs || commitKey === this.lastCommit)) return;
      this.lastFlush = now;
      const started = performance.now();
      const producer = await this.ensureProducer();
      const tx = await producer.transaction();
      try {
        for (const chunk of chunkBySize(windows)) await tx.send({ topic: topics.driftWindows!, messages: chunk });
        if (alerts.length) await tx.send({ topic: topics.driftAlerts!, messages: alerts.map(({ key, value }) => ({ key, value })) });
        await tx.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [{ topic: topics.driftPartials!, partitions: [{ partition: 0, offset: String(cp.offset), metadata } as { partition: number; offset: string }] }],
        });
        await tx.commit();
        this.lastCommit = commitKey;
      } catch (e) {
        await tx.abort().catch(() => undefined);
        this.d.events.emit('flush', { component: 'aggregator', messages: windows.length + alerts.length, durationMs: performance.now() - started, ok: false });
        this.d.events.emit('error', { component: 'aggregator', code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e) });
        this.group.restart(e);
        throw e;
      }
      this.d.events.emit('flush', { component: 'aggregator', messages: windows.length + alerts.length, durationMs: performance.now() - started, ok: true });
      this.d.events.emit('open-windows', { open: 0, pending: st.agg.pendingWindows });
      for (const result of finalized) this.d.events.emit('window.finalized', { result });
      for (const { alert } of alerts) {
        this.d.events.emit('alert', { alert });
        if (alert.kind === 'RETRAIN') this.d.events.emit('retrain', { action: alert.action, outcome: alert.outcome, detail: alert.detail, targets: alert.targets });
      }
      for (const r of retrains) if (!this.retrainRunning) this.startRetrain(r.trigger, r.window);
    });
  }

  private startRetrain(trigger: RetrainTrigger, window: WindowResult): void {
    const { config, log } = this.d;
    this.retrainRunning = true;
    const run = this.d.runRetrain ?? runCommand;
    const env = {
      DRIFT_WINDOW_INDEX: String(window.index),
      DRIFT_WINDOW_START: String(window.start),
      DRIFT_WINDOW_END: String(window.end),
      DRIFT_TARGETS: trigger.targets.join(','),
      DRIFT_REFERENCE_VERSION: window.referenceVersion,
    };
    log.warn({ command: config.retrain.command, targets: trigger.targets, window: window.index }, 'drift: running the retrain command');
    void run(config.retrain.command, env, config.retrain.timeoutMs).then(async (o) => {
      this.retrainRunning = false;
      const outcome = o.ok ? 'succeeded' : 'failed';
      log[o.ok ? 'info' : 'error']({ exitCode: o.exitCode, signal: o.signal, durationMs: o.durationMs, tail: o.tail.slice(-500) }, `drift: retrain command ${outcome}`);
      await this.lock.run(async () => {
        if (this.active) this.queueAlert(retrainAlertValue(trigger, window, 'retrain', outcome, `exit ${o.exitCode ?? o.signal} after ${Math.round(o.durationMs)} ms: ${o.tail.slice(-300)}`, Date.now()));
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
    await Promise.all([this.producer?.disconnect().catch(() => undefined), this.admin?.disconnect().catch(() => undefined)]);
  }
}
