/**
 * prom-client metrics of the drift monitor, attached as a listener to its instrumentation events. Per-target
 * gauges come from the view (every instance shows the latest finalized windows); counters of what happened
 * come from the component that did it, so a scrape of all instances sums them correctly.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DriftInstrumentation } from '../events.ts';

/** prom-client's default gauges named *_total (Prometheus reserves the suffix for counters). */
const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const SEVERITY_VALUE: Record<string, number> = { INSUFFICIENT: -1, NONE: 0, WARN: 1, ALERT: 2 };

export function attachDriftMetrics(events: DriftInstrumentation, registry: Registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry });
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  const r = [registry];
  const psi = new Gauge({ name: 'drift_psi', help: 'PSI of the latest finalized window against the frozen reference bins, per target (feature or score).', labelNames: ['target'], registers: r });
  const psiP = new Gauge({ name: 'drift_psi_p_value', help: 'Chi-square p-value of the latest PSI under no drift, per target.', labelNames: ['target'], registers: r });
  const ks = new Gauge({ name: 'drift_ks_statistic', help: 'Two-sample KS statistic of the latest window against the reference sample, per target.', labelNames: ['target'], registers: r });
  const ksP = new Gauge({ name: 'drift_ks_p_value', help: 'Asymptotic p-value of the latest KS statistic, per target.', labelNames: ['target'], registers: r });
  const severity = new Gauge({ name: 'drift_severity', help: 'Severity of the latest window per target: -1 too few records, 0 none, 1 warn, 2 alert.', labelNames: ['target'], registers: r });
  const windowRecords = new Gauge({ name: 'drift_window_records', help: 'Records in the latest finalized window, per target (all targets see every record).', labelNames: ['target'], registers: r });
  const windowMissing = new Gauge({ name: 'drift_window_missing_records', help: 'Records of the latest window missing the target value.', labelNames: ['target'], registers: r });
  const windowEnd = new Gauge({ name: 'drift_window_last_event_timestamp_seconds', help: 'Largest submitted_at in the latest finalized window.', registers: r });
  const auc = new Gauge({ name: 'drift_performance_roc_auc', help: 'ROC-AUC of scored applications with known outcome, latest window that has outcomes of both classes.', registers: r });
  const brier = new Gauge({ name: 'drift_performance_brier_score', help: 'Brier score of scored applications with known outcome, latest window with outcomes.', registers: r });
  const defaultRate = new Gauge({ name: 'drift_performance_default_ratio', help: 'Share of defaults among scored applications with known outcome, latest window with outcomes.', registers: r });
  const labelled = new Gauge({ name: 'drift_performance_labelled_records', help: 'Scored applications with known outcome in the latest window with outcomes.', registers: r });

  const records = new Counter({ name: 'drift_records_total', help: 'scoring-log records counted into windows by this instance.', registers: r });
  const dropped = new Counter({ name: 'drift_dropped_records_total', help: 'Messages that could not be used (undecodable, wrong schema, no event time), by reason.', labelNames: ['reason'], registers: r });
  const late = new Counter({ name: 'drift_late_records_total', help: 'Records that arrived after all their windows had closed (instance) or whose partial window arrived after the window was finalized (aggregator); counted, not merged.', labelNames: ['stage'], registers: r });
  const windows = new Counter({ name: 'drift_windows_total', help: 'Windows finalized by the aggregator.', registers: r });
  const alerts = new Counter({ name: 'drift_alerts_total', help: 'Events published to drift-alerts, by kind, target and severity.', labelNames: ['kind', 'target', 'severity'], registers: r });
  const retrain = new Counter({ name: 'drift_retrain_total', help: 'Closed-loop reactions to drift, by action and outcome.', labelNames: ['action', 'outcome'], registers: r });
  const outcomes = new Counter({ name: 'drift_outcomes_total', help: 'Loan outcomes by join result.', labelNames: ['result'], registers: r });
  const ignored = new Counter({ name: 'drift_partials_ignored_total', help: 'Partial windows the aggregator did not merge, by reason.', labelNames: ['reason'], registers: r });
  const openWindows = new Gauge({ name: 'drift_open_windows', help: 'Windows open on this instance over all its source partitions.', registers: r });
  const pendingWindows = new Gauge({ name: 'drift_pending_windows', help: 'Windows the aggregator is waiting to complete.', registers: r });
  const flush = new Histogram({ name: 'drift_flush_duration_seconds', help: 'Wall time of one transactional flush (partials or results plus offsets).', labelNames: ['component'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });
  const rebalances = new Counter({ name: 'drift_consumer_rebalances_total', help: 'Consumer group rebalances seen, by component.', labelNames: ['component'], registers: r });
  const crashes = new Counter({ name: 'drift_consumer_crashes_total', help: 'Consumer crashes, by component.', labelNames: ['component'], registers: r });
  const errors = new Counter({ name: 'drift_errors_total', help: 'Errors by component and code.', labelNames: ['component', 'code'], registers: r });

  // Known label values start at 0, so a rate() sees the first increase.
  for (const stage of ['instance', 'aggregator']) late.inc({ stage }, 0);

  events.on('records', ({ payload }) => {
    records.inc(payload.count);
    for (const [reason, n] of Object.entries(payload.dropped)) dropped.inc({ reason }, n);
  });
  events.on('late', ({ payload }) => late.inc({ stage: payload.stage }, payload.records));
  events.on('open-windows', ({ payload }) => {
    openWindows.set(payload.open);
    if (payload.pending !== undefined) pendingWindows.set(payload.pending);
  });
  events.on('flush', ({ payload }) => {
    if (payload.ok) flush.observe({ component: payload.component }, payload.durationMs / 1000);
  });
  events.on('outcomes', ({ payload }) => {
    if (payload.joined) outcomes.inc({ result: 'joined' }, payload.joined);
    if (payload.waiting) outcomes.inc({ result: 'waiting' }, payload.waiting);
    if (payload.evicted) outcomes.inc({ result: 'evicted' }, payload.evicted);
    if (payload.dropped) outcomes.inc({ result: 'dropped' }, payload.dropped);
  });
  events.on('window.finalized', () => windows.inc());
  events.on('partial.ignored', ({ payload }) => ignored.inc({ reason: payload.reason }, payload.count));
  events.on('alert', ({ payload: { alert } }) => alerts.inc({ kind: alert.kind, target: alert.target, severity: alert.severity }));
  events.on('retrain', ({ payload }) => retrain.inc({ action: payload.action, outcome: payload.outcome }));
  let perfIndex = -Infinity;
  events.on('view.window', ({ payload: { window: w, latest } }) => {
    const p = w.performance;
    if (p && p.labelled > 0 && w.window_index >= perfIndex) {
      perfIndex = w.window_index;
      brier.set(p.brier);
      defaultRate.set(p.default_rate);
      labelled.set(p.labelled);
      if (p.roc_auc !== null) auc.set(p.roc_auc);
    }
    if (!latest) return;
    for (const t of w.targets) {
      const l = { target: t.target };
      psi.set(l, t.psi);
      psiP.set(l, t.psi_p_value);
      ks.set(l, t.ks_statistic);
      ksP.set(l, t.ks_p_value);
      severity.set(l, SEVERITY_VALUE[t.severity] ?? 0);
      windowRecords.set(l, t.records);
      windowMissing.set(l, t.missing);
    }
    windowEnd.set(w.last_event_at / 1000);
  });
  events.on('consumer.rebalancing', ({ payload }) => rebalances.inc({ component: payload.component }));
  events.on('consumer.crashed', ({ payload }) => crashes.inc({ component: payload.component }));
  events.on('error', ({ payload }) => errors.inc({ component: payload.component, code: payload.code }));
  return registry;
}
