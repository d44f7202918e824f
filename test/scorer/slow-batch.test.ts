/**
 * A slow batch must not cost the consumer its group membership. librdkafka heartbeats on its own thread,
 * so a batch that outlasts the session timeout keeps the member; what bounds a batch is
 * max.poll.interval.ms (5 min). Here the model takes 20 ms per row (400 rows: 8 s) and the session
 * timeout is 6 s:
 *  - batches of 50 (1 s each): one group join, no rebalance, every message scored once;
 *  - one batch of 400 (8 s, longer than the session): still one join, no rebalance, every message scored
 *    once. (With kafkajs, which heartbeats on the JavaScript thread, this batch cost the member its
 *    partitions and needed SCORER_MAX_BATCH to stay small.)
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../services/scorer/batch.ts';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { createScorerInstrumentation } from '../../services/scorer/events.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { ScoringRunner } from '../../services/scorer/runner.ts';
import { createKafka } from '../../services/shared/kafka/client.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';

const ROWS = 400;
const MS_PER_ROW = 20;

function slow(model: ModelHost): Scorer {
  return {
    name: model.name,
    version: model.version,
    score: async (data, rows) => {
      await new Promise((r) => setTimeout(r, rows * MS_PER_ROW));
      return model.score(data, rows);
    },
  };
}

async function runWithChunk(maxBatch: number) {
  const topics = uniqueTopics(`slow${maxBatch}`);
  const groupId = `scorer-slow-${randomUUID().slice(0, 8)}`;
  await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters'], 1);
  const registry = registryClient();
  const appId = await registry.registerValueSchema(topics.applications!, 'loan-application');
  await registry.warm(appId);
  const producer = kafkaClient().producer();
  await producer.connect();
  await produceApplications(producer, registry, appId, populationSource({ seed: 3, runId: `slow${maxBatch}` }), { topic: topics.applications!, count: ROWS });
  await producer.disconnect();

  const config = loadScorerConfig(
    serviceEnv(topics, { SCORER_GROUP_ID: groupId, SCORER_MAX_BATCH: String(maxBatch), SCORER_SESSION_TIMEOUT: '6s', SCORER_HEARTBEAT_INTERVAL: '1s', SCORER_INSTANCE_ID: `slow-${maxBatch}` }),
  );
  const ids = {
    decision: await registry.registerValueSchema(topics.decisions!, 'loan-decision'),
    scoringLog: await registry.registerValueSchema(topics.scoringLog!, 'scoring-log'),
    deadLetter: await registry.registerValueSchema(topics.deadLetters!, 'dead-letter'),
  };
  await Promise.all(Object.values(ids).map((id) => registry.warm(id)));
  const model = await ModelHost.load(initialModelDir());
  const events = createScorerInstrumentation();
  let joins = 0;
  let rebalances = 0;
  let longestBatchMs = 0;
  events.on('batch.end', ({ payload }) => (longestBatchMs = Math.max(longestBatchMs, payload.durationMs)));
  events.on('consumer.joined', () => joins++);
  events.on('consumer.rebalancing', () => rebalances++);
  events.on('error', () => rebalances++);
  const runner = new ScoringRunner({ kafka: createKafka(config.connection, 'slow-test'), registry, useModel: (fn) => fn(slow(model)), config, events, schemaIds: ids });
  await runner.start();
  return { runner, model, topics, groupId, joins: () => joins, rebalances: () => rebalances, longestBatchMs: () => longestBatchMs };
}

describe('slow batches', () => {
  it('bounded chunks with heartbeats: no rebalance, every message scored exactly once', async () => {
    const r = await runWithChunk(50);
    try {
      await waitUntil('lag 0', async () => (await groupLag(r.groupId, r.topics.applications!)) === 0, 60_000, 500);
      const decisions = await readTopic(r.topics.decisions!, { expected: ROWS });
      expect(decisions.messages.length).toBe(ROWS);
      expect(r.joins()).toBe(1);
      expect(r.rebalances()).toBe(0);
    } finally {
      await r.runner.stop();
      await r.model.close();
    }
  });

  it('one 8 s batch outlives the 6 s session and keeps the group: heartbeats do not wait for the batch', async () => {
    const r = await runWithChunk(ROWS);
    try {
      await waitUntil('lag 0', async () => (await groupLag(r.groupId, r.topics.applications!)) === 0, 120_000, 500);
      const decisions = await readTopic(r.topics.decisions!, { expected: ROWS });
      expect(decisions.messages.length).toBe(ROWS);
      expect(r.longestBatchMs()).toBeGreaterThan(6000);
      expect(r.joins()).toBe(1);
      expect(r.rebalances()).toBe(0);
    } finally {
      await r.runner.stop();
      await r.model.close();
    }
  });
});
