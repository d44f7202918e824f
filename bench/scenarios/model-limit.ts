/**
 * Scenario 4a: the model runtime's limit. The same ONNX model on the same applications' features, with
 * the scorer's session options (one intra-op thread), without Kafka or decoding: rows/s for one big batch
 * and for batches of 2000 (the scorer's default chunk), in Node and in Python; and the cost of one call
 * with one row — of session.run itself, and through the scorer's worker thread (ModelHost).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelHost } from '../../services/scorer/model/model-host.ts';
import { FEATURE_NAMES, REPO_ROOT } from '../../services/shared/schemas.ts';
import { applications, featureMatrix } from '../lib/data.ts';
import { PYTHON, run } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { median, round, spread } from '../lib/stats.ts';

export const MODEL_DIR = join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
const K = FEATURE_NAMES.length;

/** Median seconds of `repeats` runs of fn after one warm-up run. */
async function timed(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return median(t);
}

interface LimitFigures {
  bigBatchRowsPerSec: number;
  batch2000RowsPerSec: number;
  perCallMicros1Row: number;
}

async function nodeLimit(features: Float32Array, rows: number): Promise<LimitFigures> {
  const session = await ort.InferenceSession.create(join(MODEL_DIR, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const out = session.outputNames.includes('probabilities') ? 'probabilities' : session.outputNames.at(-1)!;
  const input = session.inputNames[0]!;
  const runRows = (data: Float32Array, n: number) => session.run({ [input]: new ort.Tensor('float32', data, [n, K]) }, [out]);
  const big = await timed(() => runRows(features, rows), 3);
  const chunks: [Float32Array, number][] = [];
  for (let i = 0; i < rows; i += 2000) chunks.push([features.subarray(i * K, Math.min(rows, i + 2000) * K), Math.min(2000, rows - i)]);
  const chunked = await timed(async () => {
    for (const [c, n] of chunks) await runRows(c, n);
  }, 3);
  const one = features.slice(0, K);
  const calls = 2000;
  const perCall = await timed(async () => {
    for (let i = 0; i < calls; i++) await runRows(one, 1);
  }, 5);
  await session.release();
  return { bigBatchRowsPerSec: rows / big, batch2000RowsPerSec: rows / chunked, perCallMicros1Row: (perCall / calls) * 1e6 };
}

/** One row per call through the scorer's own model adapter: postMessage to its worker thread and back. */
async function modelHostPerCall(features: Float32Array): Promise<{ perCallMicros1Row: number; batch2000Micros: number }> {
  const host = await ModelHost.load(MODEL_DIR);
  try {
    const calls = 1000;
    const perCall = await timed(async () => {
      for (let i = 0; i < calls; i++) await host.score(features.slice(0, K), 1);
    }, 3);
    const batch = await timed(() => host.score(features.slice(0, 2000 * K), 2000), 20);
    return { perCallMicros1Row: (perCall / calls) * 1e6, batch2000Micros: batch * 1e6 };
  } finally {
    await host.close();
  }
}

export async function modelLimitScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = performance.now();
  const rows = Math.max(ctx.sizes.n, 2000);
  const features = featureMatrix(applications(rows));
  const file = join(tmpdir(), `bench-features-${ctx.cluster.runId}.f32`);
  writeFileSync(file, features);
  const node: LimitFigures[] = [];
  const python: LimitFigures[] = [];
  const host: { perCallMicros1Row: number; batch2000Micros: number }[] = [];
  for (let rep = 0; rep < ctx.sizes.repetitions; rep++) {
    // Alternate which runtime goes first.
    const steps = [
      async () => node.push(await nodeLimit(features, rows)),
      async () => python.push(JSON.parse(await run('onnx-limit', PYTHON, ['bench/peers/onnx_limit.py', file, String(rows), join(MODEL_DIR, 'model.onnx')])) as LimitFigures),
    ];
    for (const s of rep % 2 ? steps.reverse() : steps) await s();
    host.push(await modelHostPerCall(features));
    ctx.log(`model-limit: rep ${rep + 1}: Node ${round(node.at(-1)!.batch2000RowsPerSec)} rows/s, Python ${round(python.at(-1)!.batch2000RowsPerSec)} rows/s (batch 2000); per call ${round(node.at(-1)!.perCallMicros1Row, 1)} µs Node, ${round(python.at(-1)!.perCallMicros1Row, 1)} µs Python, ${round(host.at(-1)!.perCallMicros1Row, 1)} µs via the scorer's worker`);
  }
  const figures = <T extends object>(runs: T[], keys: (keyof T)[]) => Object.fromEntries(keys.map((k) => [k, spread(runs.map((r) => round(r[k] as number, 1)))]));
  const keys: (keyof LimitFigures)[] = ['bigBatchRowsPerSec', 'batch2000RowsPerSec', 'perCallMicros1Row'];
  return {
    scenario: 'model-limit',
    description: 'The ONNX model alone (one intra-op thread, as the scorer runs it): rows/s in one big batch and in batches of 2000, and µs per call with one row',
    machine: ctx.machine,
    n: rows,
    repetitions: ctx.sizes.repetitions,
    contenders: {
      'onnx-node': { description: `onnxruntime-node, session.run in the main thread`, ...figures(node, keys) },
      'onnx-python': { description: `onnxruntime (Python)`, ...figures(python, keys) },
      'scorer-model-host': { description: "the scorer's ModelHost: session.run in a worker thread, rows posted and results posted back", ...figures(host, ['perCallMicros1Row', 'batch2000Micros']) },
    },
    ratios: {},
    targets: [],
    seconds: round((performance.now() - started) / 1000, 1),
  };
}
