/** Shadow scoring: a challenger scores the same batches into the scoring log; decisions stay the champion's. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ModelHost, packFeatures } from '../../services/scorer/model/model-host.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { trainModel } from '../helpers/models.ts';

describe('shadow scoring', () => {
  it('logs the challenger score beside the champion decision', async () => {
    const topics = uniqueTopics('shadow');
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents']);
    const registry = registryClient();
    const appSchema = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(appSchema);
    const source = populationSource({ seed: 8, runId: 'shadow' });
    const producer = kafkaClient().producer();
    await producer.connect();
    await produceApplications(producer, registry, appSchema, source, { topic: topics.applications!, count: 500 });
    await producer.disconnect();

    const challengerDir = await trainModel('2-challenger', 13);
    const service = new ScorerService(
      loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: `shadow-${randomUUID().slice(0, 8)}`, MODEL_DIR: initialModelDir(), SCORER_SHADOW_MODEL_DIR: challengerDir })),
      createLogger('scorer', 'warn'),
    );
    await service.start();
    try {
      expect(service.shadowVersion).toBe('2-challenger');
      const logs = await readTopic(topics.scoringLog!, { expected: 500 });
      const records = await decodeValues(registry, logs.messages);
      expect(records.length).toBe(500);
      // The scorer loads its shadow without explanations (its probability is ONNX's own output, not sigmoid(bias + contributions)).
      const challenger = await ModelHost.load(challengerDir, { explain: false });
      const sample = records.slice(0, 40);
      const { probabilities } = await challenger.score(packFeatures(sample.map((r) => r.features as Record<string, number>)), sample.length);
      await challenger.close();
      let differs = 0;
      sample.forEach((r, i) => {
        expect(r.model_version).toBe('1');
        expect(r.shadow_model_version).toBe('2-challenger');
        expect(r.shadow_probability).toBe(probabilities[i]);
        if (r.shadow_probability !== r.probability_of_default) differs++;
      });
      expect(differs).toBeGreaterThan(30);
      const decisions = await readTopic(topics.decisions!, { expected: 500 });
      const d = await decodeValues(registry, decisions.messages);
      expect(new Set(d.map((x) => x.model_version))).toEqual(new Set(['1']));
      expect(FEATURE_NAMES.every((f) => typeof (sample[0]!.features as Record<string, number>)[f] === 'number')).toBe(true);
    } finally {
      await service.stop();
    }
  });
});
