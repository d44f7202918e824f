/**
 * What every instance shows: the recent finalized windows and alerts, read back from drift-windows,
 * drift-alerts and fairness-windows (each instance with a group of its own, starting a little before the end). /drift, the
 * report, the per-target gauges and the live view read it; it survives restarts because the topics do.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaAdmin } from '../../shared/kafka/admin.ts';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import type { ConsumerBatch } from '../../shared/kafka/consumer.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import type { DriftAlertValue, DriftWindowValue } from '../windows/codec.ts';
import type { DriftConfig } from '../config.ts';
import type { DriftInstrumentation } from '../events.ts';
import type { FairnessWindowValue } from '../fairness/codec.ts';
import { GroupConsumer } from './group-consumer.ts';
import { recordName } from '../../shared/schemas.ts';

export const DRIFT_WINDOW_RECORD = recordName('drift-window');
export const DRIFT_ALERT_RECORD = recordName('drift-alert');
export const FAIRNESS_WINDOW_RECORD = recordName('fairness-window');

export interface ViewDeps {
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly events: DriftInstrumentation;
  /** Also read fairness-windows. */
  readonly fairness?: boolean;
}

/** The last `max` windows of one deployment and windowing read back from a topic, by window index. */
class WindowHistory<W extends { window_index: number; windowing: string; deployment?: string }> {
  private readonly byIndex = new Map<number, W>();
  private latestIndex = -Infinity;

  constructor(
    private readonly windowing: string,
    private readonly deployment: string,
    private readonly max: number,
  ) {}

  /** Keeps `w` (a republication replaces the earlier one); undefined for another deployment's or windowing's, else whether it is the newest. */
  add(w: W): boolean | undefined {
    if (w.windowing !== this.windowing || (w.deployment ?? '') !== this.deployment) return undefined;
    this.byIndex.set(w.window_index, w);
    const latest = w.window_index >= this.latestIndex;
    if (latest) this.latestIndex = w.window_index;
    while (this.byIndex.size > this.max) this.byIndex.delete(Math.min(...this.byIndex.keys()));
    return latest;
  }

  /** Oldest first. */
  values(): W[] {
    return [...this.byIndex.values()].sort((a, b) => a.window_index - b.window_index);
  }

  latest(): W | undefined {
    return this.byIndex.get(this.latestIndex);
  }
}

export class DriftView {
  private readonly group: GroupConsumer;
  private readonly windows: WindowHistory<DriftWindowValue>;
  private alerts: DriftAlertValue[] = [];
  private readonly fairness: WindowHistory<FairnessWindowValue>;
  private readonly alertKeys = new Set<string>();
  private admin?: KafkaAdmin;
  /** Per `topic:partition` of the current assignment, the first offset worth decoding (a bounded history). */
  private from: Promise<Map<string, number>> = Promise.resolve(new Map());

  constructor(private readonly d: ViewDeps) {
    const t = d.config.connection.topics;
    this.windows = new WindowHistory(d.config.windowing, d.config.deployment, d.config.historyWindows);
    this.fairness = new WindowHistory(d.config.windowing, d.config.deployment, d.config.historyWindows);
    this.group = new GroupConsumer({
      kafka: d.kafka,
      component: 'view',
      groupId: `${d.config.groupId}-view-${d.config.instanceId}-${randomUUID().slice(0, 8)}`,
      topics: [t.driftWindows!, t.driftAlerts!, ...(d.fairness ? [t.fairnessWindows!] : [])],
      fromBeginning: true,
      sessionTimeoutMs: d.config.sessionTimeoutMs,
      heartbeatIntervalMs: d.config.heartbeatIntervalMs,
      events: d.events,
      onJoin: (a) => (this.from = this.recentFrom(a)),
      eachBatch: (b) => this.onBatch(b),
    });
  }

  /** Liveness: why the view's consumer is not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.group.deadReason;
  }
  get ready(): boolean {
    return this.group.joined;
  }

  /** Finalized windows, oldest first (at most the configured history). */
  history(): DriftWindowValue[] {
    return this.windows.values();
  }
  latest(): DriftWindowValue | undefined {
    return this.windows.latest();
  }
  recentAlerts(): DriftAlertValue[] {
    return [...this.alerts];
  }
  /** Finalized fairness windows, oldest first (the latest publication of each). */
  fairnessHistory(): FairnessWindowValue[] {
    return this.fairness.values();
  }

  async start(): Promise<void> {
    this.admin = this.d.kafka.admin();
    await this.group.start();
  }

  /**
   * Each topic's history starts a bounded number of messages before its end (as of the assignment): the
   * member reads from the beginning (its group never commits) and skips decoding what lies before.
   */
  private async recentFrom(assignment: Record<string, number[]>): Promise<Map<string, number>> {
    const t = this.d.config.connection.topics;
    const back: Record<string, number> = { [t.driftWindows!]: this.d.config.historyWindows * 4, [t.driftAlerts!]: 200, ...(t.fairnessWindows ? { [t.fairnessWindows]: this.d.config.historyWindows * 4 } : {}) };
    const from = new Map<string, number>();
    try {
      for (const [topic, parts] of Object.entries(assignment)) {
        const offsets = await this.admin!.topicOffsets(topic);
        for (const p of parts) {
          const o = offsets.find((x) => x.partition === p);
          if (o) from.set(`${topic}:${p}`, Math.max(o.low, o.high - (back[topic] ?? 0)));
        }
      }
    } catch {
      // Decoding from the beginning instead only costs reading more history.
    }
    return from;
  }

  private async onBatch(batch: ConsumerBatch): Promise<void> {
    const t = this.d.config.connection.topics;
    const from = await this.from;
    for (const m of batch.messages) {
      if (m.offset < (from.get(`${m.topic}:${m.partition}`) ?? 0)) continue;
      if (m.topic === t.driftWindows) {
        const r = await this.d.registry.decode<DriftWindowValue>(m.value, DRIFT_WINDOW_RECORD);
        if (r.ok) this.addWindow(r.value.value);
      } else if (m.topic === t.fairnessWindows) {
        const r = await this.d.registry.decode<FairnessWindowValue>(m.value, FAIRNESS_WINDOW_RECORD);
        if (r.ok) this.addFairness(r.value.value);
      } else {
        const r = await this.d.registry.decode<DriftAlertValue>(m.value, DRIFT_ALERT_RECORD);
        if (r.ok) this.addAlert(r.value.value);
      }
    }
  }

  private addWindow(w: DriftWindowValue): void {
    const latest = this.windows.add(w);
    if (latest !== undefined) this.d.events.emit('view.window', { window: w, latest });
  }

  private addFairness(w: FairnessWindowValue): void {
    const latest = this.fairness.add(w);
    if (latest !== undefined) this.d.events.emit('view.fairness', { window: w, latest });
  }

  private addAlert(a: DriftAlertValue): void {
    if ((a.deployment ?? '') !== this.d.config.deployment) return;
    if (this.alertKeys.has(a.dedup_key)) return;
    this.alertKeys.add(a.dedup_key);
    this.alerts.push(a);
    if (this.alerts.length > 200) {
      for (const old of this.alerts.splice(0, this.alerts.length - 200)) this.alertKeys.delete(old.dedup_key);
    }
    this.d.events.emit('view.alert', { alert: a });
  }

  async stop(): Promise<void> {
    await this.group.stop();
    this.admin?.disconnect();
  }
}
