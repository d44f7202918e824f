// A worker thread that owns one onnxruntime-node InferenceSession. session.run is a synchronous native
// call (onnxruntime #19611, #26968); running it here keeps the main event loop — and kafkajs heartbeats —
// free. Swapping a model means replacing this whole worker (onnxruntime #25325: repeated session
// create/release in one thread leaks), so the session is created once and never released here.
// Plain JavaScript so it loads the same way under node, tsx and vitest.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** @type {import('onnxruntime-node').InferenceSession | undefined} */
let session;
const { modelBytes, inputName, outputName, probabilityColumn, featureCount, intraOpThreads } = workerData;

async function load() {
  session = await ort.InferenceSession.create(new Uint8Array(modelBytes), {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (!session.inputNames.includes(inputName)) throw new Error(`model has inputs [${session.inputNames.join(', ')}], metadata says "${inputName}"`);
  if (!session.outputNames.includes(outputName)) throw new Error(`model has outputs [${session.outputNames.join(', ')}], metadata says "${outputName}"`);
  const meta = session.inputMetadata?.find?.((m) => m.name === inputName);
  const dims = meta && 'shape' in meta ? meta.shape : undefined;
  if (Array.isArray(dims) && typeof dims[1] === 'number' && dims[1] !== featureCount) {
    throw new Error(`model input "${inputName}" takes ${dims[1]} features, the schema has ${featureCount}`);
  }
  return { inputNames: session.inputNames, outputNames: session.outputNames };
}

/** @param {Float32Array} data @param {number} rows */
async function run(data, rows) {
  const t0 = performance.now();
  const input = new ort.Tensor('float32', data, [rows, featureCount]);
  const out = await session.run({ [inputName]: input }, [outputName]);
  const t = out[outputName];
  const values = /** @type {Float32Array} */ (t.data);
  const cols = t.dims.length === 2 ? Number(t.dims[1]) : 1;
  const probs = new Float64Array(rows);
  for (let i = 0; i < rows; i++) probs[i] = values[i * cols + (cols === 1 ? 0 : probabilityColumn)];
  return { probs, durationMs: performance.now() - t0 };
}

parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      parentPort.postMessage({ type: 'loaded', ...(await load()) });
    } else if (msg.type === 'run') {
      const { probs, durationMs } = await run(msg.data, msg.rows);
      parentPort.postMessage({ type: 'result', id: msg.id, probs, durationMs }, [probs.buffer]);
    }
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});
