/** The PromQL name lexer the dashboard/rules checks rely on (pure). */
import { describe, expect, it } from 'vitest';
import { grafanaVariableMetricNames, metricNames } from './promql.ts';

describe('metricNames', () => {
  it('finds metrics under functions, aggregations, grouping, binary operators and ranges', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(scorer_end_to_end_latency_seconds_bucket{job="scorer"}[5m]))) > 5')).toEqual([
      'scorer_end_to_end_latency_seconds_bucket',
    ]);
    expect(metricNames('sum(rate(a_total[10m])) / sum without (code) (rate(b_total[10m])) > 0.05 and on(instance) c')).toEqual(['a_total', 'b_total', 'c']);
    expect(metricNames('time() - max(scorer_model_created_timestamp_seconds) > 14 * 86400')).toEqual(['scorer_model_created_timestamp_seconds']);
  });

  it('ignores strings, label names, keywords, numbers, durations and Grafana variables', () => {
    expect(metricNames('label_replace(sum by (feature, severity) (increase(drift_alerts_total[15m])), "drift_severity", "$1", "severity", "(.*)") > 0')).toEqual(['drift_alerts_total']);
    expect(metricNames('rate(x_total[$__rate_interval]) offset 1h > bool 1e3')).toEqual(['x_total']);
    expect(metricNames('max by (feature) (drift_psi{feature=~"$feature"})')).toEqual(['drift_psi']);
    expect(metricNames('up{job="scorer"} == 0 or absent(up{job="scorer"})')).toEqual(['up']);
  });

  it('reads the metric out of Grafana label_values() variable queries', () => {
    expect(grafanaVariableMetricNames('label_values(drift_psi, feature)')).toEqual(['drift_psi']);
    expect(grafanaVariableMetricNames('label_values(scorer_model_info{job="scorer"}, version)')).toEqual(['scorer_model_info']);
  });
});
