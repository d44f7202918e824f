/**
 * Metrics of the running services, and the real Prometheus scraping them. Every service in services.ts
 * whose entry point exists runs as a child process on the test broker; 300 applications (10% invalid)
 * go through the scorer. Then:
 *  - `promtool check metrics` passes on each /metrics page, and the names follow the conventions;
 *  - every metric named in the alert rules and the Grafana dashboards is on some service's /metrics page;
 *  - the real Prometheus binary, scraping the services with the repository's rule files loaded, returns the
 *    series through its HTTP API and evaluates every rule without error.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, kafkaClient, registryClient, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { parseExposition, type Exposition } from './exposition.ts';
import { startPrometheus, type PrometheusHandle } from './prometheus.ts';
import { grafanaVariableMetricNames, metricNames, SYNTHETIC_SERIES } from './promql.ts';
import { dashboardQueries, loadDashboards, loadRules, RULES_DIR, ymlFiles } from './rules.ts';
import { existingServices, getText, OPS_SERVICES, startOpsService, type RunningService } from './services.ts';
import { run, tool } from './tools.ts';

const N = 300;
const INVALID_SHARE = 0.1;
const VALID = N * (1 - INVALID_SHARE);

/** Label names that would make a series per application, message or person. */
const FORBIDDEN_LABELS = /^(application_?id|id|key|offset|user|customer|email|name_of_applicant|trace_?id|request_?id|timestamp)$/i;

describe('service metrics and the real Prometheus', () => {
  const id = randomUUID().slice(0, 8);
  const topics = uniqueTopics('ops-live');
  const services = existingServices();
  const running: RunningService[] = [];
  const pages = new Map<string, { text: string; parsed: Exposition }>();
  let prometheus: PrometheusHandle | undefined;

  beforeAll(async () => {
    await createTopics(topics, [...new Set(services.flatMap((s) => s.roles))]);
    for (const s of services) running.push(await startOpsService(s, topics, id));
    const scorer = running.find((r) => r.service.name === 'scorer')!;
    await waitUntil('scorer ready', () => fetch(`${scorer.url}/ready`).then((r) => r.ok, () => false), 90_000);

    const registry = registryClient();
    const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
    await registry.warm(schemaId);
    const producer = kafkaClient('ops-live-producer').producer();
    await producer.connect();
    await produceApplications(producer, registry, schemaId, populationSource({ seed: 5, runId: `ops-${id}` }), { topic: topics.applications!, count: N, invalidShare: INVALID_SHARE });
    await producer.disconnect();
    await waitUntil(
      `scorer scored ${VALID}`,
      async () => (await getText(`${scorer.url}/metrics`)).includes(`\nscorer_applications_scored_total ${VALID}\n`),
      120_000,
      500,
    );
    for (const r of running) {
      const text = await getText(`${r.url}/metrics`);
      pages.set(r.service.name, { text, parsed: parseExposition(text) });
    }
    prometheus = await startPrometheus({
      targets: running.map((r) => ({ job: r.service.name, address: `127.0.0.1:${r.port}` })),
      ruleFiles: ymlFiles(RULES_DIR),
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(running.map((r) => r.stop()));
  });

  it('covers every service that has metrics (services/*/metrics.ts has an entry in test/ops/services.ts)', () => {
    const withMetrics = readdirSync(join(REPO_ROOT, 'services')).filter((d) => existsSync(join(REPO_ROOT, 'services', d, 'metrics.ts')));
    const catalogued = new Set(OPS_SERVICES.map((s) => s.name));
    expect(withMetrics.filter((d) => !catalogued.has(d))).toEqual([]);
    expect(services.map((s) => s.name)).toContain('scorer');
    console.info(`[ops] services under test: ${services.map((s) => s.name).join(', ')}`);
  });

  it('promtool check metrics passes on every /metrics page', () => {
    const promtool = tool('promtool');
    for (const [name, page] of pages) {
      const r = run(promtool, ['check', 'metrics'], { input: page.text });
      expect(r.status, `${name}: ${r.output}`).toBe(0);
    }
  });

  it('names follow the conventions: counters end in _total and only counters do, durations in seconds, no per-record labels', () => {
    const problems: string[] = [];
    for (const [service, page] of pages) {
      for (const f of page.parsed.families.values()) {
        if (!f.help) problems.push(`${service}: ${f.name} has no HELP`);
        if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${service}: counter ${f.name} does not end in _total`);
        if (f.type !== 'counter' && f.name.endsWith('_total')) problems.push(`${service}: ${f.type} ${f.name} ends in _total`);
        if (/(duration|latency|_time)(?!stamp)/.test(f.name) && !/_seconds(_total)?$/.test(f.name)) problems.push(`${service}: ${f.name} measures time but is not in seconds`);
        if (/_(ms|milliseconds|minutes|hours|bytes_kb|kb|mb)(_|$)/.test(f.name)) problems.push(`${service}: ${f.name} is not in base units`);
        for (const l of f.labels) if (FORBIDDEN_LABELS.test(l)) problems.push(`${service}: ${f.name} has per-record label ${l}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the service-specific families carry the service prefix', () => {
    for (const [service, page] of pages) {
      const own = [...page.parsed.families.keys()].filter((n) => !/^(process|nodejs)_/.test(n));
      expect(own.length, service).toBeGreaterThan(0);
      expect(own.filter((n) => !n.startsWith(`${service}_`)), service).toEqual([]);
    }
  });

  it('every metric named in the alert rules and the dashboards is on some service /metrics page', () => {
    const exported = new Set([...pages.values()].flatMap((p) => [...p.parsed.seriesNames]));
    const missing: string[] = [];
    for (const r of loadRules()) for (const m of metricNames(r.expr)) if (!exported.has(m) && !SYNTHETIC_SERIES.has(m)) missing.push(`rule ${r.alert ?? r.record}: ${m}`);
    for (const { file, dashboard } of loadDashboards()) {
      for (const q of dashboardQueries(dashboard)) {
        const names = q.variable ? grafanaVariableMetricNames(q.expr) : metricNames(q.expr);
        expect(names.length, `${file} ${q.where} names no metric: ${q.expr}`).toBeGreaterThan(0);
        for (const m of names) if (!exported.has(m) && !SYNTHETIC_SERIES.has(m)) missing.push(`${file} ${q.where}: ${m}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('Prometheus scrapes every service and returns the scorer series through its HTTP API', async () => {
    const p = prometheus!;
    await waitUntil(
      'prometheus sees scored applications',
      async () => (await p.query('scorer_applications_scored_total'))[0]?.value[1] === String(VALID),
      60_000,
      500,
    );
    // Each job is scraped on its own schedule: wait for every one's first scrape before asserting it is up.
    for (const s of services) {
      await waitUntil(`a scrape of ${s.name}`, async () => (await p.query(`up{job="${s.name}"}`)).length > 0, 30_000, 250);
      const up = await p.query(`up{job="${s.name}"}`);
      expect(up.map((u) => u.value[1]), s.name).toEqual(['1']);
    }
    const decisions = await p.query('sum(scorer_decisions_total)');
    expect(Number(decisions[0]!.value[1])).toBe(VALID);
    const byDecision = await p.query('sum by (decision) (scorer_decisions_total)');
    expect(byDecision.length).toBeGreaterThanOrEqual(2);
    const dead = await p.query('sum(scorer_dead_letters_total)');
    expect(Number(dead[0]!.value[1])).toBe(N - VALID);
    const model = await p.query('scorer_model_info');
    expect(model.map((m) => m.metric.version)).toEqual(['1']);
    const loadedAgo = await p.query('time() - scorer_model_loaded_timestamp_seconds');
    expect(Number(loadedAgo[0]!.value[1])).toBeGreaterThan(0);
    expect(Number(loadedAgo[0]!.value[1])).toBeLessThan(600);
    const lagSeries = await p.query('scorer_consumer_lag');
    expect(lagSeries.length).toBe(6);
  });

  it('Prometheus loads every rule file and evaluates every rule without error; no scorer alert fires on a healthy run', async () => {
    const p = prometheus!;
    const expected = loadRules().length;
    type Groups = { groups: { name: string; rules: { name: string; health: string; lastError?: string; state?: string; lastEvaluation: string }[] }[] };
    await waitUntil(
      'every rule evaluated',
      async () => {
        const rules = (await p.api<Groups>('/api/v1/rules')).groups.flatMap((g) => g.rules);
        return rules.length === expected && rules.every((r) => !r.lastEvaluation.startsWith('0001'));
      },
      60_000,
      500,
    );
    const rules = (await p.api<Groups>('/api/v1/rules')).groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    // Before the first scrape ScorerAbsent is pending; once the scorer is scraped every scorer alert is inactive.
    const activeScorerAlerts = async () =>
      (await p.api<Groups>('/api/v1/rules')).groups.flatMap((g) => g.rules).filter((r) => r.state !== 'inactive' && r.name.startsWith('Scorer')).map((r) => `${r.name}: ${r.state}`);
    await waitUntil('scorer alerts inactive', async () => (await activeScorerAlerts()).length === 0, 30_000, 500).catch(() => undefined);
    expect(await activeScorerAlerts()).toEqual([]);
  });
});
