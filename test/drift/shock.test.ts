/**
 * The macro shock of schemas/population.json injected at event 40,000 of a 120,000-record stream and lifted
 * at 90,000, on hopping windows (60 s every 30 s), with loan outcomes for part of the stream, the retrain
 * loop on, and the report opened in headless Chromium. The monitor runs with its DEFAULT bands (PSI 0.1 warn,
 * 0.25 alert): the shock is built to be seen with them (docs/drift.md: PSI 0.37-0.55 per affected feature,
 * 0.9 for the score, on 6,000-record windows).
 *
 * - ALERT for every feature the shock moves (services/simulator/spec.ts affectedByShock: the four it changes
 *   and credit_history_length, which follows age) and for the score, in the first full window after the
 *   shock and in every window wholly inside it; never any severity but NONE for the others; NONE before;
 * - a RECOVERY for each of them once the stream is back to normal, NONE everywhere after;
 * - one retrain episode: the configured command runs once and both its start and its outcome are recorded;
 * - per window ROC-AUC, Brier and default rate of the joined outcomes equal a direct computation;
 * - the report renders one histogram per feature (and the score) in Chromium; screenshot in test-artifacts/.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftAlertValue, DriftWindowValue } from '../../services/drift/windows/codec.ts';
import type { DriftService } from '../../services/drift/service.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import type { ScoringLogRecord } from '../../services/scorer/records.ts';
import { FEATURE_NAMES, REPO_ROOT } from '../../services/shared/schemas.ts';
import { defaultProbability } from '../../services/simulator/population.ts';
import { createRng } from '../../services/simulator/rng.ts';
import { populationSpec } from '../../services/simulator/source.ts';
import { affectedByShock } from '../../services/simulator/spec.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { dumpDom, screenshot } from './chromium.ts';
import { byWindow, driftEnv, startDrift, TopicReader } from './helpers.ts';
import { produceScoringLog, type StreamOptions } from '../../support/scoring-log.ts';

const N = 120_000;
const SHOCK_FROM = 40_000; // 400 s: a third of a hop into a window, as the retrain assertions were written for
const SHOCK_UNTIL = 90_000;
const SIZE_MS = 60_000;
const HOP_MS = 30_000;
const STEP_MS = 10;
const T0 = Math.floor(1_760_000_000_000 / SIZE_MS) * SIZE_MS;
const STREAM: StreamOptions = { seed: 202, runId: 'shock', count: N, t0: T0, stepMs: STEP_MS, shockFrom: SHOCK_FROM, shockUntil: SHOCK_UNTIL };
/** Outcomes are produced for these application indexes. */
const LABELLED = [
  [0, 30_000],
  [100_000, 124_000],
] as const;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

const shockAt = T0 + SHOCK_FROM * STEP_MS;
const normalAt = T0 + SHOCK_UNTIL * STEP_MS;
const startOf = (k: number) => k * HOP_MS;
/** The first window that starts at or after t. */
const firstWindowFrom = (t: number) => Math.ceil(t / HOP_MS);

/** Exact ROC-AUC by ranks (ties get their average rank). */
function exactAuc(p: number[], y: boolean[]): number {
  const idx = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const rank = new Array<number>(p.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && p[idx[j + 1]!] === p[idx[i]!]) j++;
    for (let k = i; k <= j; k++) rank[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const pos = y.filter(Boolean).length;
  const neg = y.length - pos;
  const sum = rank.reduce((s, r, i) => s + (y[i] ? r : 0), 0);
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

describe('drift monitor under the macro shock', () => {
  const topics = uniqueTopics('drift-shock');
  const marker = join(ARTIFACTS, 'drift', `retrain-${topics.driftAlerts}.txt`);
  let model: ModelHost;
  let service: DriftService;
  let windows: DriftWindowValue[];
  let alerts: DriftAlertValue[];
  /** application_id -> [probability, submitted_at, defaulted] for the labelled ones. */
  const labelled = new Map<string, { p: number; t: number; y: boolean }>();

  beforeAll(async () => {
    mkdirSync(join(ARTIFACTS, 'drift'), { recursive: true });
    await createTopics(topics, ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts']);
    const registry = registryClient();
    const [logSchema, outcomeSchema] = await Promise.all([registry.registerValueSchema(topics.scoringLog!, 'scoring-log'), registry.registerValueSchema(topics.outcomes!, 'loan-outcome')]);
    await Promise.all([registry.warm(logSchema), registry.warm(outcomeSchema)]);
    model = await ModelHost.load(initialModelDir());
    const producer = kafkaClient('drift-shock-producer').producer();
    await producer.connect();
    const spec = populationSpec();
    const outcomes: { key: string; value: Buffer }[] = [];
    const keep = (records: ScoringLogRecord[]) => {
      for (const r of records) {
        const i = Number(r.application_id.split('-').pop());
        if (!LABELLED.some(([a, b]) => i >= a && i < b)) continue;
        const y = createRng(0x5eed ^ i).next() < defaultProbability(r.features, spec);
        labelled.set(r.application_id, { p: r.probability_of_default, t: r.submitted_at, y });
        outcomes.push({ key: r.application_id, value: registry.encodeSync(outcomeSchema, { application_id: r.application_id, defaulted: y, observed_at: r.submitted_at + 86_400_000 }) });
      }
    };
    await produceScoringLog(producer, registry, logSchema, model, topics.scoringLog!, STREAM, keep);
    for (let i = 0; i < outcomes.length; i += 5000) await producer.send([{ topic: topics.outcomes!, messages: outcomes.slice(i, i + 5000) }]);
    await producer.disconnect();
    // Started after the data is in: the test's own production does not compete with it for the CPU.
    service = await startDrift(
      driftEnv(topics, {
        DRIFT_INSTANCE_ID: 'shock',
        DRIFT_WINDOW_SIZE: '60s',
        DRIFT_WINDOW_HOP: '30s',
        DRIFT_ALLOWED_LATENESS: '2s',
        DRIFT_HISTORY_WINDOWS: '100',
        DRIFT_RETRAIN: 'retrain',
        DRIFT_RETRAIN_MIN_OUTCOMES: '0', // the outcome guard has its own test (deployments.test.ts)
        DRIFT_RETRAIN_COMMAND: `printf '%s\\n' "$DRIFT_TARGETS" >> '${marker}'`,
      }),
      'shock',
    );

    const lastFull = Math.floor((T0 + N * STEP_MS - 2000 - SIZE_MS) / HOP_MS); // last window with end + lateness <= last event
    const [windowReader, alertReader] = await Promise.all([TopicReader.windows(topics.driftWindows!), TopicReader.alerts(topics.driftAlerts!)]);
    const labelledWindows = (w: DriftWindowValue) => [...labelled.values()].filter((x) => x.t >= w.window_start && x.t < w.window_end).length;
    await waitUntil(
      'every window finalized, with all its outcomes, and the retrain command done',
      () => {
        const ws = byWindow(windowReader.values);
        return ws.length > 0 && ws[ws.length - 1]!.window_index >= lastFull && ws.every((w) => (w.performance?.labelled ?? 0) === labelledWindows(w)) && alertReader.values.some((a) => a.value.kind === 'RETRAIN' && a.value.outcome !== 'started');
      },
      120_000,
      500,
    ).catch((e: Error) => {
      const ws = byWindow(windowReader.values);
      const short = ws.filter((w) => (w.performance?.labelled ?? 0) !== labelledWindows(w)).map((w) => `${w.window_index}: ${w.performance?.labelled ?? 0}/${labelledWindows(w)}`);
      throw new Error(`${e.message}; ${ws.length} windows up to ${ws[ws.length - 1]?.window_index} (want ${lastFull}); outcomes short in [${short.join(', ')}]; retrain events ${alertReader.values.filter((a) => a.value.kind === 'RETRAIN').map((a) => a.value.outcome)}`);
    });
    await new Promise((r) => setTimeout(r, 1000));
    windows = byWindow(windowReader.values);
    alerts = alertReader.values.map((v) => v.value);
    await Promise.all([windowReader.stop(), alertReader.stop()]);
    writeFileSync(join(ARTIFACTS, 'drift', 'shock-alerts.json'), JSON.stringify(alerts, null, 1));
  });

  afterAll(async () => {
    await service?.stop();
    await model?.close();
  });

  const affected = [...affectedByShock(populationSpec())];
  const unaffected = FEATURE_NAMES.filter((f) => !affected.includes(f));

  it('runs with the default bands (0.1 / 0.25)', async () => {
    const body = (await (await fetch(`${service.httpAddress}/drift`)).json()) as { bands: { warn: number; alert: number } };
    expect(body.bands).toEqual({ warn: 0.1, alert: 0.25 });
  });

  it('raises an ALERT for every shocked feature and the score in the first full window after the shock, never anything for the others', () => {
    expect([...affected].sort()).toEqual(['age', 'annual_income', 'credit_history_length', 'debt_to_income_ratio', 'num_late_payments']);
    expect([...unaffected].sort()).toEqual(['loan_amount', 'num_open_accounts']);
    const drift = alerts.filter((a) => a.kind === 'DRIFT');
    const firstFull = firstWindowFrom(shockAt);
    expect(startOf(firstFull) + SIZE_MS).toBeLessThanOrEqual(normalAt); // the window is wholly shocked
    for (const target of [...affected, 'score']) {
      const inFirstFull = drift.filter((a) => a.target === target && a.window_index === firstFull);
      expect(inFirstFull.map((a) => a.severity), `${target} in window ${firstFull}`).toEqual(['ALERT']);
      expect(inFirstFull[0]!.psi).toBeGreaterThanOrEqual(0.25);
      const first = drift.filter((a) => a.target === target).sort((a, b) => a.window_index - b.window_index)[0]!;
      expect(first.window_end).toBeGreaterThan(shockAt); // not before the shock
    }
    // Every window wholly inside the shock: ALERT for the shocked targets, NONE for the others.
    const shockedWindows = windows.filter((w) => w.window_start >= shockAt && w.window_end <= normalAt);
    expect(shockedWindows.map((w) => w.window_index)).toEqual(Array.from({ length: Math.floor((normalAt - SIZE_MS) / HOP_MS) - firstFull + 1 }, (_, k) => firstFull + k)); // 15 windows
    for (const w of shockedWindows) {
      for (const t of w.targets) {
        const want = t.target === 'score' || affected.includes(t.target) ? 'ALERT' : 'NONE';
        expect(t.severity, `${t.target} in window ${w.window_index}: PSI ${t.psi}`).toBe(want);
      }
    }
    // The unshocked features never leave NONE, in any window.
    for (const w of windows) for (const t of w.targets.filter((t) => unaffected.includes(t.target))) expect(t.severity, `${t.target} in window ${w.window_index}: PSI ${t.psi}`).toBe('NONE');
    expect(drift.filter((a) => unaffected.includes(a.target))).toEqual([]);
    // One DRIFT per window per target: the dedup keys are unique.
    expect(new Set(drift.map((a) => a.dedup_key)).size).toBe(drift.length);
    // Windows wholly before the shock are quiet for every target.
    for (const w of windows.filter((w) => w.window_end <= shockAt)) expect(w.targets.every((t) => t.severity === 'NONE'), `window ${w.window_index}`).toBe(true);
  });

  it('recovers each drifting target once the stream is back to normal', () => {
    const firstNormal = firstWindowFrom(normalAt);
    for (const target of [...affected, 'score']) {
      const rec = alerts.filter((a) => a.kind === 'RECOVERY' && a.target === target);
      expect(rec, `one RECOVERY for ${target}`).toHaveLength(1);
      expect(rec[0]!.window_index).toBeLessThanOrEqual(firstNormal);
      expect(startOf(rec[0]!.window_index) + SIZE_MS).toBeGreaterThan(shockAt);
      const last = alerts.filter((a) => a.kind === 'DRIFT' && a.target === target).reduce((m, a) => Math.max(m, a.window_index), -Infinity);
      expect(rec[0]!.window_index).toBeGreaterThan(last);
    }
    // Windows wholly after the shock are quiet again.
    for (const w of windows.filter((w) => w.window_start >= normalAt)) expect(w.targets.every((t) => t.severity === 'NONE'), `window ${w.window_index}`).toBe(true);
  });

  it('runs the retrain command once and records that it started and how it ended', () => {
    const retrain = alerts.filter((a) => a.kind === 'RETRAIN');
    expect(retrain.map((a) => a.outcome)).toEqual(['started', 'succeeded']);
    expect(retrain[0]!.targets.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(marker)).toBe(true);
    const lines = readFileSync(marker, 'utf8').trim().split('\n');
    expect(lines).toEqual([retrain[0]!.targets.join(',')]);
  });

  it('reports ROC-AUC, Brier and default rate of the joined outcomes per window, as a direct computation gives', () => {
    const withOutcomes = windows.filter((w) => w.performance && w.performance.labelled > 0);
    expect(withOutcomes.length).toBeGreaterThan(10);
    for (const w of withOutcomes) {
      const xs = [...labelled.values()].filter((x) => x.t >= w.window_start && x.t < w.window_end);
      const perf = w.performance!;
      expect(perf.labelled).toBe(xs.length);
      expect(perf.defaults).toBe(xs.filter((x) => x.y).length);
      expect(perf.default_rate).toBeCloseTo(xs.filter((x) => x.y).length / xs.length, 12);
      expect(Math.abs(perf.brier - xs.reduce((s, x) => s + (x.p - (x.y ? 1 : 0)) ** 2, 0) / xs.length)).toBeLessThan(1e-9);
      expect(Math.abs(perf.roc_auc! - exactAuc(xs.map((x) => x.p), xs.map((x) => x.y))), `window ${w.window_index}`).toBeLessThan(2e-3);
    }
    // The shock raises the default rate: the concept-level signal PSI alone does not give.
    const before = withOutcomes.filter((w) => w.window_end <= shockAt).map((w) => w.performance!.default_rate);
    const during = withOutcomes.filter((w) => w.window_start >= shockAt && w.window_end <= normalAt).map((w) => w.performance!.default_rate);
    expect(Math.min(...during)).toBeGreaterThan(Math.max(...before));
  });

  it('the report renders one histogram per feature and for the score in headless Chromium', async () => {
    const url = `${service.httpAddress}/drift/report`;
    await waitUntil('the view to hold the last window', () => (service.summary()?.latest?.window_index ?? 0) >= windows[windows.length - 1]!.window_index, 20_000);
    const html = await (await fetch(url)).text();
    writeFileSync(join(ARTIFACTS, 'drift-report.html'), html);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/); // nothing loaded from elsewhere
    const dom = await dumpDom(url);
    const targets = [...FEATURE_NAMES, 'score'];
    for (const t of targets) {
      const charts = dom.match(new RegExp(`<svg[^>]*data-chart="histogram"[^>]*data-target="${t}"[^>]*>`, 'g')) ?? [];
      expect(charts, `histogram of ${t}`).toHaveLength(1);
      expect(charts[0]).toContain('data-rendered="true"');
    }
    expect(dom.match(/data-chart="histogram"/g)).toHaveLength(targets.length);
    const rendered = Number(/data-charts-rendered="(\d+)"/.exec(dom)?.[1]);
    expect(rendered).toBe((dom.match(/<svg[^>]*data-chart=/g) ?? []).length);
    const png = join(ARTIFACTS, 'drift-report.png');
    await screenshot(url, png);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });
});
