/**
 * Scenario 3: Peer B, the request/response service (bench/peers/peer_b.py), one uvicorn worker, one HTTP
 * request per application, driven at saturation by a closed-loop load generator (bench/peers/loadgen.ts)
 * with keep-alive connections — with the XGBoost model and with the ONNX model. The first applications of
 * the same data set, as JSON.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { applications } from '../lib/data.ts';
import { PYTHON, run, start, usage } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { orderFor, round, spread } from '../lib/stats.ts';
import { load, type LoadResult } from '../peers/loadgen.ts';
import { MODEL_DIR } from './model-limit.ts';

export const XGB_MODEL = join(REPO_ROOT, '.local', 'bench', 'xgb-model.json');
const VARIANTS = [
  { id: 'peer-b-xgboost', model: 'xgboost', description: 'Peer B: FastAPI + the XGBoost model (predict_proba, one thread), one request per application' },
  { id: 'peer-b-onnx', model: 'onnx', description: 'Peer B, ONNX variant: FastAPI + the same ONNX model in onnxruntime, one request per application' },
] as const;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('Peer B exited during start-up');
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Peer B did not answer ${url} within ${timeoutMs} ms`);
}

interface PeerBRun extends LoadResult {
  readonly contender: string;
  readonly repetition: number;
  readonly cpuSecPer100k: number;
  readonly cores: number;
  readonly peakRssMb: number;
  readonly error?: string;
}

async function runPeerB(variant: (typeof VARIANTS)[number], bodies: readonly string[], concurrency: number, repetition: number): Promise<PeerBRun> {
  const port = await freePort();
  const proc = start(variant.id, PYTHON, ['-m', 'uvicorn', 'peer_b:app', '--app-dir', 'bench/peers', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning'], {
    PEER_B_MODEL: variant.model,
    PEER_B_XGB_MODEL: XGB_MODEL,
    MODEL_DIR,
  });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/health`, 60_000, () => !exited);
    await load(`${base}/score`, bodies.slice(0, Math.min(500, Math.ceil(bodies.length / 5))), concurrency);
    const u0 = usage(proc.pid)!;
    const r = await load(`${base}/score`, bodies, concurrency);
    const u1 = usage(proc.pid)!;
    const cpu = u1.cpuSec - u0.cpuSec;
    return {
      ...r,
      contender: variant.id,
      repetition,
      cpuSecPer100k: round((cpu / r.requests) * 100_000, 2),
      cores: round(cpu / r.seconds, 2),
      peakRssMb: round(u1.peakRssMb, 1),
      ...(r.failed ? { error: `${r.failed} of ${r.requests} requests failed` } : {}),
    };
  } catch (e) {
    return { contender: variant.id, repetition, requests: bodies.length, ok: 0, failed: bodies.length, seconds: NaN, requestsPerSec: NaN, p50Ms: NaN, p99Ms: NaN, cpuSecPer100k: NaN, cores: NaN, peakRssMb: NaN, error: `${(e as Error).message}\n${proc.output().slice(-2000)}` };
  } finally {
    await proc.stop(5000);
  }
}

export async function requestResponseScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = performance.now();
  const { sizes } = ctx;
  await run('xgb-model', PYTHON, ['bench/peers/xgb_model.py', XGB_MODEL, MODEL_DIR], {}, 600_000);
  const bodies = applications(sizes.httpRequests).map((a) => JSON.stringify(a));
  const runs: PeerBRun[] = [];
  for (let rep = 0; rep < sizes.repetitions; rep++) {
    for (const v of orderFor(VARIANTS, rep)) {
      const r = await runPeerB(v, bodies, sizes.httpConcurrency, rep);
      ctx.log(`request-response: rep ${rep + 1}/${sizes.repetitions} ${v.id}: ${r.error ? `FAILED ${r.error.split('\n')[0]}` : `${r.requestsPerSec} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.cpuSecPer100k} CPU s/100k`}`);
      runs.push(r);
    }
  }
  const contenders: Record<string, Record<string, unknown>> = {};
  for (const v of VARIANTS) {
    const mine = runs.filter((r) => r.contender === v.id && !r.error);
    contenders[v.id] = {
      description: v.description,
      requestsPerSec: mine.length ? spread(mine.map((r) => r.requestsPerSec)) : null,
      cpuSecPer100k: mine.length ? spread(mine.map((r) => r.cpuSecPer100k)) : null,
      peakRssMb: mine.length ? spread(mine.map((r) => r.peakRssMb)) : null,
      processedAll: runs.filter((r) => r.contender === v.id).every((r) => !r.error && r.ok === r.requests),
      runs: runs.filter((r) => r.contender === v.id),
    };
  }
  const failed = runs.filter((r) => r.error);
  return {
    scenario: 'request-response',
    description: `Requests/s of one uvicorn worker at saturation: ${sizes.httpRequests} requests (one per application), ${sizes.httpConcurrency} keep-alive connections, after a warm-up`,
    machine: ctx.machine,
    n: sizes.httpRequests,
    repetitions: sizes.repetitions,
    contenders,
    ratios: {},
    targets: [],
    notes: ['the load generator runs in the harness process on the same 2 cores and takes part of the CPU; the server is a single process, as the target compares single instances'],
    ...(failed.length ? { error: failed.map((r) => `${r.contender} rep ${r.repetition}: ${r.error!.split('\n')[0]}`).join('; ') } : {}),
    seconds: round((performance.now() - started) / 1000, 1),
  };
}
