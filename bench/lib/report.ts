/**
 * After all scenarios ran: the ratios and targets that compare across scenarios (scorer vs Peer B, vs the
 * broker's ceiling, vs the model runtime; latency and memory targets), and the table printed to stdout
 * (also pasted into docs/performance.md). Pure.
 */
import type { ScenarioResult } from './scenario.ts';
import { target } from './scenario.ts';
import { ratio, round, type Spread } from './stats.ts';
import { secureTwin, tlsOverhead } from './transport.ts';

type Contenders = ScenarioResult['contenders'];

function find(results: readonly ScenarioResult[], name: string): ScenarioResult | undefined {
  return results.find((r) => r.scenario === name);
}

function med(c: Contenders | undefined, id: string, field: string): number {
  const s = c?.[id]?.[field] as Spread | null | undefined;
  return s?.median ?? Number.NaN;
}

const MODES = [
  ['scorer-eos', 'scorer exactly-once'],
  ['scorer-alo', 'scorer at-least-once'],
] as const;

/** Adds the cross-scenario ratios and targets to the scenarios they belong to. */
export function addCrossRatios(results: readonly ScenarioResult[]): void {
  const tp = find(results, 'throughput')?.contenders;
  const rr = find(results, 'request-response');
  if (tp && rr) {
    const xgb = med(rr.contenders, 'peer-b-xgboost', 'requestsPerSec');
    const onnx = med(rr.contenders, 'peer-b-onnx', 'requestsPerSec');
    const fastest = Math.max(Number.isFinite(xgb) ? xgb : -1, Number.isFinite(onnx) ? onnx : -1);
    for (const [id, label] of MODES) {
      const s = med(tp, id, 'appsPerSec');
      rr.ratios[`${id}/peer-b-xgboost`] = ratio(s, xgb);
      rr.ratios[`${id}/peer-b-onnx`] = ratio(s, onnx);
      rr.targets.push(target(`${label} / fastest Peer B (req/s)`, ratio(s, fastest > 0 ? fastest : Number.NaN), 'min', 50));
    }
    rr.ratios['peer-a/peer-b-xgboost'] = ratio(med(tp, 'peer-a', 'appsPerSec'), xgb);
  }
  const bl = find(results, 'broker-limit');
  if (tp && bl) {
    const ceiling = med(bl.contenders, 'broker-ceiling', 'appsPerSec');
    for (const [id, label] of MODES) {
      bl.ratios[`${id}/broker-ceiling`] = ratio(med(tp, id, 'appsPerSec'), ceiling);
      bl.targets.push(target(`${label} / broker ceiling`, bl.ratios[`${id}/broker-ceiling`]!, 'min', 0.4));
    }
    bl.ratios['peer-a/broker-ceiling'] = ratio(med(tp, 'peer-a', 'appsPerSec'), ceiling);
  }
  const ml = find(results, 'model-limit');
  if (tp && ml) {
    const nodeRows = med(ml.contenders, 'onnx-node', 'batch2000RowsPerSec');
    for (const id of ['scorer-eos', 'scorer-alo', 'peer-a']) ml.ratios[`${id}/onnx-node-batch2000`] = ratio(med(tp, id, 'appsPerSec'), nodeRows);
    ml.ratios['peer-a/onnx-python-batch2000'] = ratio(med(tp, 'peer-a', 'appsPerSec'), med(ml.contenders, 'onnx-python', 'batch2000RowsPerSec'));
  }
  const lat = find(results, 'latency');
  if (lat) {
    for (const [id, label] of MODES) {
      const at1k = lat.contenders[id]?.['1000/s'] as { p99Ms: Spread } | null | undefined;
      lat.targets.push(target(`${label}: p99 at 1000/s offered (ms)`, at1k?.p99Ms.median ?? Number.NaN, 'max', 20));
    }
  }
  const tps = find(results, 'throughput');
  if (tps) {
    for (const [id, label] of MODES) {
      // Highest RSS in the second half of the backlog over the highest in the first half (a tenth = 10%
      // of the applications committed), worst run: above 1 means memory kept growing under overload.
      const runs = (tps.contenders[id]?.runs ?? []) as { rssMbByTenth?: number[]; error?: string }[];
      const growth = Math.max(
        ...runs
          .filter((r) => !r.error && r.rssMbByTenth?.length === 10)
          .map((r) => Math.max(...r.rssMbByTenth!.slice(5)) / Math.max(...r.rssMbByTenth!.slice(0, 5))),
      );
      tps.ratios[`${id} rss second/first half`] = round(growth, 2);
      tps.targets.push(target(`${label}: peak RSS, second half / first half of the backlog (bounded under overload)`, round(growth, 2), 'max', 1.2));
    }
  }
}

// ------------------------------------------------------------------------------------------ table
const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
const n1 = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)) : '—');

function cell(s: unknown, f: (v: number) => string = n0): string {
  const sp = s as Spread | null | undefined;
  if (!sp || !Number.isFinite(sp.median)) return '—';
  return sp.values.length > 1 ? `${f(sp.median)} (${f(sp.min)}–${f(sp.max)})` : f(sp.median);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`).flatMap((l, i) => (i === 0 ? [l, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`] : [l]));
}

const LABELS: Record<string, string> = {
  'scorer-eos': 'this scorer, exactly-once',
  'scorer-alo': 'this scorer, at-least-once',
  'scorer-eos-noexplain': 'this scorer, exactly-once, EXPLAIN_DECISIONS=false',
  'scorer-alo-noexplain': 'this scorer, at-least-once, EXPLAIN_DECISIONS=false',
  'scorer-eos-sasl_ssl': 'this scorer, exactly-once, SASL_SSL (SCRAM-SHA-512) broker',
  'scorer-alo-sasl_ssl': 'this scorer, at-least-once, SASL_SSL (SCRAM-SHA-512) broker',
  'baseline-eos': 'baseline commit, exactly-once',
  'baseline-alo': 'baseline commit, at-least-once',
  'peer-a': 'Peer A: Python confluent-kafka + fastavro + onnxruntime (ALO)',
  'peer-a-reasons': 'Peer A with reasons (XGBoost pred_contribs)',
  'peer-b-xgboost': 'Peer B: FastAPI + XGBoost, 1 request per application',
  'peer-b-onnx': 'Peer B: FastAPI + ONNX, 1 request per application',
};

/** The results as Markdown tables (stdout and docs/performance.md). */
export function renderTables(results: readonly ScenarioResult[]): string {
  const out: string[] = [];
  const m = results[0]?.machine;
  if (m) out.push(`Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, Python ${m.python}; load average at start ${m.loadAverageAtStart.join(' ')}`, '');
  if (m?.cluster) out.push(`Cluster: ${m.cluster.brokers} broker${m.cluster.brokers === 1 ? '' : 's'}, topics with replication factor ${m.cluster.replicationFactor} and min.insync.replicas ${m.cluster.minInsyncReplicas === 'broker default' ? "(the broker's default)" : m.cluster.minInsyncReplicas}`, '');
  const tp = find(results, 'throughput');
  const rr = find(results, 'request-response');
  if (tp || rr) {
    out.push(`Throughput — median (min–max) of ${tp?.repetitions ?? rr?.repetitions} repetitions; ${tp ? `${tp.n?.toLocaleString('en-US')} applications pre-loaded in 6 partitions` : ''}${rr ? `; Peer B: ${rr.n} requests` : ''}`, '');
    const rows = [['contender', 'applications/s', 'CPU s per 100k', 'peak RSS MB']];
    for (const id of ['scorer-eos', secureTwin('scorer-eos'), 'scorer-alo', secureTwin('scorer-alo'), 'scorer-eos-noexplain', 'scorer-alo-noexplain', 'baseline-eos', 'baseline-alo', 'peer-a', 'peer-a-reasons']) if (tp?.contenders[id]) rows.push([id.startsWith('baseline') && tp.baselineCommit ? `${LABELS[id]!} ${String(tp.baselineCommit).slice(0, 7)}` : LABELS[id]!, cell(tp.contenders[id]!.appsPerSec), cell(tp.contenders[id]!.cpuSecPer100k, n1), cell(tp.contenders[id]!.peakRssMb)]);
    for (const id of ['peer-b-xgboost', 'peer-b-onnx']) if (rr?.contenders[id]) rows.push([LABELS[id]!, cell(rr.contenders[id]!.requestsPerSec), cell(rr.contenders[id]!.cpuSecPer100k, n1), cell(rr.contenders[id]!.peakRssMb)]);
    out.push(...table(rows), '');
  }
  const tls = tp ? tlsOverhead(tp.contenders) : [];
  if (tls.length) {
    const sec = tp!.secure;
    out.push(`TLS overhead — the same applications through the SASL_SSL listener (SCRAM-SHA-512${sec ? `, ${sec.tls.protocol} ${sec.tls.cipher}, broker ${sec.brokers}` : ''}) and through plaintext, same run; medians`, '');
    const rows = [['ratio', 'applications/s plaintext → SASL_SSL', 'SASL_SSL / plaintext', 'CPU s per 100k plaintext → SASL_SSL', 'SASL_SSL / plaintext (CPU)']];
    const r2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');
    for (const o of tls) rows.push([o.name.replace('/', ' / '), `${n0(o.plaintext.appsPerSec)} → ${n0(o.secure.appsPerSec)}`, r2(o.throughputRatio), `${n1(o.plaintext.cpuSecPer100k)} → ${n1(o.secure.cpuSecPer100k)}`, r2(o.cpuRatio)]);
    out.push(...table(rows), '');
  }
  const ml = find(results, 'model-limit');
  const bl = find(results, 'broker-limit');
  if (ml || bl) {
    out.push('Limits', '');
    const rows = [['limit', 'figure']];
    if (ml) {
      const c = ml.contenders;
      rows.push(['ONNX model alone, Node, batches of 2000 / one batch', `${cell(c['onnx-node']?.batch2000RowsPerSec)} / ${cell(c['onnx-node']?.bigBatchRowsPerSec)} rows/s`]);
      rows.push(['ONNX model alone, Python, batches of 2000 / one batch', `${cell(c['onnx-python']?.batch2000RowsPerSec)} / ${cell(c['onnx-python']?.bigBatchRowsPerSec)} rows/s`]);
      rows.push(['one session.run with 1 row: Node / Python', `${cell(c['onnx-node']?.perCallMicros1Row, n1)} / ${cell(c['onnx-python']?.perCallMicros1Row, n1)} µs`]);
      rows.push(["one call through the scorer's ModelHost (worker thread): 1 row / 2000 rows", `${cell(c['scorer-model-host']?.perCallMicros1Row, n1)} / ${cell(c['scorer-model-host']?.batch2000Micros)} µs`]);
    }
    if (bl) {
      const c = bl.contenders;
      rows.push([`Kafka ProducerPerformance (acks=all, output-sized records)`, `${cell(c['kafka-producer-perf']?.recordsPerSec)} records/s`]);
      rows.push([`Kafka ConsumerPerformance (the pre-loaded applications)`, `${cell(c['kafka-consumer-perf']?.recordsPerSec)} records/s`]);
      rows.push(['broker ceiling for 1 consumed + 2 produced records', `${cell(c['broker-ceiling']?.appsPerSec)} applications/s`]);
    }
    out.push(...table(rows), '');
  }
  const lat = find(results, 'latency');
  if (lat) {
    const rates = Object.keys(Object.values(lat.contenders)[0] ?? {}).filter((k) => k.endsWith('/s'));
    out.push('Latency, submitted_at → decision visible to a read_committed consumer (ms): p50 / p99 / p99.9', '');
    const rows = [['contender', ...rates.map((r) => `offered ${r}`)]];
    for (const [id, c] of Object.entries(lat.contenders)) {
      rows.push([
        LABELS[id] ?? id,
        ...rates.map((r) => {
          const x = c[r] as { p50Ms: Spread; p99Ms: Spread; p999Ms: Spread; maxLag: number } | null;
          return x ? `${n1(x.p50Ms.median)} / ${n1(x.p99Ms.median)} / ${n1(x.p999Ms.median)}${x.maxLag > Number(r.replace('/s', '')) ? ` (lag up to ${n0(x.maxLag)})` : ''}` : 'failed';
        }),
      ]);
    }
    out.push(...table(rows), '');
  }
  const drift = find(results, 'drift');
  if (drift) {
    out.push('Drift monitor', '');
    if (Object.keys(drift.contenders).length === 0) out.push(`- ${drift.error ? `failed: ${drift.error.split('\n')[0]}` : (drift.notes?.[0] ?? 'not measured')}`, '');
    else {
      for (const [id, c] of Object.entries(drift.contenders)) {
        const scalars = Object.entries(c).filter(([, v]) => typeof v === 'number' || (typeof v === 'object' && v !== null && 'median' in v));
        out.push(`- ${id}: ${scalars.map(([k, v]) => `${k} ${typeof v === 'number' ? n1(v) : cell(v, n1)}`).join(', ')}`);
      }
      out.push('');
    }
  }
  const sc = find(results, 'scaling');
  if (sc && Object.keys(sc.contenders).length) {
    out.push(`Scaling — scorer processes in one group, exactly-once, median (min–max) of ${sc.repetitions}; ${sc.n?.toLocaleString('en-US')} applications, 6 partitions`, '');
    const rows = [['processes', 'applications/s', 'speed-up over one', 'CPU cores busy', 'CPU s per 100k']];
    const one = (sc.contenders['scorer-eos x1']?.appsPerSec as { median: number } | null)?.median ?? Number.NaN;
    for (const [id, c] of Object.entries(sc.contenders)) {
      const m = (c.appsPerSec as { median: number } | null)?.median ?? Number.NaN;
      rows.push([id.replace('scorer-eos x', ''), cell(c.appsPerSec), Number.isFinite(m / one) ? (m / one).toFixed(2) : '—', cell(c.cores, (v) => v.toFixed(2)), cell(c.cpuSecPer100k, n1)]);
    }
    out.push(...table(rows), '');
  }
  const targets = results.flatMap((r) => r.targets);
  if (targets.length) {
    out.push('Ratios against the targets (reported, not enforced)', '');
    const rows = [['ratio', 'value', 'target', '']];
    for (const t of targets) rows.push([t.name, Number.isFinite(t.value) ? String(t.value) : '—', `${t.kind === 'min' ? '≥' : '≤'} ${t.target}`, t.met ? 'met' : Number.isFinite(t.value) ? 'MISSED' : 'not measured']);
    out.push(...table(rows), '');
  }
  const errors = results.filter((r) => r.error);
  for (const e of errors) out.push(`ERROR in ${e.scenario}: ${e.error!.split('\n')[0]}`);
  return out.join('\n');
}
