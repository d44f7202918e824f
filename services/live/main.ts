/**
 * `make start`: the scorer and the simulator feeding it, with a live view in the terminal until Ctrl-C.
 * Scorer logs go to .local/logs/scorer.log so they do not garble the view.
 *
 * Environment: everything the scorer takes (see README), plus LIVE_RATE (applications/s, default 300) and
 * LIVE_INVALID (share of deliberately invalid messages, default 0.02).
 *
 * The drift monitor runs here too (logs: .local/logs/drift.log, report on DRIFT_HTTP_PORT, default 8090),
 * with the settings of services/drift/http/live-panel.ts liveDriftEnv (30 s windows, the default PSI bands 0.1 / 0.25),
 * and the simulator injects the macro shock
 * of schemas/population.json after LIVE_SHOCK_AFTER applications (default 30000, 0 = never) for
 * LIVE_SHOCK_FOR applications (default 36000, 0 = for good): shock -> drift alerts -> recovery, on screen.
 *
 * Fair lending (docs/fairness.md): the simulator publishes each generated applicant's demographics on
 * applicant-demographics (never a feature; the drift monitor joins them to the decisions for its fairness
 * windows), and injects the disparity scenario of services/simulator/disparity.ts, apart from the shock:
 * LIVE_DISPARITY_AFTER applications (default: 30000 after the shock ends, 96000 with the default shock; 0 =
 * never), for LIVE_DISPARITY_FOR (default 24000, 0 = for good), the incomes of LIVE_DISPARITY_GROUP (default
 * race_ethnicity=BLACK) multiplied by LIVE_DISPARITY_INCOME_FACTOR (default 0.5; services/live/scenario.ts).
 * Each fairness window the monitor reads back adds a story line (lowest AIR per attribute, FLAGGED), a
 * FAIRNESS ALERT / FAIRNESS RECOVERY line when it raises / clears the alert, and the status area shows the
 * latest window's AIR per group (services/live/fairness-line.ts): disparity -> fairness alert -> recovery.
 *
 * Closing the loop: the simulator publishes each valid application's outcome on loan-outcomes after
 * LIVE_OUTCOME_DELAY (default 10s); an ALERT on the score or on two features makes the drift monitor run
 * `make retrain` (extract from Kafka -> train -> gate -> export -> register -> promote), and the scorer's
 * hot swap of the promoted version shows in the view (set DRIFT_RETRAIN=notify to only notify).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { DriftAlertValue, DriftWindowValue } from '../drift/windows/codec.ts';
import type { FairnessWindowValue } from '../drift/fairness/codec.ts';
import { loadDriftConfig } from '../drift/config.ts';
import { liveDriftEnv, renderDriftPanel } from '../drift/http/live-panel.ts';
import { DriftService } from '../drift/service.ts';
import { loadScorerConfig } from '../scorer/config.ts';
import { ScorerService } from '../scorer/service.ts';
import { env, parseEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { fairLending } from '../shared/fair-lending.ts';
import { createMissingTopics } from '../shared/startup.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { AvroRegistry } from '../shared/registry.ts';
import { REPO_ROOT } from '../shared/schemas.ts';
import { produceApplications, type ProduceStats } from '../simulator/producer.ts';
import { drawDefault, OutcomePublisher, OutcomeSchedule } from '../simulator/outcomes.ts';
import { demographicsOf, populationSource, populationSpec, type SourceOptions } from '../simulator/source.ts';
import type { Disparity } from '../simulator/disparity.ts';
import { percentile, RateMeter, renderLive } from './view.ts';
import { LiveScreen } from './screen.ts';
import { Narrator, type StoryEvent } from './story.ts';
import { renderFairnessPanel } from './fairness-line.ts';
import { LIVE_DISPARITY_ENV, liveDisparity } from './scenario.ts';

/** The macro shock's index range from LIVE_SHOCK_AFTER / LIVE_SHOCK_FOR (none when LIVE_SHOCK_AFTER=0). */
function shockRange(after: number, length: number): { shockFrom?: number; shockUntil?: number } {
  return after > 0 ? { shockFrom: after, ...(length > 0 ? { shockUntil: after + length } : {}) } : {};
}

async function main(): Promise<void> {
  // Fairness windows finalized before this run (read back from the topic's recent history) are not news.
  const launchedAt = Date.now();
  let live, config, driftConfig, disparity: Disparity | undefined;
  try {
    live = parseEnv(
      { LIVE_RATE: env.number(300, 1, 1_000_000), LIVE_INVALID: env.number(0.02, 0, 1), LIVE_SHOCK_AFTER: env.int(30_000, 0), LIVE_SHOCK_FOR: env.int(36_000, 0), LIVE_OUTCOME_DELAY: env.duration('10s'), ...LIVE_DISPARITY_ENV },
      process.env,
    );
    disparity = liveDisparity(live, shockRange(live.LIVE_SHOCK_AFTER, live.LIVE_SHOCK_FOR), fairLending().attributes);
    config = loadScorerConfig(process.env);
    driftConfig = loadDriftConfig(liveDriftEnv(process.env));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const logDir = join(REPO_ROOT, '.local', 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = pino({ level: config.logLevel, base: { service: 'scorer' } }, pino.destination(join(logDir, 'scorer.log')));
  const scorer = new ScorerService(config, log);

  let scored = 0;
  const decisions: Record<string, number> = {};
  const dead: Record<string, number> = {};
  let lag: number | undefined;
  let latencies: number[] = [];
  scorer.events.on('batch.end', ({ payload }) => {
    if (payload.ok) scored += payload.scored;
  });
  scorer.events.on('decisions', ({ payload }) => {
    for (const [k, n] of Object.entries(payload.byDecision)) decisions[k] = (decisions[k] ?? 0) + n;
    latencies.push(...payload.endToEndMs);
    if (latencies.length > 20_000) latencies = latencies.slice(-10_000);
  });
  scorer.events.on('dead-letters', ({ payload }) => {
    for (const [k, n] of Object.entries(payload.byCode)) dead[k] = (dead[k] ?? 0) + n;
  });
  scorer.events.on('lag', ({ payload }) => (lag = payload.reduce((s, l) => s + l.lag, 0)));

  process.stdout.write(`starting the scorer against ${config.connection.brokers.join(',')} (logs: .local/logs/scorer.log)...\n`);
  await scorer.start();

  const driftLog = pino({ level: driftConfig.logLevel, base: { service: 'drift' } }, pino.destination(join(logDir, 'drift.log')));
  const drift = new DriftService(driftConfig, driftLog);
  let driftLatest: DriftWindowValue | undefined;
  const driftAlerts: DriftAlertValue[] = [];
  const alertCounts: Record<string, number> = {};
  drift.events.on('view.window', ({ payload }) => {
    if (payload.latest) driftLatest = payload.window;
  });
  // The story: one line per event, in order, printed above the status area (services/live/story.ts).
  const storyOut: string[] = [];
  const narrator = new Narrator();
  const tell = (e: StoryEvent) => storyOut.push(...narrator.lines(e));
  let fairnessLatest: FairnessWindowValue | undefined;
  drift.events.on('view.fairness', ({ payload }) => {
    if (payload.latest) fairnessLatest = payload.window;
    if (payload.window.finalized_at >= launchedAt) tell({ kind: 'fairness', at: Date.now(), window: payload.window });
  });
  let alertBatch: DriftAlertValue[] = [];
  drift.events.on('reference.scheduled', ({ payload: { epoch: e } }) =>
    tell({ kind: 'promoted', at: Date.now(), version: e.reference.version, action: e.action, by: e.by, reason: e.reason, metrics: e.metrics ?? {}, fromWindow: e.fromWindow }),
  );
  drift.events.on('view.alert', ({ payload: { alert } }) => {
    if (alert.kind !== 'DRIFT' || alert.severity === 'ALERT') alertBatch.push(alert);
    driftAlerts.push(alert);
    if (driftAlerts.length > 20) driftAlerts.shift();
    alertCounts[alert.kind] = (alertCounts[alert.kind] ?? 0) + 1;
  });
  process.stdout.write(`starting the drift monitor (logs: .local/logs/drift.log)...\n`);
  await drift.start();
  const shock = shockRange(live.LIVE_SHOCK_AFTER, live.LIVE_SHOCK_FOR);

  const kafka = createKafka(config.connection, 'live-simulator');
  const registry = new AvroRegistry(config.connection.registry);
  const schemaId = await registry.registerValueSchema(config.connection.topics.applications, 'loan-application');
  await registry.warm(schemaId);
  const producer = kafka.producer();
  await producer.connect();
  const outcomeSchema = await registry.registerValueSchema(config.connection.topics.outcomes, 'loan-outcome');
  await registry.warm(outcomeSchema);
  const outcomeProducer = kafka.producer();
  await outcomeProducer.connect();
  const outcomes = new OutcomePublisher(outcomeProducer, registry, outcomeSchema, config.connection.topics.outcomes, new OutcomeSchedule());
  outcomes.start();
  // Each valid application's demographics go to applicant-demographics in the same send as its batch (the
  // simulator CLI's companion): never a feature, only the drift monitor reads them (docs/fairness.md).
  const demographicsTopic = config.connection.topics.demographics!;
  if (config.createTopics) await createMissingTopics(kafka, config.connection.topics, ['demographics'], log);
  const demographicsSchema = await registry.registerValueSchema(demographicsTopic, 'applicant-demographics');
  await registry.warm(demographicsSchema);
  const spec = populationSpec();
  const seed = Date.now() % 1e6;
  const sourceOptions: SourceOptions = { seed, runId: randomUUID().slice(0, 8), ...shock, ...(disparity ? { disparity } : {}) };
  const modelNotes: string[] = [];
  scorer.events.on('model.swap', ({ payload, timestamp }) => {
    tell({ kind: 'swap', at: timestamp, ok: payload.result === 'activated', version: payload.version, ...(payload.previousVersion ? { previous: payload.previousVersion } : {}), ms: payload.durationMs, reason: payload.reason });
    const at = new Date(timestamp).toISOString().slice(11, 19);
    modelNotes.push(
      payload.result === 'activated'
        ? `${at} HOT SWAP  model v${payload.previousVersion} -> v${payload.version} in ${Math.round(payload.durationMs)} ms (${payload.reason})`
        : `${at} REFUSED   model v${payload.version}: ${payload.reason}`,
    );
    if (modelNotes.length > 3) modelNotes.shift();
  });
  const ac = new AbortController();
  let stats: ProduceStats = { sent: 0, invalid: 0, byKind: {} };
  const producing = produceApplications(producer, registry, schemaId, populationSource(sourceOptions), {
    topic: config.connection.topics.applications,
    count: Infinity,
    ratePerSec: live.LIVE_RATE,
    invalidShare: live.LIVE_INVALID,
    signal: ac.signal,
    companion: { topic: demographicsTopic, message: (i, app) => ({ key: String(app.application_id), value: registry.encodeSync(demographicsSchema, demographicsOf(sourceOptions, i, app)) }) },
    onProgress: (s) => (stats = { ...s }),
    onSent: (i, app) => outcomes.schedule.schedule(String(app.application_id), drawDefault(app, spec, seed, i), Date.now() + live.LIVE_OUTCOME_DELAY),
  });

  const started = Date.now();
  // From what is counted now: an earlier backlog is not one interval's rate.
  const meter = new RateMeter(started, { produced: stats.sent, scored });
  const screen = new LiveScreen(process.stdout, process.stdout.isTTY && !process.argv.includes('--no-tty'));
  let shockSeen = { started: false, ended: false };
  const disparitySeen = { started: false, ended: false };
  const render = () => {
    const now = Date.now();
    if (shock.shockFrom !== undefined && !shockSeen.started && stats.sent >= shock.shockFrom) {
      shockSeen = { ...shockSeen, started: true };
      tell({ kind: 'shock', at: now, started: true, produced: shock.shockFrom });
    }
    if (shock.shockUntil !== undefined && !shockSeen.ended && stats.sent >= shock.shockUntil) {
      shockSeen = { ...shockSeen, ended: true };
      tell({ kind: 'shock', at: now, started: false, produced: shock.shockUntil });
    }
    if (disparity && !disparitySeen.started && stats.sent >= disparity.from) {
      disparitySeen.started = true;
      tell({ kind: 'disparity', at: now, started: true, produced: disparity.from, disparity });
    }
    if (disparity?.until !== undefined && !disparitySeen.ended && stats.sent >= disparity.until) {
      disparitySeen.ended = true;
      tell({ kind: 'disparity', at: now, started: false, produced: disparity.until, disparity });
    }
    if (alertBatch.length) {
      tell({ kind: 'alerts', at: now, alerts: alertBatch });
      alertBatch = [];
    }
    const told = storyOut.splice(0);
    const rate = meter.next(now, { produced: stats.sent, scored });
    const snapshot = {
      uptimeS: (now - started) / 1000,
      produced: stats.sent,
      producedInvalid: stats.invalid,
      producedRate: rate.produced,
      scored,
      scoredRate: rate.scored,
      decisions,
      deadLetters: dead,
      lag,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      modelVersion: scorer.modelVersion,
      brokers: config.connection.brokers.join(','),
      notes: [`outcomes: ${outcomes.published.toLocaleString('en-US')} published, ${outcomes.schedule.pending.toLocaleString('en-US')} pending (delay ${live.LIVE_OUTCOME_DELAY / 1000} s)`, ...modelNotes],
      sections: [
        ...renderDriftPanel({
          latest: driftLatest,
          bands: driftConfig.bands,
          alerts: driftAlerts,
          alertCounts,
          shock: { from: shock.shockFrom, until: shock.shockUntil, produced: stats.sent },
          reportUrl: drift.httpAddress ? `${drift.httpAddress.replace('0.0.0.0', 'localhost')}/drift/report` : undefined,
        }),
        ...renderFairnessPanel({ latest: fairnessLatest, attributes: fairLending().attributes, disparity: { disparity, produced: stats.sent } }),
      ],
    };
    latencies = [];
    const lines = renderLive(snapshot);
    const worst = driftLatest?.targets.reduce((a, t) => (t.psi > a.psi ? t : a));
    const drifting = worst ? ` | max PSI ${worst.target} ${worst.psi.toFixed(3)} ${worst.severity} vs v${driftLatest!.reference_version}` : '';
    screen.frame(told, lines, `${lines[2]!.trim().replace(/\s+/g, ' ')} | ${lines[3]!.trim().replace(/\s+/g, ' ')} | model v${scorer.modelVersion}${drifting}`, now);
  };
  const timer = setInterval(render, 1000);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    clearInterval(timer);
    process.stdout.write(`\n${signal}: stopping the simulator and the scorer...\n`);
    ac.abort();
    await producing.catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await outcomes.stop();
    await outcomeProducer.disconnect().catch(() => undefined);
    await scorer.stop();
    await drift.stop();
    process.stdout.write(`produced ${stats.sent} (${stats.invalid} invalid), scored ${scored}, dead-lettered ${Object.values(dead).reduce((a, b) => a + b, 0)}\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`start failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
