/**
 * Simulator CLI for upstream testing.
 *
 *   produce  --count N (default 1000; 0 = until Ctrl-C) --rate R/s --invalid SHARE --seed S
 *            --shock-from I [--shock-until J] --file applications.jsonl [--no-demographics]
 *            (generated applicants' protected attributes go to applicant-demographics, docs/fairness.md)
 *            --disparity-from I [--disparity-until J] [--disparity-group race_ethnicity=BLACK]
 *            [--disparity-income-factor 0.5]: applications I..J-1 (J: none, for good) of that group get their
 *            income multiplied by the factor, after the group was drawn (services/simulator/disparity.ts), so a
 *            model that never sees the group approves it less and the fairness windows should flag it
 *   tail     print committed decisions as they arrive (--from-beginning to replay)
 */
import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createKafka } from '../shared/kafka/client.ts';
import { connectionFromEnv } from '../shared/kafka/connection.ts';
import type { IdempotentProducer } from '../shared/kafka/producers.ts';
import { env, parseDuration, parseEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { prepareCluster } from '../shared/startup.ts';
import { AvroRegistry } from '../shared/registry.ts';
import type { Application } from './invalid.ts';
import { produceApplications, type ApplicationSource } from './producer.ts';
import { drawDefault, OutcomePublisher, OutcomeSchedule } from './outcomes.ts';
import { demographicsOf, populationSource, populationSpec, type SourceOptions } from './source.ts';
import { DEFAULT_DISPARITY_GROUP, DEFAULT_DISPARITY_INCOME_FACTOR, describeDisparity, parseDisparity, type Disparity } from './disparity.ts';
import { fairLending } from '../shared/fair-lending.ts';

async function readJsonLines(path: string): Promise<Application[]> {
  const rows: Application[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path) })) {
    line++;
    if (!text.trim()) continue;
    try {
      rows.push(JSON.parse(text) as Application);
    } catch (e) {
      throw new Error(`${path}:${line}: not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  return rows;
}

async function produce(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '0' },
      invalid: { type: 'string', default: '0' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      'shock-from': { type: 'string' },
      'shock-until': { type: 'string' },
      file: { type: 'string' },
      'outcomes-delay': { type: 'string' },
      'no-demographics': { type: 'boolean', default: false },
      'disparity-from': { type: 'string' },
      'disparity-until': { type: 'string' },
      'disparity-group': { type: 'string' },
      'disparity-income-factor': { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined, min: number, max = Infinity): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`--${name} must be a number in [${min}, ${max}], got "${v}"`, [`--${name}`]);
    return n;
  };
  // Every option and variable is checked before anything is contacted (a bad one exits 2).
  let count = num('count', values.count, 0)!;
  const seed = num('seed', values.seed, 0)!;
  const shockFrom = num('shock-from', values['shock-from'], 0);
  const shockUntil = num('shock-until', values['shock-until'], 0);
  const rate = num('rate', values.rate, 0) || undefined;
  const delayMs = values['outcomes-delay'] === undefined ? undefined : parseDuration(values['outcomes-delay']);
  if (values['outcomes-delay'] !== undefined && delayMs === undefined) throw new ConfigError(`--outcomes-delay must be a duration like 30s, got "${values['outcomes-delay']}"`, ['--outcomes-delay']);
  const disparity = disparityOption(values);
  if (disparity && values.file) throw new ConfigError('--disparity-from needs generated applicants (their groups), not --file', ['--disparity-from', '--file']);
  const conn = connectionFromEnv();
  // Topic creation is the admin's job on a secured cluster: SIMULATOR_CREATE_TOPICS=false only checks them.
  const { SIMULATOR_CREATE_TOPICS: create } = parseEnv({ SIMULATOR_CREATE_TOPICS: env.bool(true) }, process.env);
  const kafka = createKafka(conn, 'simulator');
  const registry = new AvroRegistry(conn.registry);
  const withOutcomes = values['outcomes-delay'] !== undefined;
  // Generated applicants' demographics go to their own topic (never a feature; only the drift monitor reads it).
  const withDemographics = !values.file && !values['no-demographics'];
  const roles = ['applications', ...(withOutcomes ? ['outcomes'] : []), ...(withDemographics ? ['demographics'] : [])];
  await prepareCluster(kafka, conn, { names: conn.topics, roles }, { create, createVar: 'SIMULATOR_CREATE_TOPICS' }, createLogger('simulator', process.env.LOG_LEVEL ?? 'warn'));
  const schemaId = await registry.registerValueSchema(conn.topics.applications, 'loan-application');
  await registry.warm(schemaId);

  let source: ApplicationSource;
  let sourceOptions: SourceOptions | undefined;
  const shockOpts = { ...(shockFrom !== undefined ? { shockFrom } : {}), ...(shockUntil !== undefined ? { shockUntil } : {}) };
  if (values.file) {
    const rows = await readJsonLines(values.file);
    source = (i) => rows[i % rows.length]!;
    if (count === 1000) count = rows.length;
  } else {
    sourceOptions = { seed, runId: randomUUID().slice(0, 8), ...shockOpts, ...(disparity ? { disparity } : {}) };
    source = populationSource(sourceOptions);
    if (disparity) process.stderr.write(`disparity: ${describeDisparity(disparity)} for applications ${disparity.from}..${disparity.until === undefined ? '(for good)' : disparity.until - 1}\n`);
  }
  let companion: { topic: string; message: (i: number, app: Application) => { key: string; value: Buffer } } | undefined;
  if (withDemographics && sourceOptions) {
    const demographicsSchema = await registry.registerValueSchema(conn.topics.demographics!, 'applicant-demographics');
    await registry.warm(demographicsSchema);
    const o = sourceOptions;
    companion = { topic: conn.topics.demographics!, message: (i, app) => ({ key: String(app.application_id), value: registry.encodeSync(demographicsSchema, demographicsOf(o, i, app)) }) };
  }
  const producer = kafka.producer();
  await producer.connect();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  // Late outcomes: each valid application's default is drawn from the population's true probability and
  // published on loan-outcomes after the delay.
  let outcomes: OutcomePublisher | undefined;
  let outcomeProducer: IdempotentProducer | undefined;
  if (delayMs !== undefined) {
    const outcomeSchema = await registry.registerValueSchema(conn.topics.outcomes, 'loan-outcome');
    await registry.warm(outcomeSchema);
    outcomeProducer = kafka.producer();
    await outcomeProducer.connect();
    outcomes = new OutcomePublisher(outcomeProducer, registry, outcomeSchema, conn.topics.outcomes, new OutcomeSchedule());
    outcomes.start();
  }
  // The shock moves feature distributions only; the true default model is the same.
  const spec = populationSpec();
  const stats = await produceApplications(producer, registry, schemaId, source, {
    topic: conn.topics.applications,
    count: count === 0 ? Infinity : count,
    ...(rate ? { ratePerSec: rate } : {}),
    invalidShare: num('invalid', values.invalid, 0, 1)!,
    signal: ac.signal,
    ...(companion ? { companion } : {}),
    onProgress: (s) => process.stderr.write(`\rproduced ${s.sent} (${s.invalid} invalid)`),
    ...(outcomes
      ? { onSent: (i: number, app: Application) => outcomes!.schedule.schedule(String(app.application_id), drawDefault(app, spec, seed, i), Date.now() + delayMs!) }
      : {}),
  });
  if (outcomes) {
    process.stderr.write(`\nwaiting for the last ${outcomes.schedule.pending} outcomes (delay ${delayMs} ms)...\n`);
    while (outcomes.schedule.pending > 0 && !ac.signal.aborted) await new Promise((r) => setTimeout(r, 250));
    await outcomes.stop();
    await outcomes.flush(Number.MAX_SAFE_INTEGER).catch(() => undefined);
    await outcomeProducer?.disconnect();
    process.stderr.write(`published ${outcomes.published} outcomes to ${conn.topics.outcomes}\n`);
  }
  await producer.disconnect();
  process.stderr.write(`\nproduced ${stats.sent} applications to ${conn.topics.applications} (${stats.invalid} invalid: ${JSON.stringify(stats.byKind)})\n`);
}

/** The disparity scenario of the --disparity-* options (none without --disparity-from); a bad value names its flag. */
function disparityOption(values: Record<string, string | boolean | undefined>): Disparity | undefined {
  const raw = (k: string) => values[k] as string | undefined;
  if (raw('disparity-from') === undefined) {
    const orphan = ['disparity-until', 'disparity-group', 'disparity-income-factor'].find((k) => raw(k) !== undefined);
    if (orphan) throw new ConfigError(`--${orphan} needs --disparity-from (the first application index hit)`, [`--${orphan}`]);
    return undefined;
  }
  const number = (k: string) => {
    const n = raw(k)?.trim() ? Number(raw(k)) : Number.NaN;
    if (!Number.isFinite(n)) throw new ConfigError(`--${k} must be a number, got "${raw(k)}"`, [`--${k}`]);
    return n;
  };
  return parseDisparity(
    {
      from: number('disparity-from'),
      ...(raw('disparity-until') !== undefined ? { until: number('disparity-until') } : {}),
      group: raw('disparity-group') ?? DEFAULT_DISPARITY_GROUP,
      incomeFactor: raw('disparity-income-factor') === undefined ? DEFAULT_DISPARITY_INCOME_FACTOR : number('disparity-income-factor'),
    },
    fairLending().attributes,
    { from: '--disparity-from', until: '--disparity-until', group: '--disparity-group', incomeFactor: '--disparity-income-factor' },
  );
}

async function tail(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'from-beginning': { type: 'boolean', default: false } } });
  const conn = connectionFromEnv();
  const kafka = createKafka(conn, 'tail');
  const registry = new AvroRegistry(conn.registry);
  const consumer = kafka.consumer({ groupId: `tail-${randomUUID()}`, topics: [conn.topics.decisions], fromBeginning: values['from-beginning'], sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, maxBatchMessages: 500 });
  await consumer.connect();
  const stop = async () => {
    await consumer.disconnect();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  consumer.run(async ({ messages }) => {
    for (const message of messages) {
      const r = await registry.decode(message.value);
      if (!r.ok) {
        console.log(`undecodable decision at offset ${message.offset}: ${r.error.reason}`);
        continue;
      }
      const d = r.value.value as Record<string, unknown>;
      console.log(`${d.application_id}\tp=${(d.probability_of_default as number).toFixed(4)}\t${d.risk_category}\t${d.decision}\tmodel v${d.model_version}`);
    }
  });
}

const [cmd, ...rest] = process.argv.slice(2);
const run = cmd === 'produce' ? produce : cmd === 'tail' ? tail : undefined;
if (!run) {
  console.error(
    'usage: simulator produce [--count N] [--rate R] [--invalid SHARE] [--seed S] [--shock-from I [--shock-until J]] [--file F] [--outcomes-delay D] [--no-demographics]\n' +
      '                         [--disparity-from I [--disparity-until J] [--disparity-group race_ethnicity=BLACK] [--disparity-income-factor 0.5]]\n' +
      '       simulator tail [--from-beginning]',
  );
  process.exit(2);
}
// A configuration or usage error (a bad variable or option) exits 2, like the services; anything else 1.
const isUsageError = (e: unknown) => e instanceof ConfigError || /^ERR_PARSE_ARGS/.test(String((e as { code?: unknown }).code ?? ''));
run(rest).catch((e: unknown) => {
  console.error(`simulator: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(isUsageError(e) ? 2 : 1);
});
