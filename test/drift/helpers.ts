/** Helpers of the drift integration tests: services in-process or as processes, readers of the drift topics. */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { DriftAlertValue, DriftWindowValue } from '../../services/drift/windows/codec.ts';
import { loadDriftConfig } from '../../services/drift/config.ts';
import { DriftService, type DriftServiceOptions } from '../../services/drift/service.ts';
import { DRIFT_ALERT_RECORD, DRIFT_WINDOW_RECORD } from '../../services/drift/kafka/view.ts';
import type { GroupConsumer } from '../../services/shared/kafka/consumer.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { kafkaClient, registryClient, serviceEnv } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';

export const LOG_DIR = join(REPO_ROOT, 'test-artifacts', 'drift-logs');

/** Environment of a drift service on `topics` with test-friendly timings; `extra` wins. */
export function driftEnv(topics: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return serviceEnv(topics, {
    MODEL_DIR: initialModelDir(),
    DRIFT_GROUP_ID: `drift-${randomUUID().slice(0, 8)}`,
    DRIFT_INSTANCE_ID: `test-${randomUUID().slice(0, 4)}`,
    DRIFT_SESSION_TIMEOUT: '6s',
    DRIFT_HEARTBEAT_INTERVAL: '1s',
    DRIFT_IDLE_TIMEOUT: '3s',
    DRIFT_FLUSH_INTERVAL: '200ms',
    DRIFT_RETRAIN: 'off',
    ...extra,
  });
}

/** Starts a drift service in this process; its logs go to test-artifacts/drift-logs/<name>.log (level: DRIFT_TEST_LOG_LEVEL, default info). */
export async function startDrift(env: Record<string, string>, name: string, options: DriftServiceOptions = {}): Promise<DriftService> {
  mkdirSync(LOG_DIR, { recursive: true });
  const config = loadDriftConfig({ ...process.env, ...env });
  const log = pino({ level: process.env.DRIFT_TEST_LOG_LEVEL ?? 'info', base: { service: 'drift', name } }, pino.destination({ dest: join(LOG_DIR, `${name}.log`), sync: false, append: false }));
  const s = new DriftService(config, log, options);
  await s.start();
  return s;
}

/** Reads a drift output topic continuously (read_committed), decoding each message. */
export class TopicReader<T> {
  readonly values: { value: T; offset: number }[] = [];
  private consumer?: GroupConsumer;

  private constructor(private readonly topic: string, private readonly record: string) {}

  static async windows(topic: string): Promise<TopicReader<DriftWindowValue>> {
    const r = new TopicReader<DriftWindowValue>(topic, DRIFT_WINDOW_RECORD);
    await r.start();
    return r;
  }
  /** Any topic of Avro records named `record` (e.g. fairness-windows, scoring-log). */
  static async of<T>(topic: string, record: string): Promise<TopicReader<T>> {
    const r = new TopicReader<T>(topic, record);
    await r.start();
    return r;
  }
  static async alerts(topic: string): Promise<TopicReader<DriftAlertValue>> {
    const r = new TopicReader<DriftAlertValue>(topic, DRIFT_ALERT_RECORD);
    await r.start();
    return r;
  }

  private async start(): Promise<void> {
    const registry = registryClient();
    const consumer = kafkaClient('drift-test-reader').consumer({ groupId: `drift-reader-${randomUUID()}`, topics: [this.topic], fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxBatchMessages: 1000 });
    this.consumer = consumer;
    await consumer.connect();
    consumer.run(async (batch) => {
      // Decoded first, kept after: a failing batch is read again whole, without duplicates.
      const decoded: { value: T; offset: number }[] = [];
      for (const m of batch.messages) {
        const r = await registry.decode<T>(m.value, this.record);
        if (!r.ok) throw new Error(`undecodable message in ${this.topic}: ${r.error.reason}`);
        decoded.push({ value: r.value.value, offset: m.offset });
      }
      this.values.push(...decoded);
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** The latest value per window index, in index order. */
export function byWindow(values: readonly { value: DriftWindowValue }[]): DriftWindowValue[] {
  const m = new Map<number, DriftWindowValue>();
  for (const { value } of values) m.set(value.window_index, value);
  return [...m.values()].sort((a, b) => a.window_index - b.window_index);
}

/** What must be equal between two runs over the same records: counts and every statistic, per target. */
export function windowFingerprint(w: DriftWindowValue) {
  return {
    window_index: w.window_index,
    records: w.records,
    first_event_at: w.first_event_at,
    last_event_at: w.last_event_at,
    targets: w.targets.map((t) => ({ target: t.target, counts: t.counts, psi: t.psi, psi_p_value: t.psi_p_value, ks_statistic: t.ks_statistic, ks_p_value: t.ks_p_value, severity: t.severity })),
  };
}
