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
      LOG_LEVEL: 'info',
    });

    const first = startService('services/scorer/main.ts', env);
    running.push(first);
    const producer = kafkaClient('crash-producer').producer();
    await producer.connect();
    // Two halves: the second is produced only after the kill, so the kill is mid-stream however fast or slow
    // the first scorer (and the admin reads of its offsets) are.
    const half = (runId: string) =>
      produceApplications(producer, registry, schemaId, populationSource({ seed: 21, runId }), { topic: topics.applications!, count: N / 2, ratePerSec: 2000, invalidShare: 0.05, collectIds: true });
    const producingFirst = half('crash-a');

    // (A fresh admin client may not see the new topic yet on a busy machine: asked again.)
    await waitUntil('the first scorer to commit 2,000 offsets', async () => (await committed(groupId, topics.applications!).catch(() => 0)) >= 2000, 90_000, 100);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const atKill = await committed(groupId, topics.applications!);
    expect(atKill).toBeLessThanOrEqual(N / 2);

    const before = await producingFirst;
    const second = startService('services/scorer/main.ts', env);
    running.push(second);
    const after = await half('crash-b');
    await producer.disconnect();
    await waitUntil('the restarted scorer to catch up', async () => (await groupLag(groupId, topics.applications!)) === 0, 120_000, 500);

    const valid = [...before.validIds!, ...after.validIds!];
    const invalid = before.invalid + after.invalid;
    expect(valid.length + invalid).toBe(N);
    const decisions = await readTopic(topics.decisions!, { expected: valid.length });
    const ids = (await decodeValues<{ application_id: string }>(registry, decisions.messages)).map((d) => d.application_id);
    expect(ids.length, second.output()).toBe(valid.length);
    expect(new Set(ids).size).toBe(valid.length);
    expect(new Set(ids)).toEqual(new Set(valid));
    const dead = await readTopic(topics.deadLetters!, { expected: invalid });
    expect(dead.messages.length).toBe(invalid);
    const logs = await readTopic(topics.scoringLog!, { expected: valid.length });
    expect(logs.messages.length).toBe(valid.length);

    second.child.kill('SIGTERM');
    const stopped = await second.exited;
    expect(stopped.code, second.output()).toBe(0);
  });
});
