/**
 * The one HTTP server construction every service uses (fastify): an OpenAPI 3.1 document built from the
 * route schemas (@fastify/swagger) and served at /docs/json, the ops routes (/health, /ready, /metrics, see
 * ops-routes.ts) and one error shape.
 *
 * Route schemas here are documentation and a contract that tests check responses against; they do not
 * change behaviour: request bodies are still validated by each service's own validator (the scorer's zod
 * rules, with their field-and-rule errors) and responses are serialised with JSON.stringify. Fastify's ajv
 * would otherwise coerce types ("5000" -> 5000) and its serialiser would drop unknown fields.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerOpsRoutes, type OpsDeps } from './ops-routes.ts';

export interface ServiceHttpOptions extends OpsDeps {
  readonly title: string;
  readonly description: string;
  readonly bodyLimit?: number;
}

export const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' } },
  required: ['error'],
} as const;

/** JSON has no NaN or Infinity: they are sent as null. */
export function jsonBody(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

export async function createServiceHttp(opts: ServiceHttpOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 1024 * 1024 });
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => jsonBody(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: opts.title, description: opts.description, version: process.env.npm_package_version ?? '0.1.0' },
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  registerOpsRoutes(app, opts);
  app.setErrorHandler((error: { statusCode?: number; message?: string; code?: string }, _req, reply) => {
    const status = error.statusCode ?? 500;
    reply.code(status).send({ error: error.message ?? 'internal error', ...(error.code ? { code: error.code } : {}) });
  });
  return app;
}
