/**
 * Promotion mid-stream: decisions before the swap carry v1, after it v2, within each partition never back;
 * total == valid applications, no duplicates. Broken announcements (bad checksum, corrupt file, wrong
 * inputs) are refused and published as events; v2 keeps serving. A scorer started later serves the latest
 * announced champion from the compacted topic.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ModelHost, packFeatures } from '../../services/scorer/model/model-host.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { corruptModel, modelSha, trainModel, wrongInputsModel } from '../helpers/models.ts';

const N = 12_000;

describe('model hot swap', () => {
  const topics = uniqueTopics('swap');
  const groupId = `scorer-swap-${randomUUID().slice(0, 8)}`;
  const env = serviceEnv(topics, { SCORER_GROUP_ID: groupId, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'swap-a', SCORER_MAX_BATCH: '200' });
  const source = populationSource({ seed: 99, runId: 'swap' });
  let registry: AvroRegistry;
  let updateSchema: number;
  let service: ScorerService;
  let v2Dir: string;

  async function announce(version: string, dir: string, sha = modelSha(dir)) {
    const producer = kafkaClient('announcer').producer();
    await producer.connect();
    const value = {
      model_name: 'credit-default-classifier',
      version,
      artifact_uri: pathToFileURL(dir).href,
      sha256: sha,
      action: 'PROMOTE',
      previous_version: null,
      metrics: { roc_auc: 0.8 },
      reason: 'test',
      announced_at: Date.now(),
      announced_by: 'hot-swap test',
    };
    await producer.send([{ topic: topics.modelUpdates!, messages: [{ key: 'credit-default-classifier', value: registry.encodeSync(updateSchema, value) }] }]);
    await producer.disconnect();
  }

  beforeAll(async () => {
    v2Dir = await trainModel('2', 7);
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents']);
    registry = registryClient();
    updateSchema = await registry.registerValueSchema(topics.modelUpdates!, 'model-update');
    await registry.warm(updateSchema);
    service = new ScorerService(loadScorerConfig(env), createLogger('scorer', 'warn'));
    await service.start();
  });
  afterAll(async () => service?.stop());

  it('switches mid-stream, refuses broken artifacts, loses and duplicates nothing', async () => {
    expect(service.modelVersion).toBe('1');
    const appSchema = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(appSchema);
    const producer = kafkaClient('swap-producer').producer();
    await producer.connect();
    let sent = 0;
    const producing = produceApplications(producer, registry, appSchema, source, { topic: topics.applications!, count: N, ratePerSec: 1500, onProgress: (s) => (sent = s.sent) });

    await waitUntil('a third of the stream', () => sent >= N / 3, 60_000, 100);
    await announce('2', v2Dir);
    await waitUntil('v2 to serve', () => service.modelVersion === '2', 60_000, 100);

    await announce('3', v2Dir, '0'.repeat(64)); // checksum mismatch
    await announce('4', corruptModel('4')); // not an ONNX model
    await announce('5', wrongInputsModel('5')); // feature order differs from the schema
    await waitUntil('three refusals', async () => /scorer_model_swaps_total\{result="refused"\} 3/.test(await service.metrics.metrics()), 60_000, 200);
    expect(service.modelVersion).toBe('2');

    await producing;
    await producer.disconnect();
    await waitUntil('lag 0', async () => (await groupLag(groupId, topics.applications!)) === 0, 60_000, 500);

    const decisions = await readTopic(topics.decisions!, { expected: N });
    const values = await decodeValues<{ application_id: string; model_version: string; probability_of_default: number }>(registry, decisions.messages);
    const rows = values.map((v, i) => ({ partition: decisions.messages[i]!.partition, offset: Number(decisions.messages[i]!.offset), ...v }));
    expect(rows.length).toBe(N);
    expect(new Set(rows.map((r) => r.application_id)).size).toBe(N);
    const byVersion = (v: string) => rows.filter((r) => r.model_version === v).length;
    expect(byVersion('1')).toBeGreaterThan(0);
    expect(byVersion('2')).toBeGreaterThan(0);
    expect(byVersion('1') + byVersion('2')).toBe(N);
    // Within a partition (offset order), once v2 appears v1 never comes back.
    for (let p = 0; p < 6; p++) {
      const seq = rows.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => r.model_version);
      expect(seq.join('').replace(/^1*2*$/, '')).toBe('');
    }
    // v2 decisions are v2's scores.
    const v2 = await ModelHost.load(v2Dir);
    const sample = rows.filter((r) => r.model_version === '2').slice(0, 50);
    const feats = sample.map((r) => {
      const app = source(Number(r.application_id.split('-').pop()));
      return Object.fromEntries(FEATURE_NAMES.map((f) => [f, app[f] as number]));
    });
    const { probabilities } = await v2.score(packFeatures(feats), feats.length);
    await v2.close();
    sample.forEach((r, i) => expect(r.probability_of_default).toBe(probabilities[i]));

    const events = await readTopic(topics.modelEvents!, { expected: 4 });
    const decoded = await decodeValues<Record<string, string>>(registry, events.messages);
    expect(decoded.map((e) => `${e.version}:${e.outcome}`).sort()).toEqual(['2:ACTIVATED', '3:REFUSED', '4:REFUSED', '5:REFUSED']);
    const reason = (v: string) => decoded.find((e) => e.version === v)!.reason;
    expect(reason('3')).toMatch(/checksum mismatch/);
    expect(reason('4')).toMatch(/MODEL_LOAD_FAILED/);
    expect(reason('5')).toMatch(/feature order/);
    for (const e of decoded) expect(e.serving_version).toBe('2');
  });

  it('a scorer started later serves the latest announced champion from the compacted topic', async () => {
    const later = new ScorerService(loadScorerConfig({ ...env, SCORER_GROUP_ID: `${groupId}-later`, SCORER_INSTANCE_ID: 'swap-b' }), createLogger('scorer', 'warn'));
    await later.start();
    try {
      // The latest announcement (v5) is broken: it is refused at start too and the scorer keeps its
      // configured model. (Compaction keeps only the latest record per model, so the remedy is to announce
      // a good version again — `make rollback` — which the second half shows.)
      expect(later.modelVersion).toBe('1');
    } finally {
      await later.stop();
    }
    await announce('2', v2Dir);
    const again = new ScorerService(loadScorerConfig({ ...env, SCORER_GROUP_ID: `${groupId}-again`, SCORER_INSTANCE_ID: 'swap-c' }), createLogger('scorer', 'warn'));
    await again.start();
    try {
      expect(again.modelVersion).toBe('2');
    } finally {
      await again.stop();
    }
  });
});
