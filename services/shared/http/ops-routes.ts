/**
 * The ops routes every service has, written once:
 *   GET /health   liveness: 200 while the process can still do its job, 503 with the reasons when it cannot
 *                 (e.g. a Kafka consumer is dead and not recovering) — an orchestrator restarts it then;
 *   GET /ready    readiness: 200 when serving, 503 with the reasons while starting, rebalancing or degraded;
 *   GET /metrics  Prometheus text exposition of the service's registry.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsDeps {
  readonly metrics: Registry;
  /** The lifecycle state, reported by /health. */
  readonly state: () => string;
  /** Reasons the service is not alive (liveness fails); empty while alive. */
  readonly notAliveReasons: () => string[];
  /** Reasons the service is not ready; empty when ready. */
  readonly notReadyReasons: () => string[];
}

const REASONS = { type: 'array', items: { type: 'string' } } as const;

export function registerOpsRoutes(app: FastifyInstance, deps: OpsDeps): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness',
        tags: ['ops'],
        response: {
          200: { type: 'object', properties: { status: { const: 'ok' }, state: { type: 'string' } }, required: ['status', 'state'] },
          503: { type: 'object', properties: { status: { const: 'failing' }, state: { type: 'string' }, reasons: REASONS }, required: ['status', 'state', 'reasons'] },
        },
      },
    },
    async (_req, reply) => {
      const reasons = deps.notAliveReasons();
      if (reasons.length > 0) return reply.code(503).send({ status: 'failing', state: deps.state(), reasons });
      return { status: 'ok', state: deps.state() };
    },
  );

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness',
        tags: ['ops'],
        response: {
          200: { type: 'object', properties: { ready: { const: true } }, required: ['ready'] },
          503: { type: 'object', properties: { ready: { const: false }, reasons: REASONS }, required: ['ready', 'reasons'] },
        },
      },
    },
    async (_req, reply) => {
      const reasons = deps.notReadyReasons();
      if (reasons.length > 0) return reply.code(503).send({ ready: false, reasons });
      return { ready: true };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['ops'],
        response: { 200: { content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', deps.metrics.contentType);
      return deps.metrics.metrics();
    },
  );
}
