/**
 * The drift monitor running before the data: its partitions first go idle (nothing to read), then records
 * arrive in small batches while it runs. Every window must still be complete — a partition whose records
 * have not been fetched yet must not count as idle — and nothing is late.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftService } from '../../services/drift/service.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { byWindow, driftEnv, startDrift, TopicReader } from './helpers.ts';
import { produceScoringLog } from '../../support/scoring-log.ts';

const WINDOW_MS = 60_000;
const STEP_MS = 10;
const T0 = Math.floor(1_770_000_000_000 / WINDOW_MS) * WINDOW_MS;
const N = 36_000; // 6 windows of 6,000; the last one stays open (nothing after it)

describe('drift monitor with records arriving while it runs', () => {
  let service: DriftService | undefined;
  let model: ModelHost | undefined;
  afterAll(async () => {
    await service?.stop();
    await model?.close();
  });

  it('idle partitions that receive records later: every window complete, no late records', async () => {
    const topics = uniqueTopics('drift-live');
    await createTopics(topics, ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.scoringLog!, 'scoring-log');
    await registry.warm(schemaId);
    model = await ModelHost.load(initialModelDir());
    service = await startDrift(driftEnv(topics, { DRIFT_WINDOW_SIZE: '60s', DRIFT_ALLOWED_LATENESS: '2s', DRIFT_IDLE_TIMEOUT: '2s' }), 'live-arrival');
    const reader = await TopicReader.windows(topics.driftWindows!);
    const producer = kafkaClient('drift-live-producer').producer();
    await producer.connect();
    try {
      await new Promise((r) => setTimeout(r, 4000)); // longer than the idle timeout: every partition reports idle
      for (let i = 0; i < N; i += 1500) {
        await produceScoringLog(producer, registry, schemaId, model, topics.scoringLog!, { seed: 7, runId: 'live', count: 1500, from: i, t0: T0, stepMs: STEP_MS }, undefined, 1500);
        await new Promise((r) => setTimeout(r, 150));
      }
      await waitUntil('5 windows', () => byWindow(reader.values).length >= 5, 60_000, 200);
      const windows = byWindow(reader.values);
      expect(windows.map((w) => [w.window_index - T0 / WINDOW_MS, w.records])).toEqual([0, 1, 2, 3, 4].map((k) => [k, WINDOW_MS / STEP_MS]));
      const metrics = await (await fetch(`${service.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/^drift_late_records_total\{stage="instance"\} 0$/m);
      expect(metrics).toMatch(/^drift_late_records_total\{stage="aggregator"\} 0$/m);
      expect(metrics).toMatch(new RegExp(`^drift_records_total ${N}$`, 'm'));
    } finally {
      await producer.disconnect();
      await reader.stop();
    }
  });
});
