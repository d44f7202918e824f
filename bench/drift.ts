/**
 * The drift monitor's benchmark (not a test): how many scoring-log records one instance sustains, what a
 * million records cost in CPU, and how memory grows with the number of open windows. `make bench` runs it
 * through bench/scenarios/drift.ts; alone:
 *
 *   node --import tsx bench/drift.ts [--quick]     (KAFKA_BROKERS / SCHEMA_REGISTRY_URL or the local stack)
 *
 * Three measurements:
 *  1. core: decode (registry, Avro) + windowing of pre-encoded records in one thread, no Kafka;
 *  2. end to end: one drift service (instance + aggregator + view, in this process) reading a pre-loaded
 *     6-partition scoring-log topic from the real broker — records/s from the first to the last record
 *     counted, and CPU seconds of the whole process per million records; twice: with the applicants'
 *     demographics on their topic (the default deployment: the fairness windows join every decision), and
 *     without any (the fairness join's worst case: every decision waits DRIFT_FAIRNESS_MAX_WAIT);
 *  3. memory per open window: heap + array buffers while k hopping windows are open on 6 partitions.
 *
 * Prints a table on stderr and, as its last stdout line, the scenario as JSON.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { loadDriftConfig } from '../services/drift/config.ts';
import { ScoringLogDecoder } from '../services/drift/windows/record-decoder.ts';
import { layoutOf } from '../services/drift/windows/layout.ts';
import { PartitionWindows } from '../services/drift/windows/partition-windows.ts';
import { loadReference } from '../services/drift/statistics/reference.ts';
import { DriftService } from '../services/drift/service.ts';
import { ModelHost } from '../services/scorer/model/model-host.ts';
import type { ScoringLogRecord } from '../services/scorer/records.ts';
import { createKafka } from '../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../services/shared/kafka/connection.ts';
import { TOPICS_FILE } from '../services/shared/kafka/topic-catalog.ts';
import { ensureTopics } from '../services/shared/kafka/topics.ts';
import { AvroRegistry } from '../services/shared/registry.ts';
import { REPO_ROOT } from '../services/shared/schemas.ts';
import { demographicsRecords, scoredRecords } from '../support/scoring-log.ts';
import type { DemographicsRecord } from '../services/simulator/source.ts';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const MODEL_DIR = join(REPO_ROOT, 'models', 'credit-default-classifier', '1');
const CORE_RECORDS = quick ? 30_000 : 1_000_000;
const E2E_RECORDS = quick ? 20_000 : 1_000_000;
const DISTINCT = quick ? 5_000 : 100_000;
const STEP_MS = 10;
const T0 = 1_780_000_000_000;
const log = (m: string) => process.stderr.write(`[drift bench] ${m}\n`);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Scoring-log records with distinct features (scored by the real model), re-used with increasing event times. */
async function baseRecords(): Promise<ScoringLogRecord[]> {
  const model = await ModelHost.load(MODEL_DIR);
  try {
    const out: ScoringLogRecord[] = [];
    for (let i = 0; i < DISTINCT; i += 10_000) out.push(...(await scoredRecords(model, { seed: 77, runId: 'bench', count: DISTINCT, t0: T0, stepMs: STEP_MS }, i, Math.min(10_000, DISTINCT - i))));
    return out;
  } finally {
    await model.close();
  }
}

function encodeAll(registry: AvroRegistry, schemaId: number, base: ScoringLogRecord[], n: number, from = 0): { key: string; value: Buffer }[] {
  const out: { key: string; value: Buffer }[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    const r = base[i % base.length]!;
    const id = `bench-${i}`;
    out[k] = { key: id, value: registry.encodeSync(schemaId, { ...r, application_id: id, submitted_at: T0 + i * STEP_MS, scored_at: T0 + i * STEP_MS + 5 }) };
  }
  return out;
}

async function core(registry: AvroRegistry, messages: { value: Buffer }[]) {
  const reference = await loadReference(MODEL_DIR);
  const layout = layoutOf(reference);
  const spec = { by: 'time' as const, size: 60_000, hop: 60_000, lateness: 5000 };
  const parts = Array.from({ length: 6 }, (_, p) => new PartitionWindows(p, spec, layout));
  // The service's decoder (reader compiled per writer schema); warm-up (JIT, schema fetch), then the measured pass.
  const decoder = new ScoringLogDecoder(registry, (id) => registry.writerSchema(id));
  for (let i = 0; i < Math.min(20_000, messages.length); i++) await decoder.decode(messages[i]!.value);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let closed = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!.value;
    const r = decoder.trySync(m) ?? (await decoder.decode(m));
    if (!r.ok) throw new Error(r.error.reason);
    closed += parts[i % 6]!.add(r.value, i).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { records: messages.length, recordsPerSec: Math.round(messages.length / seconds), cpuSecondsPerMillion: round(((cpu.user + cpu.system) / 1e6) * (1e6 / messages.length), 2), windowsClosed: closed, layoutCounters: layout.size };
}

/** The applicants' demographics of the base records' population (groups drawn from the same features). */
function baseDemographics(): DemographicsRecord[] {
  return demographicsRecords({ seed: 77, runId: 'bench', count: DISTINCT, t0: T0, stepMs: STEP_MS }, 0, DISTINCT);
}

async function endToEnd(registry: AvroRegistry, base: ScoringLogRecord[], records: number, demographics: DemographicsRecord[] | undefined) {
  const conn = connectionFromEnv();
  const kafka = createKafka(conn, 'drift-bench');
  const admin = kafka.admin();
  const id = randomUUID().slice(0, 8);
  const topics: Record<string, string> = Object.fromEntries(Object.entries(TOPICS_FILE.topics).map(([role, def]) => [role, `bench-drift-${id}-${def.name}`]));
  const roles = ['scoringLog', 'outcomes', 'demographics', 'driftPartials', 'driftWindows', 'driftAlerts', 'fairnessWindows'];
  await ensureTopics(admin, topics, roles);
  try {
    const schemaId = await registry.registerValueSchema(topics.scoringLog!, 'scoring-log');
    const producer = kafka.producer();
    await producer.connect();
    log(`end to end: pre-loading ${records.toLocaleString('en-US')} records into ${topics.scoringLog}`);
    await registry.warm(schemaId);
    // Encoded chunk by chunk: the benchmark's own data must not sit in the heap the monitor's GC scans.
    const demoSchema = demographics ? await registry.registerValueSchema(topics.demographics!, 'applicant-demographics') : undefined;
    if (demoSchema !== undefined) await registry.warm(demoSchema);
    for (let i = 0; i < records; i += 10_000) {
      const n = Math.min(10_000, records - i);
      // Each application's demographics just before its decision, as the simulator and the scorer order them.
      const demo = demographics && demoSchema !== undefined
        ? [{ topic: topics.demographics!, messages: Array.from({ length: n }, (_, k) => { const d = demographics[(i + k) % demographics.length]!; return { key: `bench-${i + k}`, value: registry.encodeSync(demoSchema, { ...d, application_id: `bench-${i + k}`, collected_at: T0 + (i + k) * STEP_MS }) }; }) }]
        : [];
      await producer.send([...demo, { topic: topics.scoringLog!, messages: encodeAll(registry, schemaId, base, n, i) }]);
    }
    await producer.disconnect();
    base.length = 0;

    const env: Record<string, string> = { ...process.env, DRIFT_GROUP_ID: `bench-drift-${id}`, DRIFT_INSTANCE_ID: 'bench', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', DRIFT_WINDOW_SIZE: '60s', DRIFT_ALLOWED_LATENESS: '5s', DRIFT_RETRAIN: 'off', DRIFT_OUTCOMES: 'false' };
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) env[def.env] = topics[role]!;
    const service = new DriftService(loadDriftConfig(env), pino({ level: 'warn' }, pino.destination(2)));
    let counted = 0;
    let first: { t: number; cpu: NodeJS.CpuUsage } | undefined;
    let last = 0;
    let windows = 0;
    service.events.on('records', ({ payload }) => {
      if (!first) first = { t: performance.now(), cpu: process.cpuUsage() };
      counted += payload.count;
      last = performance.now();
    });
    service.events.on('window.finalized', () => windows++);
    await service.start();
    const deadline = Date.now() + 600_000;
    while (counted < records && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cpu = process.cpuUsage(first?.cpu);
    const seconds = (last - (first?.t ?? last)) / 1000;
    const expectedWindows = Math.floor((records * STEP_MS - 5000) / 60_000) - 1;
    while (windows < expectedWindows && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const rss = process.memoryUsage().rss;
    await service.stop();
    if (counted < records) throw new Error(`only ${counted} of ${records} records counted`);
    return {
      records: counted,
      recordsPerSec: Math.round(counted / seconds),
      cpuSecondsPerMillion: round(((cpu.user + cpu.system) / 1e6) * (1e6 / counted), 2),
      windowsFinalized: windows,
      rssMb: Math.round(rss / 2 ** 20),
    };
  } finally {
    await admin.deleteTopics(roles.map((r) => topics[r]!)).catch(() => undefined);
    admin.disconnect();
  }
}

async function memory() {
  const reference = await loadReference(MODEL_DIR);
  const layout = layoutOf(reference);
  const rows: { openWindows: number; heapAndBuffersMb: number; bytesPerWindow: number; bytes: number }[] = [];
  // A collection before each reading, without needing node --expose-gc.
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const used = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  for (const perPartition of [1, 10, 50, 100, 200]) {
    const spec = { by: 'time' as const, size: 3_600_000, hop: 3_600_000 / perPartition, lateness: 0 };
    const before = used();
    const parts = Array.from({ length: 6 }, (_, p) => new PartitionWindows(p, spec, layout));
    // One record per hop over one window length opens every window that overlaps the next hour.
    for (let i = 0; i < perPartition; i++) for (const p of parts) p.add({ applicationId: 'x', eventAt: 3_600_000 * 10 + i * spec.hop, features: {}, score: 0.1 }, i);
    const open = parts.reduce((s, p) => s + p.openWindows, 0);
    const bytes = used() - before;
    rows.push({ openWindows: open, heapAndBuffersMb: round(bytes / 2 ** 20, 1), bytesPerWindow: Math.round(bytes / open), bytes });
    parts.length = 0;
  }
  const a = rows[0]!;
  const b = rows[rows.length - 1]!;
  const slope = Math.round((b.bytes - a.bytes) / (b.openWindows - a.openWindows));
  return { countersPerWindow: layout.size, theoreticalBytesPerWindow: layout.size * 4, bytesPerOpenWindow: slope, rows: rows.map(({ bytes: _b, ...r }) => r) };
}

async function main(): Promise<void> {
  const started = performance.now();
  const conn = connectionFromEnv();
  const registry = new AvroRegistry(conn.registry);
  const schemaId = await registry.registerValueSchema(`bench-drift-schema-${randomUUID().slice(0, 8)}`, 'scoring-log');
  await registry.warm(schemaId);
  const m = await memory();
  for (const r of m.rows) log(`memory: ${r.openWindows} open windows -> ${r.heapAndBuffersMb} MB`);
  log(`memory: ${m.bytesPerOpenWindow.toLocaleString('en-US')} B per open window and source partition (its counters alone: ${m.theoreticalBytesPerWindow.toLocaleString('en-US')} B)`);
  log(`generating ${DISTINCT.toLocaleString('en-US')} distinct scored records${quick ? ' (quick)' : ''}`);
  const base = await baseRecords();
  log(`core: decode + windowing of ${CORE_RECORDS.toLocaleString('en-US')} records`);
  const c = await core(registry, encodeAll(registry, schemaId, base, CORE_RECORDS));
  log(`core: ${c.recordsPerSec.toLocaleString('en-US')} records/s, ${c.cpuSecondsPerMillion} CPU s per 1M`);
  const e = await endToEnd(registry, base, E2E_RECORDS, baseDemographics());
  const line = (what: string, r: typeof e) => log(`end to end, ${what}: ${r.recordsPerSec.toLocaleString('en-US')} records/s, ${r.cpuSecondsPerMillion} CPU s per 1M (${Math.round(1e6 / r.cpuSecondsPerMillion).toLocaleString('en-US')} records per CPU second), ${r.windowsFinalized} windows, RSS ${r.rssMb} MB, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  line('with demographics', e);
  // (endToEnd empties `base`: the benchmark's own data must not sit in the heap the monitor's GC scans.)
  const w = await endToEnd(registry, await baseRecords(), E2E_RECORDS, undefined);
  line('without demographics (every decision waits)', w);
  const target = (name: string, value: number, limit: number) => ({ name, value, target: limit, kind: 'min' as const, met: value >= limit });
  const result = {
    scenario: 'drift',
    description: 'Drift monitor: scoring-log records/s one instance sustains, CPU per 1M records, memory per open window',
    n: E2E_RECORDS,
    repetitions: 1,
    contenders: {
      'drift-monitor': {
        recordsPerSec: e.recordsPerSec,
        cpuSecondsPerMillion: e.cpuSecondsPerMillion,
        // What one core sustains when the process has it to itself (the wall-clock rate shares the machine).
        recordsPerCpuSecond: Math.round(1e6 / e.cpuSecondsPerMillion),
        loadAverage: loadavg().map((x) => round(x, 2)),
        coreRecordsPerSec: c.recordsPerSec,
        coreCpuSecondsPerMillion: c.cpuSecondsPerMillion,
        windowsFinalized: e.windowsFinalized,
        rssMb: e.rssMb,
        bytesPerOpenWindow: m.bytesPerOpenWindow,
        countersPerWindow: m.countersPerWindow,
        memory: m.rows,
      },
      'drift-monitor-no-demographics': {
        recordsPerSec: w.recordsPerSec,
        cpuSecondsPerMillion: w.cpuSecondsPerMillion,
        recordsPerCpuSecond: Math.round(1e6 / w.cpuSecondsPerMillion),
        windowsFinalized: w.windowsFinalized,
        rssMb: w.rssMb,
      },
    },
    ratios: {},
    targets: [target('drift records/s, one instance end to end', e.recordsPerSec, 100_000)],
    notes: [
      'end to end: one drift service in one Node process (instance, aggregator and view) reading a pre-loaded 6-partition scoring-log topic and, for drift-monitor, each application\'s demographics on applicant-demographics (fairness windows joining every decision); 60 s tumbling windows; records/s from the first to the last record counted',
      'drift-monitor-no-demographics: the same without demographics: the fairness join holds every decision for DRIFT_FAIRNESS_MAX_WAIT (its worst case; DRIFT_FAIRNESS=false avoids it)',
      'core: decode (drift fields only, reader compiled per writer schema) + windowing in one thread without Kafka',
      `memory: ${m.countersPerWindow.toLocaleString('en-US')} counters (Uint32) per window and source partition: the decile bins and the KS grid of every target`,
      quick ? 'quick mode: small sizes, numbers indicative only' : '',
    ].filter(Boolean),
    seconds: round((performance.now() - started) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`drift bench failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
