/**
 * The drift monitor on a stationary stream: 100,000 scoring-log records from the training distribution,
 * scored by the real model, on a 6-partition topic of the real broker.
 *
 * - zero alerts at the default bands (0.1 / 0.25), every window complete, every PSI below 0.02 (the no-drift
 *   expectation for 6,000 records and 10 bins is about 0.0017);
 * - the PSI (and its p-value, and KS) of a window equal an independent numpy/scipy computation to 1e-9;
 * - two instances sharing the partitions produce the same windows as one instance reading everything;
 * - kill -9 of the drift process mid-stream and a restart produce the same windows as an uninterrupted run.
 * - an instance frozen past its session (SIGSTOP) cannot commit for partitions that moved (KIP-447 fencing): the
 *   same windows, each published once.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftWindowValue } from '../../services/drift/windows/codec.ts';
import type { DriftService } from '../../services/drift/service.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { startService, type ServiceProcess } from '../../support/processes.ts';
import { byWindow, driftEnv, LOG_DIR, startDrift, TopicReader, windowFingerprint } from './helpers.ts';
import { produceScoringLog, scoredRecords, type StreamOptions } from '../../support/scoring-log.ts';

const N = 100_000;
const WINDOW_MS = 60_000;
const STEP_MS = 10; // 100 applications per second of event time: 6,000 per window
const T0 = Math.floor(1_750_000_000_000 / WINDOW_MS) * WINDOW_MS;
const STREAM: StreamOptions = { seed: 101, runId: 'stationary', count: N, t0: T0, stepMs: STEP_MS };
const LATENESS_MS = 2000;
/** Windows that close: [T0 + k·60 s, T0 + (k+1)·60 s) with end + lateness <= the last event (T0 + (N - 1)·STEP_MS): 16. */
const EXPECTED_WINDOWS = Math.floor(((N - 1) * STEP_MS - LATENESS_MS) / WINDOW_MS);
const FIRST = T0 / WINDOW_MS;
const DRIFT_ROLES = ['driftPartials', 'driftWindows', 'driftAlerts'];
const SETTINGS = {
  DRIFT_WINDOW_SIZE: '60s',
  DRIFT_ALLOWED_LATENESS: `${LATENESS_MS / 1000}s`,
  DRIFT_MIN_WINDOW_RECORDS: '1000',
};

/** Fresh drift output topics for one more group, sharing the input. */
function outputTopics(base: Record<string, string>, prefix: string): Record<string, string> {
  const fresh = uniqueTopics(prefix);
  return { ...base, driftPartials: fresh.driftPartials!, driftWindows: fresh.driftWindows!, driftAlerts: fresh.driftAlerts! };
}

async function windowsOf(topics: Record<string, string>, timeoutMs = 90_000): Promise<{ windows: DriftWindowValue[]; messages: number }> {
  const reader = await TopicReader.windows(topics.driftWindows!);
  try {
    await waitUntil(`${EXPECTED_WINDOWS} windows in ${topics.driftWindows}`, () => byWindow(reader.values).length >= EXPECTED_WINDOWS, timeoutMs, 200);
    await new Promise((r) => setTimeout(r, 1500)); // nothing more may come
    return { windows: byWindow(reader.values), messages: reader.values.length };
  } finally {
    await reader.stop();
  }
}

describe('drift monitor on a stationary stream', () => {
  const topics = uniqueTopics('drift-stat');
  const services: DriftService[] = [];
  const processes: ServiceProcess[] = [];
  let model: ModelHost;
  let single: DriftWindowValue[];
  let singleService: DriftService;

  beforeAll(async () => {
    await createTopics(topics, ['scoringLog', 'outcomes', ...DRIFT_ROLES]);
    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.scoringLog!, 'scoring-log');
    await registry.warm(schemaId);
    model = await ModelHost.load(initialModelDir());
    const producer = kafkaClient('drift-stat-producer').producer();
    await producer.connect();
    const sent = await produceScoringLog(producer, registry, schemaId, model, topics.scoringLog!, STREAM);
    await producer.disconnect();
    expect(sent).toBe(N);
  });

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(services.map((s) => s.stop()));
    await model?.close();
  });

  it('100,000 records from the training distribution: every window complete, zero alerts', async () => {
    singleService = await startDrift(driftEnv(topics, { ...SETTINGS, DRIFT_INSTANCE_ID: 'single' }), 'stationary-single');
    services.push(singleService);
    const { windows, messages } = await windowsOf(topics);
    single = windows;
    expect(messages).toBe(EXPECTED_WINDOWS); // each window published once (transactions, read_committed)
    expect(windows.map((w) => w.window_index)).toEqual(Array.from({ length: EXPECTED_WINDOWS }, (_, k) => FIRST + k));
    for (const w of windows) {
      expect(w.records).toBe(WINDOW_MS / STEP_MS);
      expect(w.partitions).toEqual([0, 1, 2, 3, 4, 5]);
      expect(w.evaluated).toBe(true);
      for (const t of w.targets) {
        expect(t.severity, `${t.target} in window ${w.window_index}: PSI ${t.psi}`).toBe('NONE');
        expect(t.psi).toBeLessThan(0.02); // five times below the default WARN band: far from a false alarm
      }
    }
    const alerts = await TopicReader.alerts(topics.driftAlerts!);
    await new Promise((r) => setTimeout(r, 1500));
    await alerts.stop();
    expect(alerts.values).toEqual([]);

    // The HTTP surface shows the same latest window, and the gauges carry it.
    await waitUntil('the view to reach the last window', () => singleService.summary()?.latest?.window_index === FIRST + EXPECTED_WINDOWS - 1, 20_000);
    const res = await fetch(`${singleService.httpAddress}/drift`);
    const body = (await res.json()) as { bands: { warn: number; alert: number }; latest: { window_index: number; records: number; targets: Record<string, { psi: number; severity: string }> }; recent_alerts: unknown[] };
    expect(body.bands).toEqual({ warn: 0.1, alert: 0.25 }); // the defaults
    expect(body.latest.window_index).toBe(FIRST + EXPECTED_WINDOWS - 1);
    expect(body.latest.targets.age!.psi).toBe(windows[windows.length - 1]!.targets.find((t) => t.target === 'age')!.psi);
    expect(body.recent_alerts).toEqual([]);
    const metrics = await (await fetch(`${singleService.httpAddress}/metrics`)).text();
    expect(metrics).toMatch(/^drift_psi\{target="debt_to_income_ratio"\} [0-9.e-]+$/m);
    expect(metrics).toMatch(new RegExp(`^drift_windows_total ${EXPECTED_WINDOWS}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^drift_records_total ${N}$`, 'm'));
    expect(metrics).toMatch(/^drift_late_records_total\{stage="instance"\} 0$/m);
    // One monitor per process, as deployed: the later tests' monitors do not share this process's libuv
    // threadpool (the Kafka client's blocking calls run there) with this one.
    await singleService.stop();
  });

  it('PSI, its p-value and the KS test of a window equal an independent numpy/scipy computation to 1e-9', async () => {
    const w = single[10]!;
    const start = w.window_start;
    const from = (start - T0) / STEP_MS;
    const records = await scoredRecords(model, STREAM, from, WINDOW_MS / STEP_MS);
    expect(records[0]!.submitted_at).toBe(start);
    const values: Record<string, (number | null)[]> = {};
    for (const t of w.targets) values[t.target] = records.map((r) => (t.target === 'score' ? r.probability_of_default : r.features[t.target]!));
    const dir = join(REPO_ROOT, 'test-artifacts', 'drift');
    mkdirSync(dir, { recursive: true });
    const input = join(dir, 'window.json');
    const output = join(dir, 'window-reference.json');
    writeFileSync(input, JSON.stringify({ metadata: join(initialModelDir(), 'metadata.json'), epsilon: 1e-4, reference_records: 40_000, values }));
    const py = spawnSync(join(REPO_ROOT, '.venv', 'bin', 'python'), [join(REPO_ROOT, 'test', 'drift', 'psi_reference.py'), input, output], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(output, 'utf8')) as Record<string, { psi: number; psi_p_value: number; df: number; ks_statistic: number; ks_p_value: number; counts: number[] }>;
    for (const t of w.targets) {
      const r = ref[t.target]!;
      expect(t.counts, t.target).toEqual(r.counts);
      expect(Math.abs(t.psi - r.psi), `${t.target} PSI ${t.psi} vs numpy ${r.psi}`).toBeLessThan(1e-9);
      expect(t.psi_df).toBe(r.df);
      expect(Math.abs(t.psi_p_value - r.psi_p_value), `${t.target} p ${t.psi_p_value} vs scipy ${r.psi_p_value}`).toBeLessThan(1e-9);
      expect(Math.abs(t.ks_statistic - r.ks_statistic), `${t.target} KS ${t.ks_statistic} vs scipy ${r.ks_statistic}`).toBeLessThan(1e-12);
      expect(Math.abs(t.ks_p_value - r.ks_p_value)).toBeLessThan(1e-9);
    }
  });

  it('two instances on the 6-partition topic produce the same windows as one instance', async () => {
    const t2 = outputTopics(topics, 'drift-two');
    await createTopics(t2, DRIFT_ROLES);
    const group = `drift-two-${Date.now()}`;
    const [a, b] = await Promise.all([
      startDrift(driftEnv(t2, { ...SETTINGS, DRIFT_GROUP_ID: group, DRIFT_INSTANCE_ID: 'two-a' }), 'stationary-two-a'),
      startDrift(driftEnv(t2, { ...SETTINGS, DRIFT_GROUP_ID: group, DRIFT_INSTANCE_ID: 'two-b' }), 'stationary-two-b'),
    ]);
    services.push(a, b);
    const { windows } = await windowsOf(t2);
    expect(windows.map(windowFingerprint)).toEqual(single.map(windowFingerprint));
    // Both took part: each owns three source partitions, each counted records, exactly one aggregates.
    expect([...a.sourcePartitions, ...b.sourcePartitions].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.sourcePartitions.length).toBe(3);
    const counted = async (s: DriftService) => Number(/^drift_records_total (\d+)$/m.exec(await (await fetch(`${s.httpAddress}/metrics`)).text())?.[1] ?? 0);
    const [ca, cb] = await Promise.all([counted(a), counted(b)]);
    expect(ca).toBeGreaterThan(0);
    expect(cb).toBeGreaterThan(0);
    expect(ca + cb).toBeGreaterThanOrEqual(N);
    expect([a.aggregatorActive, b.aggregatorActive].filter(Boolean)).toHaveLength(1);
    // librdkafka's range assignor kept partition p of scoring-log and loan-outcomes on one instance (checked on every assignment).
    for (const s of [a, b]) expect(await (await fetch(`${s.httpAddress}/metrics`)).text()).not.toMatch(/^drift_errors_total\{[^}]*code="CONFIG_INVALID"/m);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('kill -9 of the drift process mid-stream, then a restart: the same windows as an uninterrupted run', async () => {
    const t3 = outputTopics(topics, 'drift-kill');
    await createTopics(t3, DRIFT_ROLES);
    mkdirSync(LOG_DIR, { recursive: true });
    // Small fetches so that the first process is still mid-stream when it is killed.
    const env = driftEnv(t3, { ...SETTINGS, DRIFT_INSTANCE_ID: 'kill', DRIFT_MAX_BYTES_PER_PARTITION: '32768', LOG_LEVEL: 'info' });
    const reader = await TopicReader.windows(t3.driftWindows!);
    try {
      const first = startService('services/drift/main.ts', env);
      processes.push(first);
      await waitUntil('the first process to publish 5 windows', () => reader.values.length >= 5, 60_000, 50);
      first.child.kill('SIGKILL');
      const killed = await first.exited;
      expect(killed.signal).toBe('SIGKILL');
      const atKill = byWindow(reader.values).length;
      writeFileSync(join(LOG_DIR, 'stationary-kill-first.log'), first.output());
      expect(atKill, 'killed before the end of the stream').toBeLessThan(EXPECTED_WINDOWS);

      const second = startService('services/drift/main.ts', env);
      processes.push(second);
      await waitUntil(`${EXPECTED_WINDOWS} windows after the restart`, () => byWindow(reader.values).length >= EXPECTED_WINDOWS, 90_000, 200);
      await new Promise((r) => setTimeout(r, 1500));
      writeFileSync(join(LOG_DIR, 'stationary-kill-second.log'), second.output());
      const windows = byWindow(reader.values);
      expect(windows.map(windowFingerprint)).toEqual(single.map(windowFingerprint));
      // Exactly once: no window was published twice, across the crash.
      expect(reader.values.length).toBe(EXPECTED_WINDOWS);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    } finally {
      await reader.stop();
    }
  });

  it('an instance frozen past its session (SIGSTOP) loses its partitions and cannot commit them after it thaws: the same windows, each once', async () => {
    const t4 = outputTopics(topics, 'drift-freeze');
    await createTopics(t4, DRIFT_ROLES);
    const group = `drift-freeze-${Date.now()}`;
    const env = (id: string) => driftEnv(t4, { ...SETTINGS, DRIFT_GROUP_ID: group, DRIFT_INSTANCE_ID: id, DRIFT_MAX_BYTES_PER_PARTITION: '32768', LOG_LEVEL: 'info' });
    const reader = await TopicReader.windows(t4.driftWindows!);
    const frozen = startService('services/drift/main.ts', env('freeze-a'));
    processes.push(frozen);
    let other: DriftService | undefined;
    try {
      await waitUntil('the first process to publish 3 windows', () => reader.values.length >= 3, 60_000, 50);
      frozen.child.kill('SIGSTOP');
      const atFreeze = byWindow(reader.values).length;
      expect(atFreeze, 'frozen before the end of the stream').toBeLessThan(EXPECTED_WINDOWS);
      // The other instance takes every partition once the frozen one's session expired (6 s), and its aggregator fences the frozen one's.
      other = await startDrift(env('freeze-b'), 'stationary-freeze-b');
      services.push(other);
      await waitUntil('the other instance to own every partition', () => other!.sourcePartitions.length === 6 && other!.aggregatorActive, 60_000, 100);
      await waitUntil('a few more windows from the other instance', () => byWindow(reader.values).length >= Math.min(EXPECTED_WINDOWS, atFreeze + 2), 60_000, 100);
      // The zombie thaws with state and open transactions of a generation that is gone: its commits are refused, it rejoins.
      frozen.child.kill('SIGCONT');
      await waitUntil(`${EXPECTED_WINDOWS} windows after the thaw`, () => byWindow(reader.values).length >= EXPECTED_WINDOWS, 90_000, 200);
      await waitUntil('both instances in the group again', () => other!.sourcePartitions.length === 3, 60_000, 200).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 3000));
      expect(byWindow(reader.values).map(windowFingerprint)).toEqual(single.map(windowFingerprint));
      expect(reader.values.length).toBe(EXPECTED_WINDOWS);
      frozen.child.kill('SIGTERM');
      expect((await frozen.exited).code).toBe(0);
    } finally {
      writeFileSync(join(LOG_DIR, 'stationary-freeze-a.log'), frozen.output());
      if (other?.httpAddress) writeFileSync(join(LOG_DIR, 'stationary-freeze-b.metrics'), await (await fetch(`${other.httpAddress}/metrics`)).text().catch(() => ''));
      await reader.stop();
    }
  });
});
