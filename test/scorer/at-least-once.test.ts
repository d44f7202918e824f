/** At-least-once mode: every valid application gets a decision, offsets are committed, lag ends at 0. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';

describe('scorer at-least-once', () => {
  it('scores every valid application and commits its offsets without transactions', async () => {
    const topics = uniqueTopics('alo');
    const groupId = `scorer-alo-${randomUUID().slice(0, 8)}`;
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(schemaId);
    const producer = kafkaClient().producer();
    await producer.connect();
    const stats = await produceApplications(producer, registry, schemaId, populationSource({ seed: 5, runId: 'alo' }), { topic: topics.applications!, count: 3000, invalidShare: 0.1, collectIds: true });
    await producer.disconnect();

    const service = new ScorerService(
      loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: groupId, SCORER_DELIVERY: 'at-least-once', MODEL_DIR: initialModelDir() })),
      createLogger('scorer', 'warn'),
    );
    await service.start();
    try {
      await waitUntil('lag 0', async () => (await groupLag(groupId, topics.applications!)) === 0, 60_000);
      const decisions = await readTopic(topics.decisions!, { expected: 2700 });
      const ids = new Set((await decodeValues<{ application_id: string }>(registry, decisions.messages)).map((d) => d.application_id));
      expect(ids).toEqual(new Set(stats.validIds));
      expect((await readTopic(topics.deadLetters!, { expected: 300 })).messages.length).toBe(300);
    } finally {
      await service.stop();
    }
    expect(service.state).toBe('stopped');
    await service.stop(); // idempotent
  });
});
