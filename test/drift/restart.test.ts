/**
 * The drift monitor replacing its own Kafka sessions while records arrive (what a failed transaction or a
 * reference switch over open windows does): the instance's and then the aggregator's group member are
 * closed and reopened by the client supervisor, each time rebuilding its state from the checkpoints in the
 * committed offsets' metadata. Every window must still be complete and published exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftService } from '../../services/drift/service.ts';
import { ServiceError } from '../../services/shared/errors.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { byWindow, driftEnv, startDrift, TopicReader } from './helpers.ts';
import { produceScoringLog } from '../../support/scoring-log.ts';

const WINDOW_MS = 60_000;
const STEP_MS = 10;
const T0 = Math.floor(1_780_000_000_000 / WINDOW_MS) * WINDOW_MS;
const N = 36_000; // 6 windows of 6,000; the last one stays open
const CHUNK = 1500;

type Restartable = { group: { restart(cause: unknown, client?: string): void } };

describe('drift monitor replacing its Kafka sessions mid-stream', () => {
  let service: DriftService | undefined;
  let model: ModelHost | undefined;
  afterAll(async () => {
    await service?.stop();
    await model?.close();
  });

  it('instance and aggregator members replaced while records arrive: every window complete, each published once', async () => {
    const topics = uniqueTopics('drift-restart');
    await createTopics(topics, ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.scoringLog!, 'scoring-log');
    await registry.warm(schemaId);
    model = await ModelHost.load(initialModelDir());
    service = await startDrift(driftEnv(topics, { DRIFT_WINDOW_SIZE: '60s', DRIFT_ALLOWED_LATENESS: '2s', DRIFT_IDLE_TIMEOUT: '2s' }), 'restart');
    const s = service as unknown as { instance: Restartable; aggregator: Restartable };
    const reader = await TopicReader.windows(topics.driftWindows!);
    const producer = kafkaClient('drift-restart-producer').producer();
    await producer.connect();
    try {
      for (let i = 0; i < N; i += CHUNK) {
        await produceScoringLog(producer, registry, schemaId, model, topics.scoringLog!, { seed: 11, runId: 'restart', count: CHUNK, from: i, t0: T0, stepMs: STEP_MS }, undefined, CHUNK);
        if (i === 9 * CHUNK) s.instance.group.restart(new ServiceError('STATE_INVALID', 'test: replace the instance session mid-window', true));
        if (i === 17 * CHUNK) s.aggregator.group.restart(new ServiceError('STATE_INVALID', 'test: replace the aggregator session', true));
        await new Promise((r) => setTimeout(r, 150));
      }
      await waitUntil('5 windows', () => byWindow(reader.values).length >= 5, 90_000, 200);
      await new Promise((r) => setTimeout(r, 2000)); // nothing more may come
      const windows = byWindow(reader.values);
      expect(windows.map((w) => [w.window_index - T0 / WINDOW_MS, w.records])).toEqual([0, 1, 2, 3, 4].map((k) => [k, WINDOW_MS / STEP_MS]));
      expect(reader.values.length, 'each window published once').toBe(5);
      const metrics = await (await fetch(`${service.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/^drift_kafka_client_restarts_total\{client="instance-consumer",reason="STATE_INVALID"\} 1$/m);
      expect(metrics).toMatch(/^drift_kafka_client_restarts_total\{client="aggregator-consumer",reason="STATE_INVALID"\} 1$/m);
      expect(metrics).toMatch(/^drift_late_records_total\{stage="aggregator"\} 0$/m);
      expect(service.deadReasons()).toEqual([]);
      expect(service.notReadyReasons()).toEqual([]);
    } finally {
      await producer.disconnect();
      await reader.stop();
    }
  });
});
