/**
 * The provisioned Grafana dashboard: well-formed, every query is valid PromQL (parsed by promtool), every
 * query uses the provisioned datasource, and it shows what operators need. That every metric it names is
 * exported by a service is checked against the real /metrics pages in live-metrics.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { grafanaVariableMetricNames, metricNames } from './promql.ts';
import { allPanels, dashboardQueries, loadDashboards } from './rules.ts';
import { run, tool } from './tools.ts';

const PROVISIONING = join(REPO_ROOT, 'infra', 'grafana', 'provisioning');

/** Grafana's macros and variables replaced by what they expand to, so the query can be parsed as PromQL. */
const expand = (expr: string) => expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?\w+\}?/g, '.*');

describe('Grafana provisioning and dashboards', () => {
  const dashboards = loadDashboards();
  const datasources = parse(readFileSync(join(PROVISIONING, 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] };
  const dsUid = datasources.datasources.find((d) => d.type === 'prometheus')!.uid;
  const tmp = mkdtempSync(join(tmpdir(), 'ops-grafana-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has the credit-risk dashboard', () => {
    expect(dashboards.map((d) => d.dashboard.uid)).toContain('credit-risk');
  });

  it('panels have unique ids, a grid position, and do not overlap', () => {
    for (const { file, dashboard } of dashboards) {
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos! }));
      for (const b of boxes) {
        expect(b.w, `${file} ${b.title}`).toBeGreaterThan(0);
        expect(b.x + b.w, `${file} ${b.title}`).toBeLessThanOrEqual(24);
      }
      const overlaps: string[] = [];
      boxes.forEach((a, i) =>
        boxes.slice(i + 1).forEach((b) => {
          if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${a.title} / ${b.title}`);
        }),
      );
      expect(overlaps, file).toEqual([]);
    }
  });

  it('every query uses the provisioned Prometheus datasource and has a unique refId in its panel', () => {
    for (const { file, dashboard } of dashboards) {
      for (const p of allPanels(dashboard)) {
        const refs = (p.targets ?? []).map((t) => t.refId);
        expect(new Set(refs).size, `${file} ${p.title}`).toBe(refs.length);
        for (const t of p.targets ?? []) expect(t.datasource?.uid ?? p.datasource?.uid, `${file} ${p.title}`).toBe(dsUid);
      }
      for (const v of dashboard.templating?.list ?? []) if (v.type === 'query') expect(v.datasource?.uid, `${file} $${v.name}`).toBe(dsUid);
    }
  });

  it('every query is valid PromQL (promtool parses each one as a recording rule)', () => {
    const rules: { record: string; expr: string }[] = [];
    for (const { dashboard } of dashboards) {
      for (const q of dashboardQueries(dashboard)) {
        const expr = q.variable ? grafanaVariableMetricNames(q.expr).join(' or ') : expand(q.expr);
        rules.push({ record: `dashboard:query:${rules.length}`, expr });
      }
    }
    expect(rules.length).toBeGreaterThan(15);
    const file = join(tmp, 'dashboard-queries.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = run(tool('promtool'), ['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
  });

  it('shows throughput, lag, latency percentiles, dead letters, decisions, model versions, PSI per feature and outcome AUC', () => {
    const d = dashboards.find((x) => x.dashboard.uid === 'credit-risk')!.dashboard;
    const used = new Set(dashboardQueries(d).flatMap((q) => metricNames(q.expr)));
    for (const m of [
      'scorer_applications_scored_total',
      'scorer_messages_consumed_total',
      'scorer_consumer_lag',
      'scorer_end_to_end_latency_seconds_bucket',
      'scorer_inference_duration_seconds_bucket',
      'scorer_dead_letters_total',
      'scorer_decisions_total',
      'scorer_model_info',
      'drift_psi',
      'drift_performance_roc_auc',
    ]) {
      expect(used, m).toContain(m);
    }
    const e2e = dashboardQueries(d).filter((q) => q.expr.includes('scorer_end_to_end_latency_seconds_bucket') && q.expr.startsWith('histogram_quantile'));
    expect(new Set(e2e.map((q) => /histogram_quantile\(([\d.]+)/.exec(q.expr)![1]))).toEqual(new Set(['0.5', '0.9', '0.99']));
    expect(allPanels(d).some((p) => p.type === 'state-timeline' && p.targets?.some((t) => t.expr?.includes('scorer_model_info')))).toBe(true);
  });

  it('the dashboard provider loads the folder docker-compose.yml mounts, and the datasource points at the compose Prometheus', () => {
    const provider = parse(readFileSync(join(PROVISIONING, 'dashboards', 'credit-risk.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes?: string[]; ports?: string[] }> };
    const mounts = compose.services.grafana!.volumes ?? [];
    expect(mounts).toContain(`./infra/grafana/dashboards:${provider.providers[0]!.options.path}:ro`);
    expect(mounts).toContain('./infra/grafana/provisioning:/etc/grafana/provisioning:ro');
    const url = new URL(datasources.datasources[0]!.url);
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(url.port).toBe('9090');
  });
});
