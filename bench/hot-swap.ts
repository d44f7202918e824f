/**
 * The scorer's throughput around a hot swap (issue: batch pipeline). One scorer (exactly-once, in this
 * process) works through a pre-loaded backlog; a few seconds in, a genuinely different model version is
 * announced on model-updates. Reported: applications/s in 1 s buckets, the mean rate over the 5 s before
 * the announcement vs the 5 s starting at it, the worst 1 s bucket around it, and the swap's own duration
 * (fetch + verify + load + warm-up). Not a test; `make bench-hot-swap` runs it.
 *
 *   node --import tsx bench/hot-swap.ts [--quick] [--n 300000] [--swap-after 6]   (KAFKA_BROKERS / SCHEMA_REGISTRY_URL or the local stack)
 *
 * --quick: 120,000 applications, the swap 5 s in (`make bench ARGS="--quick"` passes it on).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadScorerConfig } from '../services/scorer/config.ts';
import { ScorerService } from '../services/scorer/service.ts';
import { createKafka } from '../services/shared/kafka/client.ts';
import { ensureTopics } from '../services/shared/kafka/topics.ts';
import { AvroRegistry } from '../services/shared/registry.ts';
import { REPO_ROOT } from '../services/shared/schemas.ts';
import { produceApplications } from '../services/simulator/producer.ts';
import { populationSource } from '../services/simulator/source.ts';
import { run } from '../support/processes.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, n: { type: 'string' }, 'swap-after': { type: 'string' } } });
const N = Number(values.n ?? (values.quick ? 120_000 : 300_000));
const SWAP_AFTER_S = Number(values['swap-after'] ?? (values.quick ? 5 : 6));

async function trainV2(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-model-v2-'));
  const r = await run(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-m', 'pipeline.train_initial', '--out', dir, '--rows', '20000', '--seed', '7']);
  if (r.status !== 0) throw new Error(`training v2 failed: ${r.stderr}`);
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  meta.version = '2';
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify(meta));
  return dir;
}

async function main(): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const env = {
    ...process.env,
    TOPIC_APPLICATIONS: `bench-swap-${id}-apps`,
    TOPIC_DECISIONS: `bench-swap-${id}-decisions`,
    TOPIC_SCORING_LOG: `bench-swap-${id}-log`,
    TOPIC_DEAD_LETTERS: `bench-swap-${id}-dlq`,
    TOPIC_MODEL_UPDATES: `bench-swap-${id}-model-updates`,
    TOPIC_MODEL_EVENTS: `bench-swap-${id}-model-events`,
    SCORER_GROUP_ID: `bench-swap-${id}`,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  const config = loadScorerConfig(env);
  const topics = config.connection.topics;
  const kafka = createKafka(config.connection, 'bench-swap');
  const admin = kafka.admin();
  try {
    await ensureTopics(admin, topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents']);
  } finally {
    admin.disconnect();
  }
  const registry = new AvroRegistry(config.connection.registry);
  const appSchema = await registry.registerValueSchema(topics.applications, 'loan-application');
  const updateSchema = await registry.registerValueSchema(topics.modelUpdates, 'model-update');
  await Promise.all([registry.warm(appSchema), registry.warm(updateSchema)]);
  const v2 = await trainV2();
  const producer = kafka.producer();
  await producer.connect();
  process.stderr.write(`pre-loading ${N} applications...\n`);
  await produceApplications(producer, registry, appSchema, populationSource({ seed: 17, runId: id }), { topic: topics.applications, count: N, batchSize: 2000 });

  const scorer = new ScorerService(config, pino({ level: 'warn' }));
  let done = 0;
  let swapMs: number | undefined;
  let swapAt: number | undefined;
  scorer.events.on('batch.end', ({ payload }) => {
    if (payload.ok) done += payload.size;
  });
  scorer.events.on('model.swap', ({ payload, timestamp }) => {
    if (payload.result === 'activated') [swapMs, swapAt] = [payload.durationMs, timestamp];
  });
  await scorer.start();
  const t0 = Date.now();
  const samples: { t: number; done: number }[] = [{ t: t0, done: 0 }];
  const timer = setInterval(() => samples.push({ t: Date.now(), done }), 100);
  let announcedAt: number | undefined;
  const announce = setTimeout(() => {
    announcedAt = Date.now();
    const value = {
      model_name: 'credit-default-classifier',
      version: '2',
      artifact_uri: pathToFileURL(v2).href,
      sha256: JSON.parse(readFileSync(join(v2, 'metadata.json'), 'utf8')).model_sha256,
      action: 'PROMOTE',
      previous_version: '1',
      metrics: {},
      reason: 'bench',
      announced_at: announcedAt,
      announced_by: 'bench/hot-swap.ts',
    };
    void producer.send([{ topic: topics.modelUpdates, messages: [{ key: value.model_name, value: registry.encodeSync(updateSchema, value) }] }]);
  }, SWAP_AFTER_S * 1000);
  while (done < N) await new Promise((r) => setTimeout(r, 50));
  clearInterval(timer);
  clearTimeout(announce);
  samples.push({ t: Date.now(), done });
  await scorer.stop();
  await producer.disconnect();

  const rateBetween = (from: number, to: number) => {
    const at = (t: number) => {
      const s = samples.filter((x) => x.t <= t).pop() ?? samples[0]!;
      return s.done;
    };
    return (at(to) - at(from)) / ((to - from) / 1000);
  };
  if (announcedAt === undefined) throw new Error(`the backlog was done before the announcement at ${SWAP_AFTER_S} s; raise --n`);
  const before = rateBetween(announcedAt - 5000, announcedAt);
  const around = rateBetween(announcedAt, announcedAt + 5000);
  const buckets: number[] = [];
  for (let t = t0; t + 1000 <= samples[samples.length - 1]!.t; t += 1000) buckets.push(Math.round(rateBetween(t, t + 1000)));
  const aroundBuckets = buckets.slice(Math.max(0, Math.floor((announcedAt - t0) / 1000) - 1), Math.floor((announcedAt - t0) / 1000) + 5);
  const result = {
    scenario: 'hot-swap',
    n: N,
    loadavg1: loadavg()[0],
    rate_before_5s: Math.round(before),
    rate_from_announcement_5s: Math.round(around),
    dip_ratio: Math.round((around / before) * 1000) / 1000,
    worst_1s_bucket_around_swap: Math.min(...aroundBuckets),
    swap_duration_ms: swapMs === undefined ? null : Math.round(swapMs),
    announcement_to_serving_ms: swapAt === undefined ? null : swapAt - announcedAt,
    per_second: buckets,
  };
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'hot-swap.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(
    `hot swap: ${result.rate_before_5s}/s in the 5 s before the announcement, ${result.rate_from_announcement_5s}/s in the 5 s from it (ratio ${result.dip_ratio}); ` +
      `worst 1 s around it ${result.worst_1s_bucket_around_swap}/s; swap took ${result.swap_duration_ms} ms, serving ${result.announcement_to_serving_ms} ms after the announcement\n` +
      `per second: ${buckets.join(' ')}\n`,
  );
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
