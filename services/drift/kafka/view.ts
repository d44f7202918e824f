/**
 * What every instance shows: the recent finalized windows and alerts, read back from drift-windows and
 * drift-alerts (each instance with a group of its own, starting a little before the end). /drift, the
 * report, the per-target gauges and the live view read it; it survives restarts because the topics do.
 */
import { randomUUID } from 'node:crypto';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { AvroRegistry } from '../../shared/registry.ts';
import type { DriftAlertValue, DriftWindowValue } from '../windows/codec.ts';
import type { DriftConfig } from '../config.ts';
import type { DriftInstrumentation } from '../events.ts';
import { GroupConsumer } from './group-consumer.ts';
import { recordName } from '../../shared/schemas.ts';

export const DRIFT_WINDOW_RECORD = recordName('drift-window');
export const DRIFT_ALERT_RECORD = recordName('drift-alert');

export interface ViewDeps {
  readonly kafka: Kafka;
  readonly registry: AvroRegistry;
  readonly config: DriftConfig;
  readonly events: DriftInstrumentation;
}

export class DriftView {
  private readonly group: GroupConsumer;
  private readonly windows = new Map<number, DriftWindowValue>();
  private alerts: DriftAlertValue[] = [];
  private readonly alertKeys = new Set<string>();
  private admin?: ReturnType<Kafka['admin']>;
  private latestIndex = -Infinity;

  constructor(private readonly d: ViewDeps) {
    const t = d.config.connection.topics;
    this.group = new GroupConsumer({
      kafka: d.kafka,
      component: 'view',
      groupId: `${d.config.groupId}-view-${d.config.instanceId}-${randomUUID().slice(0, 8)}`,
      topics: [t.driftWindows!, t.driftAlerts!],
      fromBeginning: true,
      sessionTimeoutMs: d.config.sessionTimeoutMs,
      heartbeatIntervalMs: d.config.heartbeatIntervalMs,
      events: d.events,
      onJoin: (a) => void this.seekToRecent(a),
      eachBatch: (p) => this.onBatch(p),
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
    return [...this.windows.values()].sort((a, b) => a.window_index - b.window_index);
  }
  latest(): DriftWindowValue | undefined {
    return this.windows.get(this.latestIndex);
  }
  recentAlerts(): DriftAlertValue[] {
    return [...this.alerts];
  }

  async start(): Promise<void> {
    this.admin = this.d.kafka.admin();
    await this.admin.connect();
    await this.group.start();
  }

  /** Starts each topic a bounded number of messages before its end. */
  private async seekToRecent(assignment: Record<string, number[]>): Promise<void> {
    const t = this.d.config.connection.topics;
    const back: Record<string, number> = { [t.driftWindows!]: this.d.config.historyWindows * 4, [t.driftAlerts!]: 200 };
    try {
      for (const [topic, parts] of Object.entries(assignment)) {
        const offsets = await this.admin!.fetchTopicOffsets(topic);
        for (const p of parts) {
          const o = offsets.find((x) => x.partition === p);
          if (!o) continue;
          const from = Math.max(Number(o.low), Number(o.high) - (back[topic] ?? 0));
          this.group.instance?.seek({ topic, partition: p, offset: String(from) });
        }
      }
    } catch {
      // Starting from the beginning instead only costs reading more history.
    }
  }

  private async onBatch({ batch, resolveOffset }: EachBatchPayload): Promise<void> {
    const t = this.d.config.connection.topics;
    for (const m of batch.messages) {
      if (batch.topic === t.driftWindows) {
        const r = await this.d.registry.decode<DriftWindowValue>(m.value, DRIFT_WINDOW_RECORD);
        if (r.ok) this.addWindow(r.value.value);
      } else {
        const r = await this.d.registry.decode<DriftAlertValue>(m.value, DRIFT_ALERT_RECORD);
        if (r.ok) this.addAlert(r.value.value);
      }
    }
    resolveOffset(batch.lastOffset());
  }

  private addWindow(w: DriftWindowValue): void {
    if (w.windowing !== this.d.config.windowing || (w.deployment ?? '') !== this.d.config.deployment) return;
    this.windows.set(w.window_index, w);
    const latest = w.window_index >= this.latestIndex;
    if (latest) this.latestIndex = w.window_index;
    while (this.windows.size > this.d.config.historyWindows) this.windows.delete(Math.min(...this.windows.keys()));
    this.d.events.emit('view.window', { window: w, latest });
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
    await this.admin?.disconnect().catch(() => undefined);
  }
}
