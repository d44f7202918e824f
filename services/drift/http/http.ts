/** The drift monitor's HTTP surface: /drift, /drift/report, plus the shared ops routes and /docs/json. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { DriftAlertValue, DriftWindowValue } from '../windows/codec.ts';
import type { Bands } from '../statistics/psi.ts';
import { createServiceHttp } from '../../shared/http/server.ts';
import { renderReport } from './report.ts';
import type { FairnessWindowValue } from '../fairness/codec.ts';
import type { FairnessOptions } from '../fairness/summary.ts';

export interface DriftHttpDeps {
  readonly metrics: Registry;
  readonly instance: string;
  readonly windowing: string;
  readonly bands: Bands;
  readonly reference: { readonly modelName: string; readonly version: string; readonly records: number };
  readonly targets: readonly string[];
  readonly history: () => DriftWindowValue[];
  readonly fairness: {
    readonly enabled: boolean;
    readonly options: FairnessOptions;
    /** Attribute -> reference group in use. */
    readonly references: Readonly<Record<string, string>>;
    readonly history: () => FairnessWindowValue[];
  };
  readonly alerts: () => DriftAlertValue[];
  readonly aggregatorActive: () => boolean;
  readonly partitions: () => readonly number[];
  readonly notReadyReasons: () => string[];
  /** Reasons the service is not alive (liveness fails); empty while alive. */
  readonly notAliveReasons: () => string[];
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

/** GET /fairness: the latest fairness window in full (without its raw counts) and a line per recent window. */
export function fairnessSummary(d: DriftHttpDeps) {
  const history = d.fairness.history();
  const w = history[history.length - 1];
  const { counts: _counts, ...latest } = w ?? ({} as Partial<FairnessWindowValue>);
  return {
    enabled: d.fairness.enabled,
    windowing: d.windowing,
    thresholds: { air_min: d.fairness.options.airMin, alpha: d.fairness.options.alpha, min_count: d.fairness.options.minCount, confidence: d.fairness.options.confidence },
    references: d.fairness.references,
    windows_in_history: history.length,
    alert: w?.alert ?? false,
    latest: w ? latest : null,
    history: history.map((h) => ({
      window_index: h.window_index,
      window_end: h.window_end,
      decisions: h.decisions,
      unjoined: h.unjoined,
      alert: h.alert,
      transition: h.transition,
      flagged: h.flagged,
      min_air: Object.fromEntries(h.attributes.map((a) => [a.attribute, { group: a.min_air_group || null, air: a.min_air }])),
    })),
  };
}

const NUMBER_OR_NULL = { type: ['number', 'null'] } as const;

/** The JSON shape of GET /fairness (fairnessSummary); numbers that are not finite are sent as null. */
export const FAIRNESS_SUMMARY_SCHEMA = {
  type: 'object',
  required: ['enabled', 'windowing', 'thresholds', 'references', 'windows_in_history', 'alert', 'latest', 'history'],
  properties: {
    enabled: { type: 'boolean' },
    windowing: { type: 'string' },
    thresholds: { type: 'object', additionalProperties: { type: 'number' } },
    references: { type: 'object', additionalProperties: { type: 'string' } },
    windows_in_history: { type: 'integer' },
    alert: { type: 'boolean' },
    latest: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['window_index', 'window_start', 'window_end', 'decisions', 'unjoined', 'alert', 'transition', 'flagged', 'attributes'],
          properties: {
            window_index: { type: 'integer' },
            window_start: { type: 'integer' },
            window_end: { type: 'integer' },
            deployment: { type: 'string' },
            layout: { type: 'string' },
            decisions: { type: 'integer' },
            unjoined: { type: 'integer' },
            partitions: { type: 'array', items: { type: 'integer' } },
            air_min: { type: 'number' },
            alpha: { type: 'number' },
            min_count: { type: 'integer' },
            alert: { type: 'boolean' },
            transition: { type: 'string' },
            flagged: { type: 'array', items: { type: 'string' } },
            finalized_at: { type: 'integer' },
            attributes: {
              type: 'array',
              items: {
                type: 'object',
                required: ['attribute', 'reference', 'groups'],
                properties: {
                  attribute: { type: 'string' },
                  reference: { type: 'string' },
                  min_air: NUMBER_OR_NULL,
                  min_air_group: { type: 'string' },
                  groups: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['group', 'decisions', 'approval_rate', 'air', 'p_value', 'smd', 'enough', 'flagged'],
                      properties: {
                        group: { type: 'string' },
                        decisions: { type: 'integer' },
                        approve: { type: 'integer' },
                        review: { type: 'integer' },
                        decline: { type: 'integer' },
                        approval_rate: NUMBER_OR_NULL,
                        mean_score: NUMBER_OR_NULL,
                        air: NUMBER_OR_NULL,
                        air_low: NUMBER_OR_NULL,
                        air_high: NUMBER_OR_NULL,
                        p_value: NUMBER_OR_NULL,
                        smd: NUMBER_OR_NULL,
                        enough: { type: 'boolean' },
                        flagged: { type: 'boolean' },
                        labelled: { type: 'integer' },
                        default_rate_approved: NUMBER_OR_NULL,
                        false_positive_rate: NUMBER_OR_NULL,
                        false_negative_rate: NUMBER_OR_NULL,
                        ece: NUMBER_OR_NULL,
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
    history: { type: 'array', items: { type: 'object' } },
  },
} as const;

/** The JSON shape of GET /drift (driftSummary); numbers that are not finite are sent as null. */
export const DRIFT_SUMMARY_SCHEMA = {
  type: 'object',
  required: ['instance', 'windowing', 'reference', 'bands', 'aggregator_active', 'source_partitions', 'windows_in_history', 'latest', 'recent_alerts'],
  properties: {
    instance: { type: 'string' },
    windowing: { type: 'string' },
    reference: {
      type: 'object',
      required: ['model', 'version', 'records'],
      properties: { model: { type: 'string' }, version: { type: 'string' }, records: NUMBER_OR_NULL },
    },
    bands: { type: 'object', additionalProperties: { type: 'number' } },
    aggregator_active: { type: 'boolean' },
    source_partitions: { type: 'array', items: { type: 'integer' } },
    windows_in_history: { type: 'integer' },
    latest: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['window_index', 'window_start', 'window_end', 'records', 'targets'],
          properties: {
            window_index: { type: 'integer' },
            window_start: { type: 'integer' },
            window_end: { type: 'integer' },
            records: { type: 'integer' },
            targets: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                required: ['psi', 'severity', 'records'],
                properties: { psi: NUMBER_OR_NULL, psi_p_value: NUMBER_OR_NULL, ks_statistic: NUMBER_OR_NULL, ks_p_value: NUMBER_OR_NULL, severity: { type: 'string' }, records: { type: 'integer' } },
              },
            },
          },
        },
      ],
    },
    recent_alerts: { type: 'array', items: { type: 'object' } },
  },
} as const;

export async function buildDriftHttp(d: DriftHttpDeps): Promise<FastifyInstance> {
  const app = await createServiceHttp({
    title: 'Credit-risk drift monitor',
    description: 'Windowed PSI / KS of every feature and the score against the serving model\'s training reference; results and alerts are on Kafka (docs/asyncapi.yaml).',
    metrics: d.metrics,
    state: d.state,
    notAliveReasons: d.notAliveReasons,
    notReadyReasons: d.notReadyReasons,
  });
  app.get('/fairness', { schema: { summary: 'The latest fairness window (AIR, SMD, outcomes per protected group) and recent windows', tags: ['fairness'], response: { 200: FAIRNESS_SUMMARY_SCHEMA } } }, async () => fairnessSummary(d));
  app.get('/drift', { schema: { summary: 'The latest finalized window per target, and recent alerts', tags: ['drift'], response: { 200: DRIFT_SUMMARY_SCHEMA } } }, async () => driftSummary(d));
  app.get(
    '/drift/report',
    { schema: { summary: 'An HTML drift report with a PSI timeline per target', tags: ['drift'], response: { 200: { content: { 'text/html': { schema: { type: 'string' } } } } } } },
    async (_req, reply) => {
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
    },
  );
  return app;
}
