/**
 * Produces scoring-log records straight to Kafka for the drift tests and the benchmark: applications from
 * the synthetic population (services/simulator/source.ts, deterministic per index, optionally shocked),
 * scored by the real ONNX model, encoded with the registered scoring-log schema, sent in large batches.
 */
import { packFeatures, type ModelHost } from '../services/scorer/model/model-host.ts';
import type { DecisionPolicy } from '../services/scorer/policy.ts';
import { decisionRecord, scoringLogRecord, type ScoringLogRecord } from '../services/scorer/records.ts';
import type { IdempotentProducer } from '../services/shared/kafka/producers.ts';
import type { AvroRegistry } from '../services/shared/registry.ts';
import { FEATURE_NAMES } from '../services/shared/schemas.ts';
import type { Disparity } from '../services/simulator/disparity.ts';
import { demographicsOf, populationSource, type DemographicsRecord, type SourceOptions } from '../services/simulator/source.ts';

export const TEST_POLICY: DecisionPolicy = { classificationThreshold: 0.5, risk: { mediumAt: 0.3, highAt: 0.6 }, decision: { reviewAt: 0.3, declineAt: 0.6 } };

export interface StreamOptions {
  readonly seed: number;
  readonly runId: string;
  readonly count: number;
  /** submitted_at of application i is t0 + i·stepMs. */
  readonly t0: number;
  readonly stepMs: number;
  readonly shockFrom?: number;
  readonly shockUntil?: number;
  /** First index to produce (default 0). */
  readonly from?: number;
  /** The fairness scenario: one group's incomes scaled (services/simulator/disparity.ts). */
  readonly disparity?: Disparity;
}

function sourceOptions(o: StreamOptions): SourceOptions {
  return {
    seed: o.seed,
    runId: o.runId,
    clock: (i) => o.t0 + i * o.stepMs,
    ...(o.shockFrom !== undefined ? { shockFrom: o.shockFrom } : {}),
    ...(o.shockUntil !== undefined ? { shockUntil: o.shockUntil } : {}),
    ...(o.disparity ? { disparity: o.disparity } : {}),
  };
}

/** The applicants' demographics of applications [from, from + n) of the stream (as the simulator publishes them). */
export function demographicsRecords(o: StreamOptions, from: number, n: number): DemographicsRecord[] {
  const so = sourceOptions(o);
  const source = populationSource(so);
  return Array.from({ length: n }, (_, k) => demographicsOf(so, from + k, source(from + k)));
}

export interface ScoredApplication {
  readonly record: ScoringLogRecord;
  readonly features: Record<string, number>;
}

/** Scoring-log records [from, from + n) of a stream, scored by `model`. */
export async function scoredRecords(model: ModelHost, o: StreamOptions, from: number, n: number): Promise<ScoringLogRecord[]> {
  const source = populationSource(sourceOptions(o));
  const apps = Array.from({ length: n }, (_, k) => source(from + k) as unknown as Record<string, number | string>);
  const features = apps.map((a) => Object.fromEntries(FEATURE_NAMES.map((f) => [f, Number(a[f])])));
  const { probabilities } = await model.score(packFeatures(features), n);
  return apps.map((a, k) => {
    const app = { application_id: String(a.application_id), submitted_at: Number(a.submitted_at), features: features[k]! };
    const src = { topic: 'loan-applications', partition: 0, offset: from + k };
    const decision = decisionRecord(app, probabilities[k]!, { name: model.name, version: model.version }, TEST_POLICY, src, app.submitted_at + 5);
    return scoringLogRecord(app, decision, 0.5, n);
  });
}

/** Produces the stream to `topic` in batches (one send in flight while the next is scored); returns how many were sent. `onBatch` sees every record (e.g. to keep them). */
export async function produceScoringLog(
  producer: Pick<IdempotentProducer, 'send'>,
  registry: AvroRegistry,
  schemaId: number,
  model: ModelHost,
  topic: string,
  o: StreamOptions,
  onBatch?: (records: ScoringLogRecord[]) => void,
  batchSize = 5000,
): Promise<number> {
  const from = o.from ?? 0;
  let sent = 0;
  let pending: Promise<unknown> | undefined;
  for (let i = from; i < from + o.count; i += batchSize) {
    const n = Math.min(batchSize, from + o.count - i);
    const records = await scoredRecords(model, o, i, n);
    onBatch?.(records);
    const messages = records.map((r) => ({ key: r.application_id, value: registry.encodeSync(schemaId, r) }));
    await pending;
    pending = producer.send([{ topic, messages }]); // acks=all: resolves once every record is acknowledged
    sent += n;
  }
  await pending;
  return sent;
}
