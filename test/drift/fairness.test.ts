/**
 * Fairness windows on a real broker (issue 19): scoring-log records of the synthetic population scored by the
 * real model, each applicant's demographics on applicant-demographics (as the simulator publishes them), the
 * disparity scenario (one group's incomes halved) over two windows, and the instance's Kafka session replaced
 * mid-stream. Every fairness window the monitor publishes must equal, count for count, the join recomputed
 * from the raw topics read back; the alert must rise on the first window of the disparity and clear on the
 * first after it; /fairness and the gauges show the latest window.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftService } from '../../services/drift/service.ts';
import { ServiceError } from '../../services/shared/errors.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import type { ScoringLogRecord } from '../../services/scorer/records.ts';
import { addDecision, emptyCounts, fairnessLayout, type Decision } from '../../services/drift/fairness/layout.ts';
import type { FairnessWindowValue } from '../../services/drift/fairness/codec.ts';
import { FAIRNESS_WINDOW_RECORD } from '../../services/drift/kafka/view.ts';
import { DEMOGRAPHICS_RECORD } from '../../services/drift/kafka/instance.ts';
import { SCORING_LOG_RECORD } from '../../services/drift/windows/record-reader.ts';
import { fairLending } from '../../services/shared/fair-lending.ts';
import type { DemographicsRecord } from '../../services/simulator/source.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { driftEnv, startDrift, TopicReader } from './helpers.ts';
import { demographicsRecords, scoredRecords, type StreamOptions } from '../../support/scoring-log.ts';

const WINDOW_MS = 60_000;
const STEP_MS = 10;
const PER_WINDOW = WINDOW_MS / STEP_MS;
const T0 = Math.floor(1_790_000_000_000 / WINDOW_MS) * WINDOW_MS;
const K0 = T0 / WINDOW_MS;
const WINDOWS = 7; // 0..5 close; the last stays open
const CHUNK = 1500;
const DISPARITY = { from: 2 * PER_WINDOW, until: 4 * PER_WINDOW, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 };

type Restartable = { group: { restart(cause: unknown, client?: string): void } };

describe('fairness windows on the stream', () => {
  let service: DriftService | undefined;
  let model: ModelHost | undefined;
  const readers: TopicReader<unknown>[] = [];
  afterAll(async () => {
    await Promise.all(readers.map((r) => r.stop()));
    await service?.stop();
    await model?.close();
  });

  it('publishes each window once with the exact counts of the raw topics joined; a disparity raises the alert within two windows and recovery clears it', async () => {
    const topics = uniqueTopics('fairness');
    await createTopics(topics, ['scoringLog', 'outcomes', 'demographics', 'driftPartials', 'driftWindows', 'driftAlerts', 'fairnessWindows']);
    const registry = registryClient();
    const [logSchema, demoSchema] = await Promise.all([registry.registerValueSchema(topics.scoringLog!, 'scoring-log'), registry.registerValueSchema(topics.demographics!, 'applicant-demographics')]);
    await Promise.all([registry.warm(logSchema), registry.warm(demoSchema)]);
    model = await ModelHost.load(initialModelDir());
    service = await startDrift(driftEnv(topics, { DRIFT_WINDOW_SIZE: '60s', DRIFT_ALLOWED_LATENESS: '2s', DRIFT_IDLE_TIMEOUT: '2s', DRIFT_FAIRNESS_MAX_WAIT: '20s' }), 'fairness');
    const s = service as unknown as { instance: Restartable };
    const fairness = await TopicReader.of<FairnessWindowValue>(topics.fairnessWindows!, FAIRNESS_WINDOW_RECORD);
    const decisionsBack = await TopicReader.of<ScoringLogRecord>(topics.scoringLog!, SCORING_LOG_RECORD);
    const demographicsBack = await TopicReader.of<DemographicsRecord>(topics.demographics!, DEMOGRAPHICS_RECORD);
    readers.push(fairness, decisionsBack, demographicsBack);

    const o: StreamOptions = { seed: 19, runId: 'fairness', count: WINDOWS * PER_WINDOW, t0: T0, stepMs: STEP_MS, disparity: DISPARITY };
    const producer = kafkaClient('fairness-producer').producer();
    await producer.connect();
    try {
      for (let i = 0; i < o.count; i += CHUNK) {
        const records = await scoredRecords(model, o, i, CHUNK);
        const demographics = demographicsRecords(o, i, CHUNK);
        // Demographics first for most chunks (the simulator's order), after the decisions for some.
        const decisionsOut = { topic: topics.scoringLog!, messages: records.map((r) => ({ key: r.application_id, value: registry.encodeSync(logSchema, r) })) };
        const demographicsOut = { topic: topics.demographics!, messages: demographics.map((d) => ({ key: d.application_id, value: registry.encodeSync(demoSchema, d) })) };
        await producer.send((i / CHUNK) % 3 === 2 ? [decisionsOut, demographicsOut] : [demographicsOut, decisionsOut]);
        if (i === 9 * CHUNK) s.instance.group.restart(new ServiceError('STATE_INVALID', 'test: replace the instance session mid-window', true));
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitUntil(`${WINDOWS - 1} fairness windows`, () => new Set(fairness.values.map((v) => v.value.window_index)).size >= WINDOWS - 1, 120_000, 200);
      await waitUntil('every record read back', () => decisionsBack.values.length >= o.count && demographicsBack.values.length >= o.count, 60_000, 200);
      await new Promise((r) => setTimeout(r, 2000)); // nothing more may come
    } finally {
      await producer.disconnect();
    }

    const windows = fairness.values.map((v) => v.value).sort((a, b) => a.window_index - b.window_index);
    expect(windows.map((w) => w.window_index - K0), 'each window published once, in order').toEqual([0, 1, 2, 3, 4, 5]);

    // The join recomputed from the raw topics as read back (read_committed).
    const layout = fairnessLayout(fairLending().attributes);
    const groups = new Map(demographicsBack.values.map(({ value: d }) => [d.application_id, { race_ethnicity: d.race_ethnicity, sex: d.sex }]));
    expect(groups.size).toBe(o.count);
    const expected = new Map<number, Float64Array>();
    for (const { value: r } of decisionsBack.values) {
      const k = Math.floor(r.submitted_at / WINDOW_MS);
      if (!expected.has(k)) expected.set(k, emptyCounts(layout));
      addDecision(expected.get(k)!, layout, groups.get(r.application_id), r.decision as Decision, r.probability_of_default);
    }
    for (const w of windows) {
      expect(w.layout).toBe(layout.id);
      expect(w.decisions, `window ${w.window_index - K0}: decisions`).toBe(PER_WINDOW);
      expect(w.unjoined).toBe(0);
      const want = Array.from(expected.get(w.window_index)!);
      // Exact counts; score sums exact up to the order of additions.
      w.counts.forEach((c, i) => expect(c, `window ${w.window_index - K0}, cell ${i}`).toBeCloseTo(want[i]!, 6));
    }

    // The alert: raised on the first window of the disparity, held, cleared on the first window after it.
    const flagged = windows.map((w) => w.flagged.includes('race_ethnicity:BLACK'));
    expect(flagged).toEqual([false, false, true, true, false, false]);
    expect(windows.map((w) => w.transition)).toEqual(['NONE', 'NONE', 'RAISED', 'NONE', 'CLEARED', 'NONE']);
    const black = (w: FairnessWindowValue) => w.attributes.find((a) => a.attribute === 'race_ethnicity')!.groups.find((g) => g.group === 'BLACK')!;
    for (const k of [2, 3]) expect(black(windows[k]!)).toMatchObject({ flagged: true, enough: true });
    expect(black(windows[2]!).air!).toBeLessThan(0.8);
    expect(black(windows[2]!).p_value!).toBeLessThan(0.05);
    expect(black(windows[1]!).air!).toBeGreaterThanOrEqual(0.8);

    // /fairness and the gauges: the latest window (5), no alert.
    const drift = service;
    await waitUntil('the view shows window 5', async () => ((await (await fetch(`${drift.httpAddress}/fairness`)).json()) as { latest: { window_index: number } | null }).latest?.window_index === K0 + 5, 30_000, 200);
    const summary = (await (await fetch(`${drift.httpAddress}/fairness`)).json()) as { alert: boolean; history: { window_index: number; alert: boolean }[] };
    expect(summary.alert).toBe(false);
    expect(summary.history.filter((h) => h.alert).map((h) => h.window_index - K0)).toEqual([2, 3]);
    const metrics = await (await fetch(`${drift.httpAddress}/metrics`)).text();
    expect(metrics).toMatch(/^drift_fairness_flagged\{attribute="race_ethnicity",group="BLACK"\} 0$/m);
    expect(metrics).toMatch(/^drift_fairness_air\{attribute="race_ethnicity",group="BLACK"\} 0\.\d+$/m);
    expect(metrics).toMatch(/^drift_kafka_client_restarts_total\{client="instance-consumer",reason="STATE_INVALID"\} 1$/m);
    expect(drift.deadReasons()).toEqual([]);
  });
});
