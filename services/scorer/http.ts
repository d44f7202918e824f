/** The scorer's HTTP surface: POST /predict (the same decision as the Kafka path) plus the shared ops routes and /docs/json. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { avroToJsonSchema } from '../shared/http/avro-json-schema.ts';
import { createServiceHttp, ERROR_SCHEMA } from '../shared/http/server.ts';
import { loadSchema } from '../shared/schemas.ts';
import { rowExplanation, type Scorer } from './batch.ts';
import type { ScorerInstrumentation } from './events.ts';
import { packFeatures } from './model/model-host.ts';
import type { DecisionPolicy } from './policy.ts';
import { decisionRecord } from './records.ts';
import { validateApplication, type Validator } from './validate.ts';

export interface HttpDeps {
  readonly model: () => Scorer | undefined;
  readonly policy: DecisionPolicy;
  /** The validator with the configured bounds; the default bounds when absent. */
  readonly validate?: Validator;
  readonly metrics: Registry;
  readonly events: ScorerInstrumentation;
  /** Reasons the service is not ready; empty when ready. */
  readonly notReadyReasons: () => string[];
  /** Reasons the service is not alive (liveness fails); empty while alive. */
  readonly notAliveReasons: () => string[];
  readonly state: () => string;
}

/** The JSON form of one field error, as in the dead-letter record (schemas/dead-letter.avsc). */
function fieldErrorSchema(): object {
  const deadLetter = avroToJsonSchema(loadSchema('dead-letter'), { mode: 'response' }) as { properties: Record<string, { items: object }> };
  return deadLetter.properties.field_errors!.items;
}

/** The request body is a loan application as on Kafka, in its JSON form; the response is a loan decision record. */
export const PREDICT_SCHEMA = {
  summary: 'Score one loan application',
  description:
    'Validates the application with the same rules as the Kafka path (422 names each field and rule that failed), scores it with the serving model and returns the decision the Kafka path would publish. source_topic is "http", source_partition and source_offset are -1.',
  tags: ['scoring'],
  body: avroToJsonSchema(loadSchema('loan-application'), { mode: 'request' }),
  response: {
    200: avroToJsonSchema(loadSchema('loan-decision'), { mode: 'response' }),
    422: {
      type: 'object',
      properties: {
        error: { const: 'validation failed' },
        field_errors: { type: 'array', items: fieldErrorSchema() },
      },
      required: ['error', 'field_errors'],
    },
    503: ERROR_SCHEMA,
  },
};

export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = await createServiceHttp({
    title: 'Credit-risk scorer',
    description: 'Scores loan applications on demand; the Kafka path is the main one (docs/asyncapi.yaml).',
    bodyLimit: 64 * 1024,
    metrics: deps.metrics,
    state: deps.state,
    notAliveReasons: deps.notAliveReasons,
    notReadyReasons: deps.notReadyReasons,
  });

  app.post('/predict', { schema: PREDICT_SCHEMA }, async (req, reply) => {
    const started = performance.now();
    const done = (status: number) => deps.events.emit('predict', { durationMs: performance.now() - started, status });
    const v = (deps.validate ?? validateApplication)(req.body);
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
  return app;
}
