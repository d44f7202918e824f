/**
 * The metric names a PromQL expression (or a Grafana query) reads. A small lexer, not a parser: it drops
 * string literals, label matchers, ranges, grouping clauses and numbers, then keeps the identifiers that
 * are not followed by "(" (functions, aggregations) and are not keywords.
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[smhdwy]?\b/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = s.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names].sort();
}

/** Metric names in a Grafana template-variable query: label_values(expr, label), query_result(expr), metrics(regex) is not allowed. */
export function grafanaVariableMetricNames(query: string): string[] {
  const lv = /^\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(query);
  if (lv) return metricNames(lv[1]!);
  const qr = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  if (qr) return metricNames(qr[1]!);
  return metricNames(query);
}

/** Series Prometheus makes itself when it scrapes or evaluates rules, never in a /metrics page. */
export const SYNTHETIC_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'ALERTS', 'ALERTS_FOR_STATE']);
