/**
 * The benchmark's data set: applications 0..n-1 of the simulator's population with a fixed seed, the same
 * for every contender; as feature rows for the model limits, as JSON bodies for Peer B; and the sizes of
 * the Avro records the scorer reads and writes (for Kafka's perf tools).
 */
import avro from 'avsc';
import { DEFAULT_POLICY } from '../../services/scorer/policy.ts';
import { decisionRecord, scoringLogRecord } from '../../services/scorer/records.ts';
import { FEATURE_NAMES, loadSchema } from '../../services/shared/schemas.ts';
import type { Application } from '../../services/simulator/invalid.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { DATA_SEED } from './cluster.ts';

const FIXED_TIME = Date.UTC(2026, 0, 1);

export function applications(n: number): Application[] {
  const source = populationSource({ seed: DATA_SEED, runId: 'bench', clock: () => FIXED_TIME });
  return Array.from({ length: n }, (_, i) => source(i));
}

/** Row-major float32 features in model input order. */
export function featureMatrix(apps: readonly Application[]): Float32Array {
  const k = FEATURE_NAMES.length;
  const out = new Float32Array(apps.length * k);
  apps.forEach((a, i) => FEATURE_NAMES.forEach((f, j) => (out[i * k + j] = Number(a[f]))));
  return out;
}

/** Mean bytes of a Confluent-framed Avro value (5-byte header + body) of each record the scorer handles. */
export function recordSizes(sample = 1000): { application: number; decision: number; scoringLog: number; key: number } {
  const types = Object.fromEntries(['loan-application', 'loan-decision', 'scoring-log'].map((s) => [s, avro.Type.forSchema(loadSchema(s) as avro.Schema)]));
  const apps = applications(sample);
  let app = 0;
  let dec = 0;
  let log = 0;
  let key = 0;
  apps.forEach((a, i) => {
    const features = Object.fromEntries(FEATURE_NAMES.map((f) => [f, Number(a[f])]));
    const valid = { application_id: String(a.application_id), submitted_at: Number(a.submitted_at), features };
    const d = decisionRecord(valid, 0.1234567, { name: 'credit-default-classifier', version: '1' }, DEFAULT_POLICY, { topic: 'loan-applications', partition: i % 6, offset: i * 7 }, FIXED_TIME + 5);
    app += types['loan-application']!.toBuffer(a).length + 5;
    dec += types['loan-decision']!.toBuffer(d).length + 5;
    log += types['scoring-log']!.toBuffer(scoringLogRecord(valid, d, 1.5, 2000)).length + 5;
    key += Buffer.byteLength(String(a.application_id));
  });
  const mean = (v: number) => Math.round(v / apps.length);
  return { application: mean(app), decision: mean(dec), scoringLog: mean(log), key: mean(key) };
}
