/** The drift monitor's HTTP surface (fastify): /drift, /drift/report, /health, /ready, /metrics. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { DriftAlertValue, DriftWindowValue } from '../windows/codec.ts';
import type { Bands } from '../statistics/psi.ts';
import { renderReport } from './report.ts';

export interface DriftHttpDeps {
  readonly metrics: Registry;
  readonly instance: string;
  readonly windowing: string;
  readonly bands: Bands;
  readonly reference: { readonly modelName: string; readonly version: string; readonly records: number };
  readonly targets: readonly string[];
  readonly history: () => DriftWindowValue[];
  readonly alerts: () => DriftAlertValue[];
  readonly aggregatorActive: () => boolean;
  readonly partitions: () => readonly number[];
  readonly notReadyReasons: () => string[];
  readonly state: () => string;
}

/** The latest finalized window, per target. */
export function driftSummary(d: DriftHttpDeps) {
  const history = d.history();
  const w = history[history.length - 1];
  return {
    instance: d.instance,
    windowing: d.windowing,
    reference: { model: d.reference.modelName, version: d.reference.version, records: Number.isFinite(d.reference.records) ? d.reference.records : null },
    bands: d.bands,
    aggregator_active: d.aggregatorActive(),
    source_partitions: d.partitions(),
    windows_in_history: history.length,
    latest: w
      ? {
          window_index: w.window_index,
          window_start: w.window_start,
          window_end: w.window_end,
          first_event_at: w.first_event_at,
          last_event_at: w.last_event_at,
          records: w.records,
          evaluated: w.evaluated,
          partitions: w.partitions,
          finalized_at: w.finalized_at,
          targets: Object.fromEntries(
            w.targets.map((t) => [t.target, { psi: t.psi, psi_p_value: t.psi_p_value, psi_df: t.psi_df, ks_statistic: t.ks_statistic, ks_p_value: t.ks_p_value, severity: t.severity, records: t.records, missing: t.missing }]),
          ),
          performance: w.performance,
        }
      : null,
    recent_alerts: d.alerts().slice(-20),
  };
}

export function buildDriftHttp(d: DriftHttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  // JSON has no NaN or Infinity: they are sent as null.
  app.get('/drift', async (_req, reply) => reply.type('application/json').send(JSON.stringify(driftSummary(d), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))));
  app.get('/drift/report', async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    return renderReport({
      title: 'Drift report — credit-default-classifier',
      generatedAt: Date.now(),
      instance: d.instance,
      windowing: d.windowing,
      reference: d.reference,
      bands: d.bands,
      targets: d.targets,
      history: d.history(),
      alerts: d.alerts(),
    });
  });
  app.get('/health', async () => ({ status: 'ok', state: d.state() }));
  app.get('/ready', async (_req, reply) => {
    const reasons = d.notReadyReasons();
    if (reasons.length > 0) return reply.code(503).send({ ready: false, reasons });
    return { ready: true };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', d.metrics.contentType);
    return d.metrics.metrics();
  });
  return app;
}
