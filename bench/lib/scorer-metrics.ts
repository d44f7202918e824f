/**
 * The scorer's own view of a run, from its Prometheus endpoint: mean chunk size, mean time per chunk
 * (decode to commit), transactions, and its in-process end-to-end latency histogram — which separates the
 * scorer's time from the harness's observing consumer.
 */
import type { Proc } from './proc.ts';

export interface ScorerMetrics {
  readonly chunks: number;
  readonly meanChunkSize: number;
  readonly meanChunkMs: number;
  readonly transactions: number;
  /** Share of decisions whose in-process end-to-end latency was within each bucket (seconds). */
  readonly endToEndCumulative: Readonly<Record<string, number>>;
}

/** The scorer logs its HTTP address once it runs ("scorer running" ... "http":"http://127.0.0.1:PORT"). */
export function scorerHttp(proc: Proc): string | undefined {
  return /"http":"(http:\/\/[^"]+)"/.exec(proc.output())?.[1];
}

function series(text: string, name: string): { labels: string; value: number }[] {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'gm');
  return [...text.matchAll(re)].map((m) => ({ labels: m[1] ?? '', value: Number(m[2]) }));
}

export function parseScorerMetrics(text: string): ScorerMetrics {
  const one = (name: string) => series(text, name).reduce((s, x) => s + x.value, 0);
  const chunks = one('scorer_batch_size_count');
  const e2eCount = one('scorer_end_to_end_latency_seconds_count');
  const buckets: Record<string, number> = {};
  for (const b of series(text, 'scorer_end_to_end_latency_seconds_bucket')) {
    const le = /le="([^"]+)"/.exec(b.labels)?.[1];
    if (le && le !== '+Inf' && e2eCount > 0) buckets[`<=${le}s`] = Math.round((b.value / e2eCount) * 1000) / 1000;
  }
  return {
    chunks,
    meanChunkSize: chunks ? Math.round((one('scorer_batch_size_sum') / chunks) * 10) / 10 : Number.NaN,
    meanChunkMs: chunks ? Math.round((one('scorer_batch_duration_seconds_sum') / one('scorer_batch_duration_seconds_count')) * 10_000) / 10 : Number.NaN,
    transactions: one('scorer_transactions_total'),
    endToEndCumulative: buckets,
  };
}

export async function fetchScorerMetrics(proc: Proc): Promise<ScorerMetrics | undefined> {
  const http = scorerHttp(proc);
  if (!http) return undefined;
  try {
    const res = await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? parseScorerMetrics(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}
