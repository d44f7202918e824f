/**
 * The alert rules as promtool sees them: the config and rule files are valid, every rule's unit tests pass,
 * and every alert has a test where it fires and one where it stays quiet, plus a runbook entry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { loadRules, loadRuleTests, PROMETHEUS_DIR, RULE_TESTS_DIR, RULES_DIR, ymlFiles } from './rules.ts';
import { run, tool } from './tools.ts';

describe('Prometheus config and alert rules', () => {
  const promtool = tool('promtool');
  const rules = loadRules();
  const alerts = rules.filter((r) => r.alert);

  it('promtool check config accepts infra/prometheus/prometheus.yml (and finds the rule files)', () => {
    const r = run(promtool, ['check', 'config', join(PROMETHEUS_DIR, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${ymlFiles(RULES_DIR).length} rule files found`));
  });

  it('promtool check rules accepts every rule file', () => {
    const r = run(promtool, ['check', 'rules', ...ymlFiles(RULES_DIR)]);
    expect(r.status, r.output).toBe(0);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
  });

  it('promtool test rules: every unit test passes', () => {
    const r = run(promtool, ['test', 'rules', ...ymlFiles(RULE_TESTS_DIR)]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).not.toMatch(/FAILED/);
  });

  it('every alert has a unit test where it fires and one where it stays quiet', () => {
    const cases = loadRuleTests().flatMap((t) => t.cases);
    const missing: string[] = [];
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${a.alert}: no test where it fires`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${a.alert}: no test where it stays quiet`);
    }
    expect(missing).toEqual([]);
  });

  it('unit tests name only alerts that exist', () => {
    const names = new Set(alerts.map((a) => a.alert));
    const unknown = loadRuleTests().flatMap((t) => t.cases.filter((c) => !names.has(c.alertname)).map((c) => `${t.file}: ${c.alertname}`));
    expect(unknown).toEqual([]);
  });

  it('every alert has a severity, a summary, a description and a runbook entry in docs/operations.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const headings = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const problems: string[] = [];
    for (const a of alerts) {
      if (!['critical', 'warning', 'info'].includes(a.labels?.severity ?? '')) problems.push(`${a.alert}: severity`);
      if (!a.annotations?.summary || !a.annotations?.description) problems.push(`${a.alert}: summary/description`);
      const anchor = a.annotations?.runbook_url?.split('#')[1];
      if (a.annotations?.runbook_url?.split('#')[0] !== 'docs/operations.md' || anchor !== a.alert!.toLowerCase()) problems.push(`${a.alert}: runbook_url should be docs/operations.md#${a.alert!.toLowerCase()}`);
      else if (!headings.has(anchor)) problems.push(`${a.alert}: no heading "${a.alert}" in docs/operations.md`);
    }
    expect(problems).toEqual([]);
  });
});
