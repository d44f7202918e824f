/** Rendering of the live terminal view: pure functions from a snapshot to lines of text. */
export interface LiveSnapshot {
  readonly uptimeS: number;
  readonly produced: number;
  readonly producedInvalid: number;
  readonly producedRate: number;
  readonly scored: number;
  readonly scoredRate: number;
  readonly decisions: Readonly<Record<string, number>>;
  readonly deadLetters: Readonly<Record<string, number>>;
  readonly lag: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly modelVersion: string | undefined;
  readonly brokers: string;
  readonly notes: readonly string[];
  /** More sections (the drift monitor's), shown before the notes. */
  readonly sections?: readonly string[];
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const bar = (share: number, width = 24) => '█'.repeat(Math.round(share * width)).padEnd(width, '·');

export function renderLive(s: LiveSnapshot): string[] {
  const totalDecisions = Object.values(s.decisions).reduce((a, b) => a + b, 0);
  const totalDead = Object.values(s.deadLetters).reduce((a, b) => a + b, 0);
  const lines = [
    `credit-risk scorer — live   up ${Math.floor(s.uptimeS)}s   brokers ${s.brokers}   model v${s.modelVersion ?? '?'}`,
    '',
    `  simulator   ${fmt(s.produced).padStart(10)} produced   ${fmt(s.producedRate).padStart(7)}/s   (${fmt(s.producedInvalid)} invalid on purpose)`,
    `  scorer      ${fmt(s.scored).padStart(10)} scored     ${fmt(s.scoredRate).padStart(7)}/s   lag ${s.lag === undefined ? '?' : fmt(s.lag)}   latency p50 ${s.p50Ms?.toFixed(0) ?? '-'} ms  p99 ${s.p99Ms?.toFixed(0) ?? '-'} ms`,
    '',
    '  decisions',
  ];
  for (const d of ['APPROVE', 'REVIEW', 'DECLINE']) {
    const n = s.decisions[d] ?? 0;
    const share = totalDecisions ? n / totalDecisions : 0;
    lines.push(`    ${d.padEnd(8)} ${bar(share)} ${fmt(n).padStart(9)}  ${(share * 100).toFixed(1).padStart(5)}%`);
  }
  lines.push('', `  dead letters ${fmt(totalDead)}`);
  for (const [code, n] of Object.entries(s.deadLetters).sort()) lines.push(`    ${code.padEnd(22)} ${fmt(n).padStart(9)}`);
  lines.push(...(s.sections ?? []));
  for (const n of s.notes) lines.push('', `  ${n}`);
  lines.push('', '  Ctrl-C stops (the scorer finishes its in-flight batch and commits).');
  return lines;
}

/** Nearest-rank percentile of a sample. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Rates per second between two frames. The first rate counts only what happened after the meter was made,
 * so a backlog scored before the view started is not shown as one interval's rate.
 */
export class RateMeter<K extends string> {
  private prev: { t: number; counts: Record<K, number> };

  constructor(now: number, counts: Readonly<Record<K, number>>) {
    this.prev = { t: now, counts: { ...counts } };
  }

  next(now: number, counts: Readonly<Record<K, number>>): Record<K, number> {
    const dt = Math.max(0.001, (now - this.prev.t) / 1000);
    const rates = Object.fromEntries(Object.keys(counts).map((k) => [k, (counts[k as K] - (this.prev.counts[k as K] ?? 0)) / dt])) as Record<K, number>;
    this.prev = { t: now, counts: { ...counts } };
    return rates;
  }
}
