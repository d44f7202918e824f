// A worker thread that owns one onnxruntime-node InferenceSession and the same model's trees (the
// explanations). session.run is a synchronous native call (onnxruntime #19611, #26968); running it here
// keeps the main event loop — and kafkajs heartbeats — free, and so does TreeSHAP. Swapping a model means
// replacing this whole worker (onnxruntime #25325: repeated session create/release in one thread leaks),
// so the session is created once and never released here.
// Plain JavaScript so it loads the same way under node, tsx and vitest; the explainer is TypeScript
// (services/scorer/explain/), compiled to .js in the image and loaded through tsx's loader otherwise.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** @type {import('onnxruntime-node').InferenceSession | undefined} */
let session;
/** @type {{ contributions(d: Float32Array, r: number): Float64Array, probabilities(d: Float32Array, r: number): Float64Array } | undefined} */
let explainer;
/** How far an explained row's served probability may be from ONNX's before the batch fails (float32 rounding is ~1e-7). */
const SERVED_TOLERANCE = 1e-5;
const { modelBytes, inputName, outputName, probabilityColumn, featureCount, intraOpThreads, trees } = workerData;

async function loadExplainer() {
  if (!trees) return undefined;
  if (trees.moduleUrl.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const { createExplainer } = await import(trees.moduleUrl);
  const t0 = performance.now();
  explainer = createExplainer(new Uint8Array(trees.bytes), trees.featureNames);
  const buildMs = performance.now() - t0;
  // The trees must be the ONNX model's: same probability on every golden row within the tolerance.
  const rows = trees.goldenRows.length;
  const data = new Float32Array(trees.goldenRows.flat());
  const fromTrees = explainer.probabilities(data, rows);
  const fromOnnx = (await run(new Float32Array(data), rows)).probs;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < rows; i++) {
    const d = Math.abs(fromTrees[i] - fromOnnx[i]);
    if (!(d <= worst)) {
      [worst, at] = [d, i];
      if (Number.isNaN(d)) break;
    }
  }
  // And the contributions must add up to the margin they explain.
  const contribs = explainer.contributions(data, rows);
  let additivity = 0;
  for (let i = 0; i < rows; i++) {
    let m = 0;
    for (let j = 0; j <= featureCount; j++) m += contribs[i * (featureCount + 1) + j];
    const p = 1 / (1 + Math.exp(-m));
    const a = Math.abs(p - fromTrees[i]);
    additivity = Number.isNaN(a) ? NaN : Math.max(additivity, a);
  }
  return { rows, maxAbsDiff: worst, worstRow: at, additivity, buildMs };
}

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
  const treesCheck = await loadExplainer();
  return { inputNames: session.inputNames, outputNames: session.outputNames, treesCheck };
}

/** @param {Float32Array} data @param {number} rows @param {boolean} [explain] */
async function run(data, rows, explain = false) {
  const t0 = performance.now();
  const input = new ort.Tensor('float32', data, [rows, featureCount]);
  const out = await session.run({ [inputName]: input }, [outputName]);
  const t = out[outputName];
  const values = /** @type {Float32Array} */ (t.data);
  const cols = t.dims.length === 2 ? Number(t.dims[1]) : 1;
  const probs = new Float64Array(rows);
  for (let i = 0; i < rows; i++) probs[i] = values[i * cols + (cols === 1 ? 0 : probabilityColumn)];
  const durationMs = performance.now() - t0;
  if (!explain || !explainer) return { probs, durationMs };
  const t1 = performance.now();
  const contributions = explainer.contributions(data, rows);
  // An explained decision serves sigmoid(bias + sum of its contributions), so its reasons add up to its
  // probability exactly; ONNX (float32, summed in float32) stays the check: a row further from it than
  // SERVED_TOLERANCE fails the batch.
  const k = featureCount + 1;
  for (let i = 0; i < rows; i++) {
    let m = 0;
    for (let j = 0; j < k; j++) m += contributions[i * k + j];
    const p = 1 / (1 + Math.exp(-m));
    if (!(Math.abs(p - probs[i]) <= SERVED_TOLERANCE)) throw new Error(`row ${i}: trees give P(default) ${p}, ONNX ${probs[i]} (more than ${SERVED_TOLERANCE} apart)`);
    probs[i] = p;
  }
  return { probs, durationMs, contributions, explainMs: performance.now() - t1 };
}

parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      parentPort.postMessage({ type: 'loaded', ...(await load()) });
    } else if (msg.type === 'run') {
      const r = await run(msg.data, msg.rows, msg.explain);
      parentPort.postMessage({ type: 'result', id: msg.id, ...r }, r.contributions ? [r.probs.buffer, r.contributions.buffer] : [r.probs.buffer]);
    }
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});
