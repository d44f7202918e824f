/**
 * Replay over a stream with a promotion in the middle: every scoring-log record, re-scored by the version
 * it names through the scorer's own code, reproduces probability, decision and reasons exactly (100%),
 * with both versions present; outcomes joined give per-version metrics. A record claiming the wrong
 * version is caught as a mismatch.
 */
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../services/replay/main.ts';
import { replay } from '../../services/replay/replay.ts';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import type { ScoringLogRecord } from '../../services/scorer/records.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { drawDefault } from '../../services/simulator/outcomes.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource, populationSpec } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { modelSha, trainModel } from '../helpers/models.ts';

const N = 3000;
const NAME = 'credit-default-classifier';

describe('replay over a mid-stream promotion', () => {
  const topics = uniqueTopics('replay');
  const env = serviceEnv(topics, { SCORER_GROUP_ID: `scorer-replay-${randomUUID().slice(0, 8)}`, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'replay-a', SCORER_MAX_BATCH: '200' });
  const source = populationSource({ seed: 5, runId: 'replay' });
  const modelsDir = mkdtempSync(join(tmpdir(), 'replay-models-'));
  let registry: AvroRegistry;
  let service: ScorerService;
  let logs: ScoringLogRecord[];
  let started: number;

  beforeAll(async () => {
    const v2 = await trainModel('2', 17);
    mkdirSync(join(modelsDir, NAME), { recursive: true });
    cpSync(initialModelDir(), join(modelsDir, NAME, '1'), { recursive: true });
    cpSync(v2, join(modelsDir, NAME, '2'), { recursive: true });
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents', 'outcomes']);
    registry = registryClient();
    const updateSchema = await registry.registerValueSchema(topics.modelUpdates!, 'model-update');
    const appSchema = await registry.registerValueSchema(topics.applications!, 'loan-application');
    const outcomeSchema = await registry.registerValueSchema(topics.outcomes!, 'loan-outcome');
    await Promise.all([registry.warm(updateSchema), registry.warm(appSchema), registry.warm(outcomeSchema)]);
    service = new ScorerService(loadScorerConfig(env), createLogger('scorer', 'warn'));
    await service.start();
    started = Date.now();

    const producer = kafkaClient('replay-producer').producer();
    await producer.connect();
    // First half with v1; then the promotion, once v1 has scored it; the second half with v2.
    const half = (from: number) => (i: number) => source(from + i);
    const first = await produceApplications(producer, registry, appSchema, half(0), { topic: topics.applications!, count: N / 2 });
    await waitUntil('v1 scored the first half', async () => (await groupLag(env.SCORER_GROUP_ID!, topics.applications!)) === 0, 180_000, 200);
    const value = {
      model_name: NAME,
      version: '2',
      artifact_uri: pathToFileURL(join(modelsDir, NAME, '2')).href,
      sha256: modelSha(v2),
      action: 'PROMOTE',
      previous_version: '1',
      metrics: {},
      reason: 'replay test',
      announced_at: Date.now(),
      announced_by: 'replay test',
      approval: { approved_by: 'tester', reason: 'mid-stream promotion', approved_at: Date.now(), mode: 'MANUAL', evidence: {} },
    };
    await producer.send([{ topic: topics.modelUpdates!, messages: [{ key: NAME, value: registry.encodeSync(updateSchema, value) }] }]);
    await waitUntil('v2 to serve', () => service.modelVersion === '2', 120_000, 100);
    const second = await produceApplications(producer, registry, appSchema, half(N / 2), { topic: topics.applications!, count: N / 2 });
    const stats = { sent: first.sent + second.sent, invalid: first.invalid + second.invalid };
    // Outcomes for every application (the simulator's draw from the true probability).
    const spec = populationSpec();
    const outcomes = Array.from({ length: N }, (_, i) => source(i)).map((app, i) => ({ key: String(app.application_id), value: registry.encodeSync(outcomeSchema, { application_id: app.application_id, defaulted: drawDefault(app, spec, 5, i), observed_at: Date.now() }) }));
    await producer.send([{ topic: topics.outcomes!, messages: outcomes }]);
    await producer.disconnect();
    const read = await readTopic(topics.scoringLog!, { expected: stats.sent - stats.invalid, timeoutMs: 240_000 });
    logs = await decodeValues<ScoringLogRecord>(registry, read.messages);
  }, 420_000);
  afterAll(async () => service?.stop());

  it('the stream was scored by both versions, and the activation on model-events carries its approval', async () => {
    const versions = new Set(logs.map((l) => l.model_version));
    expect(versions).toEqual(new Set(['1', '2']));
    expect(logs.length).toBe(N);
    const events = await decodeValues<{ outcome: string; version: string; approval: { approved_by: string; reason: string } | null }>(registry, (await readTopic(topics.modelEvents!, { expected: 1 })).messages);
    const activated = events.find((e) => e.outcome === 'ACTIVATED' && e.version === '2');
    expect(activated?.approval).toMatchObject({ approved_by: 'tester', reason: 'mid-stream promotion' });
  });

  it('replays 100% identical (probability, decision, reasons) with per-version outcome metrics', async () => {
    const report = await runReplay({ from: started - 60_000, to: Date.now(), modelsDir, env });
    console.log(`replay: ${report.reproduced}/${report.records} reproduced; ${report.versions.map((v) => `v${v.version} ${v.records} records, ROC-AUC ${v.outcomes.rocAuc?.toFixed(3)}, Brier ${v.outcomes.brier?.toFixed(4)}`).join('; ')}`);
    expect(report.mismatches).toEqual([]);
    expect(report.records).toBe(logs.length);
    expect(report.share).toBe(1);
    expect(report.versions.map((v) => v.version)).toEqual(['1', '2']);
    for (const v of report.versions) {
      expect(v.outcomes.rows).toBe(v.records);
      expect(v.outcomes.rocAuc).toBeGreaterThan(0.6);
      expect(v.outcomes.calibration).toHaveLength(10);
    }
  });

  it('a record naming the wrong version does not reproduce, and says which field', async () => {
    const host = await ModelHost.load(join(modelsDir, NAME, '2'));
    try {
      const v1 = logs.filter((l) => l.model_version === '1').slice(0, 50);
      const r = await replay(v1, async () => host, loadScorerConfig(env).policy);
      expect(r.reproduced).toBeLessThan(50);
      expect(r.mismatches.some((m) => m.field === 'probability_of_default')).toBe(true);
    } finally {
      await host.close();
    }
  });
});
