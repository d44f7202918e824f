/**
 * The model adapter: one loaded model version, its ONNX session and its trees living in a worker thread.
 * `score` takes a batch of feature rows (schema order) and returns P(default) per row and, when the host
 * explains, every row's contributions to the margin (TreeSHAP, services/scorer/explain/). `close`
 * terminates the worker, which frees the native session with the thread.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
// Loaded here, in the main thread, only so that the native addon is registered with the process once:
// without it, the addon loads in the first worker but every later worker (the next model version in a
// hot swap) fails with "Module did not self-register". No session is ever created on this thread.
import 'onnxruntime-node';
import { ServiceError } from '../../shared/errors.ts';
import { FEATURE_NAMES } from '../../shared/schemas.ts';
import { reasonDirections, type ReasonDirections } from '../explain/reasons.ts';
import { readModelFiles, type ModelMetadata } from './metadata.ts';

export interface ScoreResult {
  /**
   * P(default) per row: ONNX's, or - when the host explains - sigmoid(bias + sum of the row's
   * contributions), checked against ONNX's (so an explained decision's reasons add up to its probability).
   */
  readonly probabilities: Float64Array;
  /** Wall time of the native run in the worker. */
  readonly inferenceMs: number;
  /** rows x (features + 1) contributions to the margin, the bias last; absent when the model does not explain. */
  readonly contributions?: Float64Array;
  /** Wall time of the contributions in the worker. */
  readonly explainMs?: number;
}

export interface ModelLoadOptions {
  readonly intraOpThreads?: number;
  /** sha256 the artifact must have (from a model-update announcement). */
  readonly expectedSha256?: string;
  /** Load the trees and explain every scored row (default true). */
  readonly explain?: boolean;
}

/** How far the trees' probabilities may be from the ONNX model's on the golden rows. */
export const TREES_TOLERANCE = 1e-6;

/** The result of checking a bundle's trees against its ONNX model when it loads. */
export interface TreesCheck {
  readonly rows: number;
  readonly maxAbsDiff: number;
  readonly worstRow: number;
  /** max |sigmoid(bias + sum of contributions) - sigmoid(margin)| over the golden rows. */
  readonly additivity: number;
  readonly buildMs: number;
}

// The worker imports the explainer as TypeScript from the sources (through tsx) or as the compiled .js.
const EXPLAINER_URL = new URL(`../explain/explainer${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

type Pending = { resolve: (r: ScoreResult) => void; reject: (e: Error) => void };

export class ModelHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** How this version's contributions read as reason directions (monotone constraints, training medians). */
  readonly reasonDirections: ReasonDirections;

  private constructor(
    private readonly worker: Worker,
    readonly metadata: ModelMetadata,
    readonly dir: string,
    /** The trees' check at load; absent when the host does not explain. */
    readonly treesCheck?: TreesCheck,
  ) {
    this.reasonDirections = reasonDirections(metadata);
    worker.on('message', (m: { type: string; id?: number; probs?: Float64Array; durationMs?: number; contributions?: Float64Array; explainMs?: number; message?: string }) => {
      const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
      if (!p) return;
      this.pending.delete(m.id!);
      if (m.type === 'result') {
        p.resolve({ probabilities: m.probs!, inferenceMs: m.durationMs!, ...(m.contributions ? { contributions: m.contributions, explainMs: m.explainMs! } : {}) });
      }
      else p.reject(new ServiceError('INFERENCE_FAILED', `inference failed: ${m.message}`, false, { version: metadata.version }));
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`model worker exited with code ${code}`)));
  }

  get version(): string {
    return this.metadata.version;
  }
  get name(): string {
    return this.metadata.name;
  }
  /** The model.loaded event payload for this version. */
  get loadedEvent(): { name: string; version: string; createdAt?: number } {
    const createdAt = this.metadata.created_at ? Date.parse(this.metadata.created_at) : Number.NaN;
    return { name: this.name, version: this.version, ...(Number.isFinite(createdAt) ? { createdAt } : {}) };
  }

  /** Whether scored batches come with contributions. */
  get explains(): boolean {
    return this.treesCheck !== undefined;
  }

  /**
   * Loads `dir` (model.onnx + metadata.json, and trees.json + golden.json unless explain is off), checks
   * it - the trees must reproduce the ONNX probabilities on the golden rows within TREES_TOLERANCE - and
   * warms it up with one scored row.
   */
  static async load(dir: string, opts: ModelLoadOptions = {}): Promise<ModelHost> {
    const explain = opts.explain ?? true;
    const files = await readModelFiles(dir, opts.expectedSha256, explain);
    const { metadata } = files;
    const worker = new Worker(new URL('./session-worker.mjs', import.meta.url), {
      workerData: {
        modelBytes: files.modelBytes,
        inputName: metadata.input_name,
        outputName: metadata.output_probability_name,
        probabilityColumn: metadata.probability_column,
        featureCount: FEATURE_NAMES.length,
        intraOpThreads: opts.intraOpThreads ?? 1,
        trees: files.trees ? { bytes: files.trees.bytes, goldenRows: files.trees.goldenRows, featureNames: FEATURE_NAMES, moduleUrl: EXPLAINER_URL } : undefined,
      },
    });
    let treesCheck: TreesCheck | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const onMsg = (m: { type: string; message?: string; treesCheck?: TreesCheck }) => {
          treesCheck = m.treesCheck;
          if (m.type === 'loaded') resolve();
          else if (m.type === 'error') reject(new Error(m.message));
        };
        worker.once('message', onMsg);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`model worker exited with code ${code} while loading`)));
        worker.postMessage({ type: 'load' });
      });
    } catch (e) {
      await worker.terminate();
      throw new ServiceError('MODEL_LOAD_FAILED', `cannot load model ${dir}: ${(e as Error).message}`, false, { dir }, { cause: e });
    }
    if (files.trees && !(treesCheck && treesCheck.maxAbsDiff <= TREES_TOLERANCE && treesCheck.additivity <= TREES_TOLERANCE)) {
      await worker.terminate();
      throw new ServiceError(
        'MODEL_TREES_MISMATCH',
        `model ${dir}: trees.json does not reproduce model.onnx: max |p_trees - p_onnx| ${treesCheck?.maxAbsDiff} (golden row ${treesCheck?.worstRow}), additivity ${treesCheck?.additivity}, over ${treesCheck?.rows} golden rows (tolerance ${TREES_TOLERANCE})`,
        false,
        { dir, ...treesCheck },
      );
    }
    const host = new ModelHost(worker, metadata, dir, treesCheck);
    // Warm-up: the first run allocates; also proves the model produces a probability in [0, 1].
    const warm = await host.score(new Float32Array(FEATURE_NAMES.length).fill(1), 1).catch(async (e: Error) => {
      await host.close();
      throw new ServiceError('MODEL_LOAD_FAILED', `model ${dir} failed its warm-up run: ${e.message}`, false, { dir }, { cause: e });
    });
    const p = warm.probabilities[0]!;
    if (!(p >= 0 && p <= 1)) {
      await host.close();
      throw new ServiceError('MODEL_INVALID', `model ${dir} returned ${p} for a warm-up row, not a probability`, false, { dir });
    }
    return host;
  }

  /** Scores `rows` rows of FEATURE_NAMES.length float32 values each. The buffer is transferred (do not reuse it). */
  score(data: Float32Array, rows: number): Promise<ScoreResult> {
    if (this.closed) return Promise.reject(new ServiceError('STATE_INVALID', `model ${this.version} is closed`, true));
    if (data.length !== rows * FEATURE_NAMES.length) {
      return Promise.reject(new ServiceError('INFERENCE_FAILED', `batch has ${data.length} values for ${rows} rows of ${FEATURE_NAMES.length}`, false));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, data, rows, explain: this.explains }, [data.buffer as ArrayBuffer]);
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new ServiceError('INFERENCE_FAILED', e.message, true));
    this.pending.clear();
  }

  /** Idempotent. Waits for in-flight runs, then terminates the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = Date.now() + 10_000;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await this.worker.terminate();
  }
}

/** Packs feature rows into one float32 buffer in schema order. */
export function packFeatures(rows: readonly Readonly<Record<string, number>>[]): Float32Array {
  const n = FEATURE_NAMES.length;
  const out = new Float32Array(rows.length * n);
  rows.forEach((r, i) => {
    for (let j = 0; j < n; j++) out[i * n + j] = r[FEATURE_NAMES[j]!]!;
  });
  return out;
}
