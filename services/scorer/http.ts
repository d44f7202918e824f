/** The scorer's HTTP surface (fastify): /predict, /health, /ready, /metrics. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { rowExplanation, type Scorer } from './batch.ts';
import type { ScorerInstrumentation } from './events.ts';
import { packFeatures } from './model/model-host.ts';
import type { DecisionPolicy } from './policy.ts';
import { decisionRecord } from './records.ts';
import { validateApplication } from './validate.ts';

export interface HttpDeps {
  readonly model: () => Scorer | undefined;
  readonly policy: DecisionPolicy;
  readonly metrics: Registry;
  readonly events: ScorerInstrumentation;
  /** Reasons the service is not ready; empty when ready. */
  readonly notReadyReasons: () => string[];
  readonly state: () => string;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

  app.post('/predict', async (req, reply) => {
    const started = performance.now();
    const done = (status: number) => deps.events.emit('predict', { durationMs: performance.now() - started, status });
    const v = validateApplication(req.body);
    if (!v.ok) {
      done(422);
      return reply.code(422).send({ error: 'validation failed', field_errors: v.error });
    }
    const model = deps.model();
    if (!model) {
      done(503);
      return reply.code(503).send({ error: 'no model loaded' });
    }
    const result = await model.score(packFeatures([v.value.features]), 1);
    // The same record (and reasons) as the Kafka path builds in batch.ts.
    const record = decisionRecord(v.value, result.probabilities[0]!, { name: model.name, version: model.version }, deps.policy, { topic: 'http', partition: -1, offset: -1 }, Date.now(), rowExplanation(model, result, 0));
    done(200);
    return record;
  });

  app.get('/health', async () => ({ status: 'ok', state: deps.state() }));

  app.get('/ready', async (_req, reply) => {
    const reasons = deps.notReadyReasons();
    if (reasons.length > 0) return reply.code(503).send({ ready: false, reasons });
    return { ready: true };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string; code?: string }, _req, reply) => {
    const status = error.statusCode ?? 500;
    reply.code(status).send({ error: error.message ?? 'internal error', code: error.code });
  });
  return app;
}
