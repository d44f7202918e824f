/**
 * The spine, end to end on the real broker and registry: 10,000 applications with 5% invalid ones of every
 * kind -> exactly 9,500 decisions and log records, exactly 500 dead letters each with a reason, lag 0; and
 * POST /predict returns the Kafka path's probability and reasons for the same application; every
 * REVIEW/DECLINE decision carries 1-4 reasons and every log record its contributions.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { EXPECTED_CODE, INVALID_KINDS } from '../../services/simulator/invalid.ts';
import { produceApplications, type ProduceStats } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { reasonCatalogue } from '../../services/scorer/explain/reasons.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';

const N = 10_000;
const INVALID_SHARE = 0.05;

describe('scorer end to end (exactly-once)', () => {
  const topics = uniqueTopics('e2e');
  const groupId = `scorer-e2e-${randomUUID().slice(0, 8)}`;
  const source = populationSource({ seed: 11, runId: 'e2e' });
  let registry: AvroRegistry;
  let service: ScorerService;
  let stats: ProduceStats;
  let decoded: { decisions: Record<string, unknown>[]; logs: Record<string, unknown>[]; dead: Record<string, unknown>[] };

  beforeAll(async () => {
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(schemaId);
    const producer = kafkaClient('e2e-producer').producer();
    await producer.connect();
    stats = await produceApplications(producer, registry, schemaId, source, { topic: topics.applications!, count: N, invalidShare: INVALID_SHARE, collectIds: true });
    await producer.disconnect();

    const config = loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: groupId, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'e2e' }));
    service = new ScorerService(config, createLogger('scorer', 'warn'));
    await service.start();

    const [d, l, x] = await Promise.all([
      readTopic(topics.decisions!, { expected: N * (1 - INVALID_SHARE) }),
      readTopic(topics.scoringLog!, { expected: N * (1 - INVALID_SHARE) }),
      readTopic(topics.deadLetters!, { expected: N * INVALID_SHARE }),
    ]);
    decoded = { decisions: await decodeValues(registry, d.messages), logs: await decodeValues(registry, l.messages), dead: await decodeValues(registry, x.messages) };
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('produced the planned mix', () => {
    expect(stats.sent).toBe(N);
    expect(stats.invalid).toBe(500);
    expect(Object.keys(stats.byKind).sort()).toEqual([...INVALID_KINDS].sort());
  });

  it('commits exactly one decision per valid application, no duplicates, none for invalid ones', () => {
    const ids = decoded.decisions.map((d) => d.application_id as string);
    expect(ids.length).toBe(9500);
    expect(new Set(ids).size).toBe(9500);
    expect(new Set(ids)).toEqual(new Set(stats.validIds));
  });

  it('commits exactly one scoring-log record per decision, with the same probability and the features', () => {
    expect(decoded.logs.length).toBe(9500);
    const byId = new Map(decoded.decisions.map((d) => [d.application_id, d]));
    for (const log of decoded.logs.slice(0, 500)) {
      const d = byId.get(log.application_id)!;
      expect(log.probability_of_default).toBe(d.probability_of_default);
      expect(Object.keys(log.features as object).length).toBe(7);
      expect(log.model_version).toBe('1');
    }
  });

  it('dead-letters exactly the 500 invalid messages, each with a reason and the original bytes', () => {
    expect(decoded.dead.length).toBe(500);
    const codes: Record<string, number> = {};
    for (const d of decoded.dead) {
      codes[d.error_code as string] = (codes[d.error_code as string] ?? 0) + 1;
      expect((d.reason as string).length).toBeGreaterThan(10);
      expect(Buffer.isBuffer(d.original_value)).toBe(true);
      if (d.error_code === 'VALIDATION_FAILED') expect((d.field_errors as unknown[]).length).toBeGreaterThan(0);
    }
    const expected: Record<string, number> = {};
    for (const [kind, n] of Object.entries(stats.byKind)) expected[EXPECTED_CODE[kind as keyof typeof EXPECTED_CODE]] = (expected[EXPECTED_CODE[kind as keyof typeof EXPECTED_CODE]] ?? 0) + n!;
    expect(codes).toEqual(expected);
    // Each kind names its field and rule: the history kind exactly one error on credit_history_length; the
    // under-age kind (age 15) breaks both the age floor and history <= age - 18.
    const rulesOf = (d: Record<string, unknown>) => (d.field_errors as { field: string; rule: string }[]).map((e) => `${e.field}:${e.rule}`).sort().join(',');
    const count = (rules: string) => decoded.dead.filter((d) => rulesOf(d) === rules).length;
    expect(count('credit_history_length:history_le_age_minus_18')).toBe(stats.byKind.history_exceeds_age);
    expect(count('age:min,credit_history_length:history_le_age_minus_18')).toBe(stats.byKind.age_out_of_range);
    expect(count('annual_income:gt')).toBe(stats.byKind.negative_income);
    expect(count('debt_to_income_ratio:max')).toBe(stats.byKind.dti_out_of_range);
    expect(count('loan_amount:finite')).toBe(stats.byKind.non_finite_amount);
  });

  it('decisions carry policy outputs, model identity and source coordinates', () => {
    for (const d of decoded.decisions.slice(0, 200)) {
      const p = d.probability_of_default as number;
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      expect(d.risk_category).toBe(p >= 0.6 ? 'HIGH' : p >= 0.3 ? 'MEDIUM' : 'LOW');
      expect(d.model_name).toBe('credit-default-classifier');
      expect(d.source_topic).toBe(topics.applications);
    }
  });

  it('every REVIEW/DECLINE decision carries 1-4 catalogue reasons, APPROVE none; the log carries every contribution and the bias', () => {
    const codes = new Map(reasonCatalogue().reasons.map((r) => [r.code, r]));
    const logs = new Map(decoded.logs.map((l) => [l.application_id, l]));
    const seen = { APPROVE: 0, REVIEW: 0, DECLINE: 0 } as Record<string, number>;
    const wrong: string[] = [];
    const features = [...FEATURE_NAMES].sort().join(',');
    for (const d of decoded.decisions) {
      const id = d.application_id as string;
      const reasons = d.reasons as { code: string; feature: string; text: string; contribution: number }[];
      seen[d.decision as string]!++;
      if (d.decision === 'APPROVE' && reasons.length !== 0) wrong.push(`${id}: APPROVE with reasons`);
      if (d.decision !== 'APPROVE' && (reasons.length < 1 || reasons.length > 4)) wrong.push(`${id}: ${d.decision} with ${reasons.length} reasons`);
      for (const r of reasons) {
        const entry = codes.get(r.code);
        if (!entry || entry.feature !== r.feature || entry.text !== r.text || !(r.contribution > 0)) wrong.push(`${id}: reason ${JSON.stringify(r)} not from the catalogue`);
      }
      const log = logs.get(id)!;
      if ((log.reason_codes as string[]).join(',') !== reasons.map((r) => r.code).join(',')) wrong.push(`${id}: log reason codes differ`);
      const contributions = log.contributions as Record<string, number>;
      if (Object.keys(contributions).sort().join(',') !== features) wrong.push(`${id}: log contributions ${Object.keys(contributions)}`);
      const margin = (log.contribution_bias as number) + Object.values(contributions).reduce((a, b) => a + b, 0);
      const p = d.probability_of_default as number;
      if (!(Math.abs(margin - Math.log(p / (1 - p))) < 1e-5)) wrong.push(`${id}: bias + contributions ${margin} != logit(${p})`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(seen.REVIEW! + seen.DECLINE!).toBeGreaterThan(500);
  });

  it('leaves no consumer lag', async () => {
    await waitUntil('lag 0', async () => (await groupLag(groupId, topics.applications!)) === 0, 30_000);
  });

  it('POST /predict returns the Kafka path probability for the same application, and 422 naming the field', async () => {
    const base = `http://${service.httpAddress!.replace(/^https?:\/\//, '')}`;
    const byId = new Map(decoded.decisions.map((d) => [d.application_id, d]));
    let compared = 0;
    let withReasons = 0;
    for (let i = 0; i < 200 && (compared < 20 || withReasons < 5); i++) {
      const app = source(i);
      const kafkaDecision = byId.get(app.application_id);
      if (!kafkaDecision) continue;
      const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(app) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.probability_of_default).toBe(kafkaDecision.probability_of_default);
      expect(body.decision).toBe(kafkaDecision.decision);
      expect(body.reasons).toEqual(kafkaDecision.reasons);
      if ((kafkaDecision.reasons as unknown[]).length > 0) withReasons++;
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(20);
    expect(withReasons).toBeGreaterThanOrEqual(5);
    const bad = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...source(0), debt_to_income_ratio: 11 }) });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { field_errors: { field: string; rule: string }[] };
    expect(body.field_errors).toEqual([{ field: 'debt_to_income_ratio', rule: 'max', message: 'must be at most 10' }]);
  });

  it('reports ready and exposes metrics', async () => {
    const base = `http://${service.httpAddress!.replace(/^https?:\/\//, '')}`;
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/scorer_applications_scored_total 9500/);
    expect(metrics).toMatch(/scorer_dead_letters_total\{code="VALIDATION_FAILED"\} \d+/);
    expect(metrics).toMatch(/scorer_model_info\{model="credit-default-classifier",version="1"\} 1/);
  });
});
