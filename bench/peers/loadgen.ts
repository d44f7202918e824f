/**
 * A closed-loop HTTP load generator for Peer B: `concurrency` keep-alive connections, each sending the
 * next application as soon as its previous response arrived, until every body was sent once. Counts
 * statuses and measures requests/s over the whole run (after a warm-up that is not counted).
 */
import http from 'node:http';
import { percentile, round } from '../lib/stats.ts';

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function post(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

export async function load(url: string, bodies: readonly string[], concurrency: number, warmup = 0): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const runAll = async (list: readonly string[], latencies?: number[]) => {
      let next = 0;
      let ok = 0;
      let failed = 0;
      const worker = async () => {
        while (next < list.length) {
          const body = list[next++]!;
          const t0 = performance.now();
          const status = await post(agent, target, body).catch(() => 0);
          latencies?.push(performance.now() - t0);
          if (status === 200) ok++;
          else failed++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { ok, failed };
    };
    if (warmup > 0) await runAll(bodies.slice(0, warmup));
    const latencies: number[] = [];
    const t0 = performance.now();
    const { ok, failed } = await runAll(bodies, latencies);
    const seconds = (performance.now() - t0) / 1000;
    return {
      requests: bodies.length,
      ok,
      failed,
      seconds: round(seconds, 3),
      requestsPerSec: round(bodies.length / seconds),
      p50Ms: round(percentile(latencies, 0.5), 2),
      p99Ms: round(percentile(latencies, 0.99), 2),
    };
  } finally {
    agent.destroy();
  }
}
