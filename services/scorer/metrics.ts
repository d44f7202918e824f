/** prom-client metrics for the scorer, attached as a listener to its instrumentation events. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScorerInstrumentation } from './events.ts';

/** Default Node.js metrics that are gauges with a counter's suffix. */
export const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

export function attachScorerMetrics(events: ScorerInstrumentation, registry: Registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges *_total, which Prometheus reserves for counters (`promtool check metrics`
  // rejects them); the same numbers stay available per type as nodejs_active_{handles,requests,resources}.
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  const scored = new Counter({ name: 'scorer_applications_scored_total', help: 'Valid applications scored and committed.', registers: [registry] });
  const decisions = new Counter({ name: 'scorer_decisions_total', help: 'Committed decisions by decision.', labelNames: ['decision'], registers: [registry] });
  const dead = new Counter({ name: 'scorer_dead_letters_total', help: 'Messages sent to the dead-letter topic, by error code.', labelNames: ['code'], registers: [registry] });
  const consumed = new Counter({ name: 'scorer_messages_consumed_total', help: 'Input messages processed and committed (valid + dead-lettered).', registers: [registry] });
  const batchSize = new Histogram({ name: 'scorer_batch_size', help: 'Messages per committed chunk.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000], registers: [registry] });
  const batchSeconds = new Histogram({ name: 'scorer_batch_duration_seconds', help: 'Wall time to decode, score, produce and commit one chunk.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });
  const inference = new Histogram({ name: 'scorer_inference_duration_seconds', help: 'Wall time of one batched model call.', buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], registers: [registry] });
  const e2e = new Histogram({ name: 'scorer_end_to_end_latency_seconds', help: 'From submitted_at to the decision commit.', buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] });
  const tx = new Counter({ name: 'scorer_transactions_total', help: 'Kafka transactions by result.', labelNames: ['result'], registers: [registry] });
  const errors = new Counter({ name: 'scorer_errors_total', help: 'Errors while processing batches, by code.', labelNames: ['code'], registers: [registry] });
  const rebalances = new Counter({ name: 'scorer_rebalances_total', help: 'Consumer group rebalances seen.', registers: [registry] });
  const crashes = new Counter({ name: 'scorer_consumer_crashes_total', help: 'Consumer crashes (restarted by kafkajs or fatal).', registers: [registry] });
  const lag = new Gauge({ name: 'scorer_consumer_lag', help: 'Messages not yet committed by the group, per input partition.', labelNames: ['partition'], registers: [registry] });
  const modelInfo = new Gauge({ name: 'scorer_model_info', help: 'The model version serving (value 1).', labelNames: ['model', 'version'], registers: [registry] });
  const modelCreated = new Gauge({ name: 'scorer_model_created_timestamp_seconds', help: 'Unix time the serving model version was trained (metadata created_at); survives restarts, unlike the load time.', registers: [registry] });
  const modelLoaded = new Gauge({ name: 'scorer_model_loaded_timestamp_seconds', help: 'Unix time the serving model version was loaded (start-up or hot swap).', registers: [registry] });
  const predict = new Histogram({ name: 'scorer_http_predict_duration_seconds', help: 'POST /predict latency.', labelNames: ['status'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], registers: [registry] });

  events.on('batch.end', ({ payload: p }) => {
    if (!p.ok) return;
    batchSize.observe(p.size);
    batchSeconds.observe(p.durationMs / 1000);
    consumed.inc(p.size);
    scored.inc(p.scored);
  });
  events.on('inference', ({ payload }) => inference.observe(payload.durationMs / 1000));
  events.on('decisions', ({ payload }) => {
    for (const [d, n] of Object.entries(payload.byDecision)) decisions.inc({ decision: d }, n);
    for (const ms of payload.endToEndMs) e2e.observe(ms / 1000);
  });
  events.on('dead-letters', ({ payload }) => {
    for (const [code, n] of Object.entries(payload.byCode)) dead.inc({ code }, n);
  });
  events.on('transaction', ({ payload }) => tx.inc({ result: payload.result }));
  events.on('error', ({ payload }) => errors.inc({ code: payload.code }));
  events.on('consumer.rebalancing', () => rebalances.inc());
  events.on('consumer.crashed', () => crashes.inc());
  const restarts = new Counter({ name: 'scorer_kafka_client_restarts_total', help: 'Kafka sessions replaced by the client supervisor, by the client that died and why.', labelNames: ['client', 'reason'], registers: [registry] });
  events.on('kafka.client.restart', ({ payload }) => restarts.inc({ client: payload.client, reason: payload.reason }));
  events.on('lag', ({ payload }) => {
    for (const l of payload) lag.set({ partition: String(l.partition) }, l.lag);
  });
  const swaps = new Counter({ name: 'scorer_model_swaps_total', help: 'Model announcements handled, by result (activated or refused).', labelNames: ['result'], registers: [registry] });
  const swapSeconds = new Histogram({ name: 'scorer_model_swap_duration_seconds', help: 'Fetch, verify, load and warm up a model version, then swap it in.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  events.on('model.swap', ({ payload }) => {
    swaps.inc({ result: payload.result });
    if (payload.result === 'activated') swapSeconds.observe(payload.durationMs / 1000);
  });
  events.on('model.loaded', ({ payload, timestamp }) => {
    modelInfo.reset();
    modelInfo.set({ model: payload.name, version: payload.version }, 1);
    modelLoaded.set(timestamp / 1000);
    if (payload.createdAt !== undefined) modelCreated.set(payload.createdAt / 1000);
  });
  events.on('predict', ({ payload }) => predict.observe({ status: String(payload.status) }, payload.durationMs / 1000));
  return registry;
}
