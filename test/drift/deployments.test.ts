/**
 * The drift loop against a real broker and registry, on one set of topics:
 *
 * - Two deployments side by side (distinct DRIFT_GROUP_ID). A runs from the start; B starts later as a new
 *   deployment, reading scoring-log only from its end at that time: B must finalize no window of the stream
 *   before it started (A's partials for those windows are on the same drift-partials topic), and each view
 *   shows only its own deployment's windows and alerts.
 * - The monitor follows model-updates without restart: v2 (same model.onnx, a different reference) is
 *   announced at an event time inside the shock; every window starting at or after it is compared with v2's
 *   reference (its expected proportions), the earlier ones with v1's, and a REFERENCE alert marks the switch.
 *   v3, announced with a wrong sha256, is refused: the reference stays v2.
 * - The retrain loop: A (no outcome minimum) runs its command once for the shock although several windows are
 *   at ALERT; B (a minimum it cannot reach) never runs it and says `waiting for outcomes (0 of 1000000)`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdempotentProducer } from '../../services/shared/kafka/producers.ts';
import type { DriftAlertValue, DriftWindowValue } from '../../services/drift/windows/codec.ts';
import { compileReference } from '../../services/drift/statistics/reference.ts';
import type { DriftService } from '../../services/drift/service.ts';
import { readMetadata } from '../../services/scorer/model/metadata.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { modelSha } from '../helpers/models.ts';
import { byWindow, driftEnv, startDrift, TopicReader } from './helpers.ts';
import { produceScoringLog, type StreamOptions } from '../../support/scoring-log.ts';

const HOP = 30_000;
const STEP = 10; // ms of event time per application: 3,000 per window
const T0 = Math.floor(1_770_000_000_000 / 60_000) * 60_000;
const PHASE = 15_000; // applications per phase (5 windows)
const STREAM: StreamOptions = { seed: 77, runId: 'deploy', count: PHASE, t0: T0, stepMs: STEP, shockFrom: PHASE };
const SWITCH_AT = T0 + (PHASE + 6_000) * STEP; // inside the shock
const BOUNDARY = Math.ceil(SWITCH_AT / HOP);
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'drift');

/**
 * A v2 bundle: the initial model.onnx with another reference: age's proportions reversed, and one bin
 * fewer (its last two bins merged), so v2's windows have another number of counters than v1's — as a
 * retrained model's reference does (make start found the aggregator assuming v1's count for every window).
 */
function v2Bundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drift-v2-'));
  cpSync(initialModelDir(), dir, { recursive: true });
  const p = join(dir, 'metadata.json');
  const m = JSON.parse(readFileSync(p, 'utf8')) as { version: string; reference: { features: Record<string, { edges: number[]; proportions: number[] }> } };
  m.version = '2';
  const age = m.reference.features.age!;
  age.proportions.reverse();
  age.edges.pop();
  age.proportions.splice(-2, 2, age.proportions.at(-2)! + age.proportions.at(-1)!);
  writeFileSync(p, JSON.stringify(m));
  return dir;
}

async function announce(producer: IdempotentProducer, registry: AvroRegistry, schema: number, topic: string, version: string, dir: string, sha256: string, at: number): Promise<void> {
  const value = { model_name: 'credit-default-classifier', version, artifact_uri: dir, sha256, action: 'PROMOTE', previous_version: null, metrics: {}, reason: 'test promotion', announced_at: at, announced_by: 'deployments.test' };
  await producer.send([{ topic, messages: [{ key: 'credit-default-classifier', value: registry.encodeSync(schema, value) }] }]);
}

describe('drift deployments, reference switch and retrain guards on shared topics', () => {
  const topics = uniqueTopics('drift-deploy');
  const markerA = join(ARTIFACTS, `retrain-a-${topics.driftAlerts}.txt`);
  const markerB = join(ARTIFACTS, `retrain-b-${topics.driftAlerts}.txt`);
  let a: DriftService;
  let b: DriftService;
  let windows: TopicReader<DriftWindowValue>;
  let alerts: TopicReader<DriftAlertValue>;
  const v2 = v2Bundle();
  const ofA = (w: { deployment: string }) => w.deployment === 'deploy-a';
  const ofB = (w: { deployment: string }) => w.deployment === 'deploy-b';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of [markerA, markerB]) if (existsSync(f)) rmSync(f);
    await createTopics(topics, ['scoringLog', 'outcomes'], 3);
    await createTopics(topics, ['driftPartials', 'driftWindows', 'driftAlerts', 'modelUpdates']);
    const registry = registryClient();
    const [logSchema, updateSchema] = await Promise.all([registry.registerValueSchema(topics.scoringLog!, 'scoring-log'), registry.registerValueSchema(topics.modelUpdates!, 'model-update')]);
    await Promise.all([registry.warm(logSchema), registry.warm(updateSchema)]);
    const model = await ModelHost.load(initialModelDir());
    const producer = kafkaClient('drift-deploy-producer').producer();
    await producer.connect();
    const env = (name: string, extra: Record<string, string>) =>
      driftEnv(topics, { DRIFT_GROUP_ID: `deploy-${name}`, DRIFT_INSTANCE_ID: name, DRIFT_WINDOW_SIZE: '30s', DRIFT_ALLOWED_LATENESS: '1s', DRIFT_MIN_WINDOW_RECORDS: '500', DRIFT_IDLE_TIMEOUT: '5s', DRIFT_OUTCOMES: 'false', DRIFT_RETRAIN: 'retrain', ...extra });
    [windows, alerts] = await Promise.all([TopicReader.windows(topics.driftWindows!), TopicReader.alerts(topics.driftAlerts!)]);

    // Phase 1 (normal) with deployment A only.
    await produceScoringLog(producer, registry, logSchema, model, topics.scoringLog!, STREAM);
    a = await startDrift(env('a', { DRIFT_RETRAIN_MIN_OUTCOMES: '0', DRIFT_RETRAIN_COMMAND: `printf '%s\\n' "$DRIFT_INCIDENT_WINDOW" >> '${markerA}'` }), 'deploy-a');
    const phase1Last = Math.floor((T0 + PHASE * STEP) / HOP) - 2;
    await waitUntil('A finalized phase 1', () => windows.values.some(({ value: w }) => ofA(w) && w.window_index >= phase1Last), 60_000);

    // B: a new deployment on the same topics, from the end of scoring-log and of drift-partials.
    b = await startDrift(env('b', { DRIFT_FROM_BEGINNING: 'false', DRIFT_RETRAIN_MIN_OUTCOMES: '1000000', DRIFT_RETRAIN_COMMAND: `echo run >> '${markerB}'` }), 'deploy-b');
    await waitUntil('B ready', () => b.notReadyReasons().length === 0, 30_000);

    // v2 is announced before the shocked phase is produced; v3 with a wrong checksum after it.
    await announce(producer, registry, updateSchema, topics.modelUpdates!, '2', v2, modelSha(v2), SWITCH_AT);
    await waitUntil('both follow v2', () => a.referenceVersion === '2' && b.referenceVersion === '2', 30_000);
    await announce(producer, registry, updateSchema, topics.modelUpdates!, '3', v2, '0'.repeat(64), SWITCH_AT + 60_000);
    // Phase 2: the shock.
    await produceScoringLog(producer, registry, logSchema, model, topics.scoringLog!, { ...STREAM, from: PHASE });
    await producer.disconnect();
    const lastFull = Math.floor((T0 + 2 * PHASE * STEP) / HOP) - 2;
    await waitUntil('both finalized phase 2', () => [ofA, ofB].every((f) => windows.values.some(({ value: w }) => f(w) && w.window_index >= lastFull)), 90_000);
    await waitUntil('A ran its retrain', () => existsSync(markerA) && alerts.values.some(({ value: x }) => ofA(x) && x.kind === 'RETRAIN' && x.outcome === 'succeeded'), 30_000);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([windows?.stop(), alerts?.stop()]);
    rmSync(v2, { recursive: true, force: true });
  });

  it('keeps separate windows per deployment: B finalizes nothing from before it started, and the same counts as A after', () => {
    const wa = byWindow(windows.values.filter(({ value }) => ofA(value)));
    const wb = byWindow(windows.values.filter(({ value }) => ofB(value)));
    const phase2First = Math.ceil((T0 + PHASE * STEP) / HOP);
    expect(wa.some((w) => w.window_index < phase2First)).toBe(true);
    expect(wb.length).toBeGreaterThan(3);
    expect(wb.every((w) => w.window_index >= phase2First - 1)).toBe(true);
    const aByIndex = new Map(wa.map((w) => [w.window_index, w]));
    for (const w of wb.filter((x) => x.window_index >= phase2First)) expect(w.targets.map((t) => t.counts)).toEqual(aByIndex.get(w.window_index)!.targets.map((t) => t.counts));
    // Each view shows its own deployment only.
    expect(a.summary()).toBeDefined();
    expect(b.summary()).toBeDefined();
    expect((b as unknown as { view: { history(): DriftWindowValue[] } }).view.history().every(ofB)).toBe(true);
    expect((a as unknown as { view: { recentAlerts(): DriftAlertValue[] } }).view.recentAlerts().every(ofA)).toBe(true);
  });

  it('compares windows from the first boundary after the announcement with v2, earlier ones with v1, and marks the switch', async () => {
    const wa = byWindow(windows.values.filter(({ value }) => ofA(value)));
    const v1 = compileReference(await readMetadata(initialModelDir()));
    const r2 = compileReference(await readMetadata(v2));
    const age = (r: typeof v1) => Array.from(r.targets.find((t) => t.name === 'age')!.expected);
    for (const w of wa) {
      expect(w.reference_version).toBe(w.window_index >= BOUNDARY ? '2' : '1');
      expect(w.targets.find((t) => t.target === 'age')!.expected).toEqual(age(w.window_index >= BOUNDARY ? r2 : v1));
    }
    expect(wa.find((w) => w.window_index === BOUNDARY)!.reference_since_window).toBe(BOUNDARY);
    const switches = alerts.values.filter(({ value: x }) => ofA(x) && x.kind === 'REFERENCE').map(({ value }) => value);
    expect(switches.map((x) => [x.window_index, x.previous_version, x.reference_version])).toEqual([[BOUNDARY, '1', '2']]);
    expect(switches[0]!.detail).toContain('PROMOTE v2');
    // v3's checksum did not match its model.onnx: refused, no window on it.
    expect(wa.some((w) => w.reference_version === '3')).toBe(false);
    expect(await a.metrics.getSingleMetricAsString('drift_reference_refused_total')).toMatch(/drift_reference_refused_total 1/);
  });

  it('runs one retrain per incident, and none without enough outcomes', async () => {
    const alertingA = byWindow(windows.values.filter(({ value }) => ofA(value))).filter((w) => w.targets.some((t) => t.target === 'score' && t.severity === 'ALERT'));
    expect(alertingA.length).toBeGreaterThan(2);
    expect(readFileSync(markerA, 'utf8').trim().split('\n')).toHaveLength(1);
    const rb = alerts.values.filter(({ value: x }) => ofB(x) && x.kind === 'RETRAIN').map(({ value }) => value);
    expect(rb.map((x) => x.outcome)).toContain('waiting');
    expect(rb.find((x) => x.outcome === 'waiting')!.detail).toBe('waiting for outcomes (0 of 1000000)');
    expect(rb.some((x) => x.outcome === 'started')).toBe(false);
    expect(existsSync(markerB)).toBe(false);
    expect(await b.metrics.getSingleMetricAsString('drift_retrain_state')).toMatch(/drift_retrain_state\{state="waiting"\} 1/);
    expect(await b.metrics.getSingleMetricAsString('drift_retrain_required_outcomes')).toMatch(/ 1000000/);
  });
});
