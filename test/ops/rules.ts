/** The alert rules, their promtool unit tests and the dashboard, read from infra/ (the files under test). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

export const PROMETHEUS_DIR = join(REPO_ROOT, 'infra', 'prometheus');
export const RULES_DIR = join(PROMETHEUS_DIR, 'rules');
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, 'tests');
export const DASHBOARDS_DIR = join(REPO_ROOT, 'infra', 'grafana', 'dashboards');

export const ymlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yml')).sort().map((f) => join(dir, f));

export interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly file: string;
}

export function loadRules(): Rule[] {
  return ymlFiles(RULES_DIR).flatMap((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: Omit<Rule, 'file'>[] }[] };
    return doc.groups.flatMap((g) => g.rules.map((r) => ({ ...r, file })));
  });
}

export interface RuleTestCase {
  readonly alertname: string;
  readonly exp_alerts?: unknown[];
}

export function loadRuleTests(): { file: string; cases: RuleTestCase[] }[] {
  return ymlFiles(RULE_TESTS_DIR).map((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { tests: { alert_rule_test?: RuleTestCase[] }[] };
    return { file, cases: doc.tests.flatMap((t) => t.alert_rule_test ?? []) };
  });
}

export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
  readonly variable: boolean;
}

interface Panel {
  id?: number;
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string; datasource?: { uid?: string; type?: string } }[];
  panels?: Panel[];
  datasource?: { uid?: string; type?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query?: string }; datasource?: { uid?: string } }[] };
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: join(DASHBOARDS_DIR, f), dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard }));
}

export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const q: DashboardQuery[] = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) if (t.expr) q.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr, variable: false });
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query;
    if (query) q.push({ where: `variable $${v.name}`, expr: query, variable: true });
  }
  return q;
}
