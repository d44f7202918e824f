/**
 * Hostile event times. (1) The scorer, in a live stream (submitted_at = now): one application dated year
 * 2500 and one dated 1971 are dead letters naming the rule; every other one is decided. (2) The drift
 * monitor, independently of validation: the same two records written straight to its scoring log are
 * counted (future / late) and excluded, and windows keep finalizing, each with exactly its records.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftService } from '../../services/drift/service.ts';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { byWindow, driftEnv, startDrift, TopicReader } from './helpers.ts';
import { produceScoringLog, scoredRecords } from '../../support/scoring-log.ts';

const YEAR_2500 = Date.UTC(2500, 0, 1);
const YEAR_1971 = Date.UTC(1971, 0, 1);

describe('hostile event times', () => {
  let scorer: ScorerService | undefined;
  let drift: DriftService | undefined;
  let model: ModelHost | undefined;
  afterAll(async () => {
    await scorer?.stop();
    await drift?.stop();
    await model?.close();
  });

  it('the scorer dead-letters an application dated 2500 and one dated 1971 in a live stream and decides the rest', async () => {
    const topics = uniqueTopics('hostile');
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(schemaId);
    const groupId = `scorer-hostile-${randomUUID().slice(0, 8)}`;
    scorer = new ScorerService(loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: groupId, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'hostile', SCORER_FOLLOW_MODEL_UPDATES: 'false' })), createLogger('scorer', 'warn'));
    await scorer.start();
    const producer = kafkaClient('hostile-producer').producer();
    await producer.connect();
    const source = populationSource({ seed: 41, runId: 'hostile' });
    const valid: string[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        const messages = [];
        for (let i = 0; i < 100; i++) {
          const app = { ...(source(batch * 100 + i) as unknown as { application_id: string }), submitted_at: Date.now() };
          if (batch === 5 && i === 10) app.submitted_at = YEAR_2500;
          else if (batch === 5 && i === 20) app.submitted_at = YEAR_1971;
          else valid.push(app.application_id);
          messages.push({ key: app.application_id, value: registry.encodeSync(schemaId, app) });
        }
        await producer.send([{ topic: topics.applications!, messages }]);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await producer.disconnect();
    }
    await waitUntil('the scorer to catch up', async () => (await groupLag(groupId, topics.applications!)) === 0, 60_000, 250);
    const decisions = await decodeValues<{ application_id: string }>(registry, (await readTopic(topics.decisions!, { expected: 998 })).messages);
    expect(decisions.length).toBe(998);
    expect(new Set(decisions.map((d) => d.application_id))).toEqual(new Set(valid));
    const dead = await decodeValues<{ error_code: string; field_errors: { field: string; rule: string; message: string }[] }>(registry, (await readTopic(topics.deadLetters!, { expected: 2 })).messages);
    expect(dead.map((d) => d.error_code)).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED']);
    expect(dead.flatMap((d) => d.field_errors.map((e) => `${e.field}:${e.rule}`)).sort()).toEqual(['submitted_at:not_after_now_plus_skew', 'submitted_at:not_before_earliest']);
  });

  it('the drift monitor counts records dated 2500 (future) and 1971 (late), excludes them, and keeps finalizing windows', async () => {
    const WINDOW_MS = 1000;
    const STEP_MS = 1;
    const N = 6000;
    const topics = uniqueTopics('hostile-drift');
    await createTopics(topics, ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.scoringLog!, 'scoring-log');
    await registry.warm(schemaId);
    model = await ModelHost.load(initialModelDir());
    drift = await startDrift(driftEnv(topics, { DRIFT_WINDOW_SIZE: '1s', DRIFT_ALLOWED_LATENESS: '200ms', DRIFT_IDLE_TIMEOUT: '2s', DRIFT_MIN_WINDOW_RECORDS: '10' }), 'hostile-time');
    const reader = await TopicReader.windows(topics.driftWindows!);
    const producer = kafkaClient('hostile-drift-producer').producer();
    await producer.connect();
    // A live stream: event times from a window boundary a little before now, one per ms.
    const t0 = Math.floor((Date.now() - 10_000) / WINDOW_MS) * WINDOW_MS;
    const stream = { seed: 43, runId: 'hostile-drift', t0, stepMs: STEP_MS };
    try {
      await produceScoringLog(producer, registry, schemaId, model, topics.scoringLog!, { ...stream, count: N / 2 }, undefined, 1500);
      const [future, past] = await scoredRecords(model, { ...stream, count: 2 }, N, 2);
      await producer.send([
        {
          topic: topics.scoringLog!,
          messages: [
          { key: `${future!.application_id}-2500`, value: registry.encodeSync(schemaId, { ...future!, application_id: `${future!.application_id}-2500`, submitted_at: YEAR_2500 }) },
          { key: `${past!.application_id}-1971`, value: registry.encodeSync(schemaId, { ...past!, application_id: `${past!.application_id}-1971`, submitted_at: YEAR_1971 }) },
        ],
        },
      ]);
      await produceScoringLog(producer, registry, schemaId, model, topics.scoringLog!, { ...stream, count: N / 2, from: N / 2 }, undefined, 1500);
      await waitUntil('5 windows finalized', () => byWindow(reader.values).length >= 5, 60_000, 200);
      const windows = byWindow(reader.values);
      // Every window holds exactly its 1,000 records of the stream: none lost to a poisoned watermark.
      expect(windows.slice(0, 5).map((w) => [w.window_index - t0 / WINDOW_MS, w.records])).toEqual([0, 1, 2, 3, 4].map((k) => [k, WINDOW_MS / STEP_MS]));
      await waitUntil(
        'the future and late counts',
        async () => {
          const m = await (await fetch(`${drift!.httpAddress}/metrics`)).text();
          return /^drift_future_records_total\{stage="instance"\} 1$/m.test(m) && /^drift_late_records_total\{stage="instance"\} 1$/m.test(m);
        },
        20_000,
        250,
      );
    } finally {
      await producer.disconnect();
      await reader.stop();
    }
  });
});
