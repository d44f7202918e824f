/**
 * Faults of the infrastructure, on a single-broker stack this file owns (test/helpers/fault-stack.ts):
 * - the broker killed with kill -9 mid-stream and restarted: the scorer recovers by itself (no process
 *   restart by the test), its first new commit comes ≤ 30 s after the broker accepts connections again,
 *   and its model-updates watcher too: a promotion announced after the restart is swapped in;
 * - the registry down for 20 s mid-stream: the scorer goes on with its cached schemas.
 * Each asserts exactly one decision and one scoring-log record per valid application, one dead letter per
 * invalid one, and reports the stall.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { decodeValues, kafkaClient, readTopic, serviceEnv, useStack, waitUntil } from '../helpers/cluster.ts';
import { FaultStack } from '../helpers/fault-stack.ts';
import { modelSha, relabelledModel } from '../helpers/models.ts';
import { faultRun, joined, lagOf, sleep, verdict, type FaultRun } from './harness.ts';

const fs = new FaultStack();
const runs: FaultRun[] = [];

// Part of `make test` (~165 s for this file on the loaded 2-core machine, most of it the broker's and the
// registry's own restart); FAULT_INFRA=0 skips it.
describe.skipIf(process.env.FAULT_INFRA === '0')('infrastructure faults (own single-broker stack)', () => {
  beforeAll(async () => {
    const e = await fs.up();
    useStack({ ...e, mode: 'local' });
  }, 180_000);
  afterAll(async () => {
    for (const r of runs) r.killAll();
    useStack(undefined);
    await fs.down();
  }, 60_000);

  it('broker kill -9 and restart mid-stream at ~2,000/s: recovers by itself, first commit <= 30 s after the broker is back', async () => {
    const run = await faultRun('broker', (t) => serviceEnv(t), ['modelUpdates', 'modelEvents']);
    runs.push(run);
    const updateSchema = await run.registry.registerValueSchema(run.topics.modelUpdates!, 'model-update');
    await run.registry.warm(updateSchema);
    // This scorer also follows promotions: its model-updates watcher must survive the broker restart too.
    const scorer = run.scorer('broker-a', { SCORER_FOLLOW_MODEL_UPDATES: 'true' });
    await joined(scorer);
    const first = await run.produce(6000, 2000, { seed: 31 });
    await sleep(500); // mid-stream: the scorer is still working through the backlog
    await fs.killKafka();
    const killedAt = Date.now();
    await sleep(5000);
    await fs.startKafka();
    const backAt = Date.now();
    const second = await run.produce(4000, 2000, { seed: 32 });
    await waitUntil('the scorer to catch up after the broker restart', async () => (await lagOf(run)) === 0, 120_000, 500);
    const stats = { ...second, sent: first.sent + second.sent, invalid: first.invalid + second.invalid, validIds: [...first.validIds!, ...second.validIds!] };
    const v = await verdict(run, stats);
    const firstAfter = Math.min(...v.scoredAt.filter((t) => t >= backAt));
    const recoverySeconds = Math.round((firstAfter - backAt) / 100) / 10;
    console.log(`[broker-restart] ${JSON.stringify({ ...v, scoredAt: undefined, outageSeconds: (backAt - killedAt) / 1000, firstCommitAfterBrokerBackSeconds: recoverySeconds })}`);
    expect(v.duplicates).toBe(0);
    expect(v.lost).toBe(0);
    expect(v.logs).toBe(stats.validIds.length);
    expect(v.uniqueLogs).toBe(stats.validIds.length);
    expect(v.deadLetters).toBe(stats.invalid);
    expect(recoverySeconds).toBeLessThanOrEqual(30);
    expect(scorer.child.exitCode, 'the scorer was not restarted: it must still be the same process').toBeNull();
    expect(scorer.output()).toMatch(/kafka session recovered|joined consumer group/);

    // A promotion announced after the restart reaches the same process: it swaps and says so on model-events.
    const v2 = relabelledModel('2');
    const announcer = kafkaClient('broker-announcer').producer();
    await announcer.connect();
    const announcedAt = Date.now();
    await announcer.send([
      {
        topic: run.topics.modelUpdates!,
        messages: [
          {
            key: 'credit-default-classifier',
            value: run.registry.encodeSync(updateSchema, {
              model_name: 'credit-default-classifier', version: '2', artifact_uri: pathToFileURL(v2).href, sha256: modelSha(v2), action: 'PROMOTE',
              previous_version: '1', metrics: {}, reason: 'after the broker restart', announced_at: announcedAt, announced_by: 'broker fault test',
            }),
          },
        ],
      },
    ]);
    await announcer.disconnect();
    const events = await decodeValues<{ instance: string; version: string; outcome: string }>(run.registry, (await readTopic(run.topics.modelEvents!, { expected: 1, timeoutMs: 60_000 })).messages);
    console.log(`[broker-restart] model-events after the restart: ${JSON.stringify(events)} (${Date.now() - announcedAt} ms after the announcement)`);
    expect(events).toContainEqual(expect.objectContaining({ instance: 'scorer@broker-a', version: '2', outcome: 'ACTIVATED' }));
    scorer.child.kill('SIGTERM');
    expect((await scorer.exited).code).toBe(0);
  });

  it('registry down 20 s mid-stream: scoring goes on with cached schemas', async () => {
    const run = await faultRun('registry', (t) => serviceEnv(t));
    runs.push(run);
    const scorer = run.scorer('registry-a');
    await joined(scorer);
    // The scorer registered its output schemas at start-up; the same texts give the same ids. Cached here,
    // the verdict decodes without waiting for the registry to be back.
    for (const [topic, schema] of [
      [run.topics.decisions!, 'loan-decision'],
      [run.topics.scoringLog!, 'scoring-log'],
      [run.topics.deadLetters!, 'dead-letter'],
    ] as const) {
      await run.registry.warm(await run.registry.registerValueSchema(topic, schema));
    }
    const producing = run.produce(6000, 250, { seed: 41 });
    await sleep(3000);
    await fs.killRegistry();
    const downAt = Date.now();
    await sleep(20_000);
    const upAt = Date.now();
    const restarting = fs.startRegistry();
    const stats = await producing;
    await waitUntil('the scorer to catch up', async () => (await lagOf(run)) === 0, 60_000, 500);
    const v = await verdict(run, stats);
    await restarting;
    const whileDown = v.scoredAt.filter((t) => t > downAt && t < upAt).length;
    console.log(`[registry-down] ${JSON.stringify({ ...v, scoredAt: undefined, decidedWhileRegistryDown: whileDown })}`);
    // ~20 s at 250/s: the scorer kept deciding while the registry was down, not only after it came back.
    expect(whileDown).toBeGreaterThan(3000);
    expect(v.duplicates).toBe(0);
    expect(v.lost).toBe(0);
    expect(v.logs).toBe(stats.validIds!.length);
    expect(v.deadLetters).toBe(stats.invalid);
    expect(v.stallSeconds).toBeLessThan(5);
    scorer.child.kill('SIGTERM');
    expect((await scorer.exited).code).toBe(0);
  });
});
