/**
 * The HTTP contracts: each service serves an OpenAPI 3.1 document at /docs/json built from its route schemas
 * (derived from schemas/*.avsc where a route returns a record), and what the routes answer conforms to it.
 * The scorer is served by the real ONNX model of `make model`.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDriftHttp, type DriftHttpDeps } from '../../services/drift/http/http.ts';
import { fairnessWindowValue } from '../../services/drift/fairness/codec.ts';
import { addDecision, emptyCounts, fairnessLayout } from '../../services/drift/fairness/layout.ts';
import { DEFAULT_FAIRNESS_OPTIONS, summarizeFairness } from '../../services/drift/fairness/summary.ts';
import { fairLending } from '../../services/shared/fair-lending.ts';
import { createScorerInstrumentation } from '../../services/scorer/events.ts';
import { buildHttp } from '../../services/scorer/http.ts';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { DEFAULT_POLICY } from '../../services/scorer/policy.ts';
import { FEATURE_NAMES, loadSchema } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: object }> }; responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });

async function openApi(app: FastifyInstance): Promise<OpenApi> {
  const res = await app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  return res.json() as OpenApi;
}

/** Asserts that `body` conforms to the documented schema of `path`/`method`/`status` (JSON content). */
function expectConforms(doc: OpenApi, path: string, method: string, status: number, body: unknown): void {
  const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema;
  expect(schema, `${method.toUpperCase()} ${path} documents a ${status} JSON response`).toBeDefined();
  const validate = ajv.compile(schema!);
  expect(validate(body), `${method.toUpperCase()} ${path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
}

function application(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    application_id: 'http-1',
    submitted_at: Date.now() - 1000,
    age: 41,
    annual_income: 52_000,
    debt_to_income_ratio: 0.35,
    credit_history_length: 12,
    num_open_accounts: 4,
    num_late_payments: 1,
    loan_amount: 15_000,
    ...overrides,
  };
}

describe('scorer OpenAPI', () => {
  let model: ModelHost;
  let app: FastifyInstance;
  let alive: string[] = [];
  beforeAll(async () => {
    model = await ModelHost.load(initialModelDir());
    app = await buildHttp({
      model: () => model,
      policy: DEFAULT_POLICY,
      metrics: new Registry(),
      events: createScorerInstrumentation(),
      notReadyReasons: () => ['consumer has not joined the group'],
      notAliveReasons: () => alive,
      state: () => 'running',
    });
  });
  afterAll(async () => {
    await app?.close();
    await model?.close();
  });

  it('documents /predict with the loan-application body and loan-decision response from schemas/', async () => {
    const doc = await openApi(app);
    expect(doc.openapi).toBe('3.1.0');
    const predict = doc.paths['/predict']!.post!;
    const body = predict.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(body.properties)).toEqual(loadSchema('loan-application').fields.map((f) => f.name));
    expect(body.required).toEqual(expect.arrayContaining(['application_id', 'submitted_at', ...FEATURE_NAMES]));
    const ok = predict.responses['200']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
    expect(Object.keys(ok.properties)).toEqual(loadSchema('loan-decision').fields.map((f) => f.name));
    expect(Object.keys(doc.paths).sort()).toEqual(['/health', '/metrics', '/predict', '/ready']);
  });

  it('answers /predict as documented: 200 with a decision, 422 naming the field and rule', async () => {
    const doc = await openApi(app);
    const good = await app.inject({ method: 'POST', url: '/predict', payload: application() });
    expect(good.statusCode).toBe(200);
    expectConforms(doc, '/predict', 'post', 200, good.json());
    expect(good.json()).toMatchObject({ application_id: 'http-1', model_version: model.version, source_topic: 'http', source_partition: -1 });

    // A string where a number belongs is refused, not coerced (route schemas document; the zod rules decide).
    const bad = await app.inject({ method: 'POST', url: '/predict', payload: application({ annual_income: '52000', age: 12 }) });
    expect(bad.statusCode).toBe(422);
    expectConforms(doc, '/predict', 'post', 422, bad.json());
    const fields = (bad.json() as { field_errors: { field: string }[] }).field_errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['annual_income', 'age']));
  });

  it('answers /health and /ready as documented; liveness fails with its reasons', async () => {
    const doc = await openApi(app);
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expectConforms(doc, '/ready', 'get', 503, ready.json());
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expectConforms(doc, '/health', 'get', 200, health.json());
    alive = ['consumer applications is dead since 40 s'];
    const dead = await app.inject({ method: 'GET', url: '/health' });
    expect(dead.statusCode).toBe(503);
    expectConforms(doc, '/health', 'get', 503, dead.json());
    expect(dead.json()).toMatchObject({ status: 'failing', reasons: alive });
    alive = [];
  });

  it('serves /metrics as Prometheus text', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });
});

describe('drift monitor OpenAPI', () => {
  // A fairness window with a flagged group, a group without decisions (NaN rates) and one below the minimum count.
  const layout = fairnessLayout(fairLending().attributes);
  const counts = emptyCounts(layout);
  for (let i = 0; i < 400; i++) addDecision(counts, layout, { race_ethnicity: 'WHITE', sex: i % 2 ? 'MALE' : 'FEMALE' }, i % 4 ? 'APPROVE' : 'DECLINE', 0.2);
  for (let i = 0; i < 300; i++) addDecision(counts, layout, { race_ethnicity: 'BLACK', sex: 'FEMALE' }, i % 2 ? 'APPROVE' : 'DECLINE', 0.4);
  for (let i = 0; i < 20; i++) addDecision(counts, layout, { race_ethnicity: 'ASIAN', sex: 'MALE' }, 'APPROVE', 0.1);
  const fairWindow = fairnessWindowValue({ index: 7, start: 0, end: 30_000, counts, partitions: [0, 1] }, layout, summarizeFairness(counts, layout), DEFAULT_FAIRNESS_OPTIONS, { windowing: 'time:size=30000:hop=30000:lateness=5000', deployment: 'd', previousFlagged: [] }, 1);
  const deps: DriftHttpDeps = {
    fairness: { enabled: true, options: DEFAULT_FAIRNESS_OPTIONS, references: { race_ethnicity: 'WHITE', sex: 'MALE' }, history: () => [fairWindow] },
    metrics: new Registry(),
    instance: 'drift-test',
    windowing: 'count:size=1000:hop=1000',
    bands: { warn: 0.1, alert: 0.25 },
    reference: { modelName: 'credit-default-classifier', version: '1', records: Number.POSITIVE_INFINITY },
    targets: ['age', 'score'],
    history: () => [],
    alerts: () => [],
    aggregatorActive: () => true,
    partitions: () => [0, 1],
    notReadyReasons: () => [],
    notAliveReasons: () => [],
    state: () => 'running',
  };

  it('answers /drift as documented (non-finite numbers as null) and serves the report as HTML', async () => {
    const app = await buildDriftHttp(deps);
    try {
      const doc = await openApi(app);
      expect(Object.keys(doc.paths).sort()).toEqual(['/drift', '/drift/report', '/fairness', '/health', '/metrics', '/ready']);
      const fair = await app.inject({ method: 'GET', url: '/fairness' });
      expect(fair.statusCode).toBe(200);
      expectConforms(doc, '/fairness', 'get', 200, fair.json());
      const f = fair.json() as { alert: boolean; latest: { transition: string; flagged: string[]; attributes: { groups: { group: string; air: number | null; approval_rate: number | null; flagged: boolean }[] }[] } };
      expect(f).toMatchObject({ alert: true, latest: { transition: 'RAISED', flagged: ['race_ethnicity:BLACK', 'sex:FEMALE'] } });
      const race = f.latest.attributes[0]!.groups;
      expect(race.find((g) => g.group === 'BLACK')).toMatchObject({ air: 0.5 / 0.75, flagged: true });
      expect(race.find((g) => g.group === 'ASIAN')!.air).toBeNull();
      expect(race.find((g) => g.group === 'HISPANIC')!.approval_rate).toBeNull();
      expect(f.latest).not.toHaveProperty('counts');
      const res = await app.inject({ method: 'GET', url: '/drift' });
      expect(res.statusCode).toBe(200);
      expectConforms(doc, '/drift', 'get', 200, res.json());
      expect((res.json() as { reference: { records: unknown } }).reference.records).toBeNull();
      const report = await app.inject({ method: 'GET', url: '/drift/report' });
      expect(report.statusCode).toBe(200);
      expect(report.headers['content-type']).toMatch(/^text\/html/);
      expect(report.body).toMatch(/<html/i);
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expectConforms(doc, '/ready', 'get', 200, ready.json());
    } finally {
      await app.close();
    }
  });
});
