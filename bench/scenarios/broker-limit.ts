/**
 * Scenario 4b: the broker's own ceiling on this machine, from Kafka's perf tools (the jars the local
 * stack runs): ProducerPerformance writing records the size of the scorer's output records (acks=all, as
 * the scorer produces) and ConsumerPerformance reading the throughput scenario's pre-loaded applications.
 * The scorer consumes one record and produces two per application, so the ceiling in applications/s is
 * 1 / (1/consumer + 2/producer): the broker doing both jobs at the rates it reaches doing each alone.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { recordSizes } from '../lib/data.ts';
import { run } from '../lib/proc.ts';
import type { BenchContext, ScenarioResult } from '../lib/scenario.ts';
import { round, spread } from '../lib/stats.ts';

export const PRODUCER_PROPS = ['acks=all', 'linger.ms=5', 'batch.size=65536'];

/** The Kafka distribution the local stack runs (infra/local/stack.ts caches it under .cache/). */
export function kafkaLibs(): string {
  const cache = join(REPO_ROOT, '.cache');
  const dir = existsSync(cache) ? readdirSync(cache).filter((d) => /^kafka-\d/.test(d)).sort().at(-1) : undefined;
  if (!dir) throw new Error('no Kafka distribution under .cache/: run `make install` (it fetches the jars)');
  return join(cache, dir, 'libs', '*');
}

function java(tool: string, args: string[]): Promise<string> {
  return run(tool, 'java', ['-Xmx512m', '-cp', kafkaLibs(), `org.apache.kafka.tools.${tool}`, ...args], {}, 300_000);
}

/** "... 200000 records sent, 71710.29 records/sec (7.52 MB/sec), ..." */
export function parseProducerPerf(out: string): number {
  const m = /records sent, ([\d.]+) records\/sec/.exec(out.split('\n').filter((l) => l.includes('records sent')).at(-1) ?? '');
  if (!m) throw new Error(`cannot read ProducerPerformance output:\n${out.slice(-2000)}`);
  return Number(m[1]);
}

/** The CSV line after the header; fetch.nMsg.sec excludes the group join. */
export function parseConsumerPerf(out: string): { nMsgSec: number; fetchNMsgSec: number; messages: number } {
  const lines = out.split('\n').map((l) => l.trim());
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  const header = lines[h]?.split(',').map((s) => s.trim()) ?? [];
  const values = lines[h + 1]?.split(',').map((s) => s.trim()) ?? [];
  const get = (name: string) => Number(values[header.indexOf(name)]);
  const r = { nMsgSec: get('nMsg.sec'), fetchNMsgSec: get('fetch.nMsg.sec'), messages: get('data.consumed.in.nMsg') };
  if (!Number.isFinite(r.fetchNMsgSec)) throw new Error(`cannot read ConsumerPerformance output:\n${out.slice(-2000)}`);
  return r;
}

export async function brokerLimitScenario(ctx: BenchContext, input: { topic: string; records: number }): Promise<ScenarioResult> {
  const started = performance.now();
  const { cluster, sizes } = ctx;
  const size = recordSizes();
  const outBytes = Math.round((size.decision + size.scoringLog) / 2);
  const brokers = cluster.conn.brokers.join(',');
  const producer: number[] = [];
  const consumer: number[] = [];
  for (let rep = 0; rep < sizes.repetitions; rep++) {
    const steps = [
      async () => {
        const topic = `bench-${cluster.runId}-perf-${rep}`;
        await cluster.createRaw(topic);
        const out = await java('ProducerPerformance', ['--topic', topic, '--num-records', String(sizes.perfRecords), '--record-size', String(outBytes), '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers}`, ...PRODUCER_PROPS]);
        producer.push(parseProducerPerf(out));
        await cluster.cleanup([topic]);
      },
      async () => {
        const out = await java('ConsumerPerformance', ['--bootstrap-server', brokers, '--topic', input.topic, '--messages', String(input.records), '--group', `bench-perf-${randomUUID()}`, '--timeout', '60000']);
        const r = parseConsumerPerf(out);
        if (r.messages < input.records) throw new Error(`ConsumerPerformance read ${r.messages} of ${input.records} records`);
        consumer.push(r.fetchNMsgSec);
      },
    ];
    for (const s of rep % 2 ? steps.reverse() : steps) await s();
    ctx.log(`broker-limit: rep ${rep + 1}: producer ${round(producer.at(-1)!)} rec/s (${outBytes} B), consumer ${round(consumer.at(-1)!)} rec/s (${size.application} B)`);
  }
  const ceilings = producer.map((p, i) => 1 / (1 / consumer[i]! + 2 / p));
  return {
    scenario: 'broker-limit',
    description: "Kafka's own perf tools against the same broker: ProducerPerformance with output-sized records, ConsumerPerformance on the pre-loaded applications; ceiling = 1 / (1/consumer + 2/producer) applications/s",
    machine: ctx.machine,
    n: input.records,
    repetitions: sizes.repetitions,
    contenders: {
      'kafka-producer-perf': { description: `ProducerPerformance, ${sizes.perfRecords} records of ${outBytes} bytes, ${PRODUCER_PROPS.join(' ')}`, recordsPerSec: spread(producer.map((v) => round(v))) },
      'kafka-consumer-perf': { description: `ConsumerPerformance, the ${input.records} pre-loaded applications (${size.application} bytes), fetch.nMsg.sec`, recordsPerSec: spread(consumer.map((v) => round(v))) },
      'broker-ceiling': { description: 'applications/s if the broker only had to serve one consumed and two produced records per application', appsPerSec: spread(ceilings.map((v) => round(v))) },
    },
    ratios: {},
    targets: [],
    seconds: round((performance.now() - started) / 1000, 1),
  };
}
