/**
 * Exactly-once across a crash: the scorer process is killed with SIGKILL mid-stream and restarted; the
 * committed decisions (read_committed) are exactly one per valid application. Then SIGTERM stops it
 * gracefully (exit 0).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { startService, type ServiceProcess } from '../../support/processes.ts';

const N = 10_000;

async function committed(groupId: string, topic: string): Promise<number> {
  const admin = kafkaClient('crash-admin').admin();
  try {
    return (await admin.groupOffsets(groupId, [topic])).reduce((s, p) => s + Math.max(0, p.offset), 0);
  } finally {
    admin.disconnect();
  }
}

describe('scorer crash recovery', () => {
  const running: ServiceProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('kill -9 mid-stream and restart: exactly one committed decision per valid application', async () => {
    const topics = uniqueTopics('crash');
    const groupId = `scorer-crash-${randomUUID().slice(0, 8)}`;
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(schemaId);
    const env = serviceEnv(topics, {
      SCORER_GROUP_ID: groupId,
      SCORER_INSTANCE_ID: 'crash-test',
      MODEL_DIR: initialModelDir(),
      SCORER_MAX_BATCH: '100',
      SCORER_SESSION_TIMEOUT: '6s',
      SCORER_HEARTBEAT_INTERVAL: '1s',
    });

    const first = startService('services/scorer/main.ts', env);
    running.push(first);
    const producer = kafkaClient('crash-producer').producer();
    await producer.connect();
    const producing = produceApplications(producer, registry, schemaId, populationSource({ seed: 21, runId: 'crash' }), {
      topic: topics.applications!,
      count: N,
      ratePerSec: 2000,
      invalidShare: 0.05,
      collectIds: true,
    });

    await waitUntil('the first scorer to commit 2,000 offsets', async () => (await committed(groupId, topics.applications!)) >= 2000, 90_000, 100);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const atKill = await committed(groupId, topics.applications!);
    expect(atKill).toBeLessThan(N);

    const second = startService('services/scorer/main.ts', env);
    running.push(second);
    const stats = await producing;
    await producer.disconnect();
    await waitUntil('the restarted scorer to catch up', async () => (await groupLag(groupId, topics.applications!)) === 0, 120_000, 500);

    const decisions = await readTopic(topics.decisions!, { expected: 9500 });
    const ids = (await decodeValues<{ application_id: string }>(registry, decisions.messages)).map((d) => d.application_id);
    expect(ids.length, second.output()).toBe(9500);
    expect(new Set(ids).size).toBe(9500);
    expect(new Set(ids)).toEqual(new Set(stats.validIds));
    const dead = await readTopic(topics.deadLetters!, { expected: 500 });
    expect(dead.messages.length).toBe(500);
    const logs = await readTopic(topics.scoringLog!, { expected: 9500 });
    expect(logs.messages.length).toBe(9500);

    second.child.kill('SIGTERM');
    const stopped = await second.exited;
    expect(stopped.code, second.output()).toBe(0);
  });
});
