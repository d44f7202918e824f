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
  const future = new Counter({ name: 'drift_future_records_total', help: 'Records dated later than their processing time + SUBMITTED_AT_MAX_SKEW; counted, excluded from every window (they would stall the watermark).', labelNames: ['stage'], registers: r });
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
  const retrainLabelled = new Gauge({ name: 'drift_retrain_labelled_outcomes', help: 'Labelled outcomes (scored records joined to their outcome) this deployment has seen; a retrain waits until DRIFT_RETRAIN_MIN_OUTCOMES.', registers: r });
  const retrainRequired = new Gauge({ name: 'drift_retrain_required_outcomes', help: 'DRIFT_RETRAIN_MIN_OUTCOMES: labelled outcomes a retrain needs.', registers: r });
  const retrainState = new Gauge({ name: 'drift_retrain_state', help: 'The retrain loop state (1 for the current one): idle, waiting (for outcomes), cooldown, running, backoff (after a failure), succeeded, gave_up.', labelNames: ['state'], registers: r });
  const retrainNext = new Gauge({ name: 'drift_retrain_next_attempt_timestamp_seconds', help: 'Earliest retry of a failed retrain (0 when none is scheduled).', registers: r });
  const referenceInfo = new Gauge({ name: 'drift_reference_info', help: 'The reference windows are compared with from now on (1), by model version.', labelNames: ['version'], registers: r });
  const referenceRefused = new Counter({ name: 'drift_reference_refused_total', help: 'Model announcements whose bundle was refused (checksum, metadata, download); the reference stayed.', registers: r });
  const errors = new Counter({ name: 'drift_errors_total', help: 'Errors by component and code.', labelNames: ['component', 'code'], registers: r });

  // Known label values start at 0, so a rate() sees the first increase.
  for (const stage of ['instance', 'aggregator']) late.inc({ stage }, 0);
  future.inc({ stage: 'instance' }, 0);

  events.on('records', ({ payload }) => {
    records.inc(payload.count);
    for (const [reason, n] of Object.entries(payload.dropped)) dropped.inc({ reason }, n);
  });
  events.on('late', ({ payload }) => late.inc({ stage: payload.stage }, payload.records));
  events.on('future', ({ payload }) => future.inc({ stage: payload.stage }, payload.records));
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
  // Fairness windows (docs/fairness.md): per protected group of the latest window, from the view (every instance).
  const fairLabels = ['attribute', 'group'];
  const fairAir = new Gauge({ name: 'drift_fairness_air', help: 'Adverse impact ratio (approval rate / the reference group\'s) of the latest fairness window, per protected group compared (enough decisions on both sides).', labelNames: fairLabels, registers: r });
  const fairFlagged = new Gauge({ name: 'drift_fairness_flagged', help: '1 when the group\'s AIR in the latest fairness window is below DRIFT_FAIRNESS_AIR_MIN, significant (Fisher exact, DRIFT_FAIRNESS_ALPHA) and on at least DRIFT_FAIRNESS_MIN_COUNT decisions on both sides; else 0.', labelNames: fairLabels, registers: r });
  const fairApproval = new Gauge({ name: 'drift_fairness_approval_ratio', help: 'Share of APPROVE among the group\'s decisions in the latest fairness window.', labelNames: fairLabels, registers: r });
  const fairSmd = new Gauge({ name: 'drift_fairness_smd', help: 'Standardized mean difference of the probability of default, group minus reference, latest fairness window.', labelNames: fairLabels, registers: r });
  const fairDecisions = new Gauge({ name: 'drift_fairness_decisions', help: 'Decisions of the group in the latest fairness window.', labelNames: fairLabels, registers: r });
  const fairUnjoined = new Gauge({ name: 'drift_fairness_unjoined_decisions', help: 'Decisions of the latest fairness window whose demographics did not arrive in time (counted, not attributed).', registers: r });
  const fairJoin = new Counter({ name: 'drift_fairness_join_total', help: 'The fairness join on this instance: decisions counted without demographics (unjoined), late for their windows, invalid, and demographics without a decision (orphans).', labelNames: ['result'], registers: r });
  const fairWaiting = new Gauge({ name: 'drift_fairness_waiting_decisions', help: 'Decisions waiting for their demographics on this instance.', registers: r });
  const fairWindows = new Counter({ name: 'drift_fairness_windows_total', help: 'Fairness windows finalized by the aggregator.', registers: r });
  for (const result of ['unjoined', 'late', 'invalid', 'orphans']) fairJoin.inc({ result }, 0);
  events.on('fairness.join', ({ payload }) => {
    for (const result of ['unjoined', 'late', 'invalid', 'orphans'] as const) if (payload[result]) fairJoin.inc({ result }, payload[result]);
    fairWaiting.set(payload.waiting);
  });
  events.on('fairness.finalized', () => fairWindows.inc());
  events.on('view.fairness', ({ payload: { window: w, latest } }) => {
    if (!latest) return;
    for (const g of [fairAir, fairFlagged, fairApproval, fairSmd, fairDecisions]) g.reset();
    for (const a of w.attributes) {
      for (const g of a.groups) {
        const l = { attribute: a.attribute, group: g.group };
        fairDecisions.set(l, g.decisions);
        if (Number.isFinite(g.approval_rate)) fairApproval.set(l, g.approval_rate);
        if (g.air !== null) {
          fairAir.set(l, g.air);
          fairFlagged.set(l, g.flagged ? 1 : 0);
        }
        if (g.smd !== null) fairSmd.set(l, g.smd);
      }
    }
    fairUnjoined.set(w.unjoined);
  });
  const STATES = ['idle', 'waiting', 'cooldown', 'running', 'backoff', 'succeeded', 'gave_up'];
  events.on('retrain.state', ({ payload }) => {
    retrainLabelled.set(payload.labelled);
    retrainRequired.set(payload.required);
    for (const s of STATES) retrainState.set({ state: s }, s === payload.status ? 1 : 0);
    retrainNext.set(payload.status === 'backoff' ? payload.nextAt / 1000 : 0);
  });
  events.on('reference.scheduled', ({ payload }) => {
    referenceInfo.reset();
    referenceInfo.set({ version: payload.epoch.reference.version }, 1);
  });
  events.on('reference.refused', () => referenceRefused.inc());
  events.on('consumer.rebalancing', ({ payload }) => rebalances.inc({ component: payload.component }));
  events.on('consumer.crashed', ({ payload }) => crashes.inc({ component: payload.component }));
  const restarts = new Counter({ name: 'drift_kafka_client_restarts_total', help: 'Kafka clients replaced by the client supervisor, by client (component-client) and why.', labelNames: ['client', 'reason'], registers: r });
  events.on('kafka.client.restart', ({ payload }) => restarts.inc({ client: `${payload.component}-${payload.client}`, reason: payload.reason }));
  events.on('error', ({ payload }) => errors.inc({ component: payload.component, code: payload.code }));
  return registry;
}
