/**
 * `make replay ARGS="--from 2026-12-01T10:00Z --to 2026-12-01T11:00Z [--models-dir models]"`: reads the
 * scoring log (committed records, scored_at in [from, to]) and the outcomes topic, re-scores every record
 * with the model version it names (bundle models/<name>/<version>/) through the scorer's own code, and
 * prints the share reproduced (probability, decision and reasons identical), every mismatch and, per
 * model version, the outcome metrics of the joined outcomes. Exit 0 when 100% reproduced, 1 otherwise,
 * 2 on bad arguments. Kafka and registry settings, topics and the decision policy come from the scorer's
 * environment variables (services/scorer/config.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadScorerConfig } from '../scorer/config.ts';
import { ModelHost } from '../scorer/model/model-host.ts';
import type { ScoringLogRecord } from '../scorer/records.ts';
import { createKafka, type KafkaClient } from '../shared/kafka/client.ts';
import { readTopic } from '../shared/kafka/read-topic.ts';
import { AvroRegistry } from '../shared/registry.ts';
import { REPO_ROOT } from '../shared/schemas.ts';
import { renderReport, replay, type ReplayReport } from './replay.ts';

/** Epoch ms from an ISO time or a number of ms; throws naming the flag. */
export function parseTime(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new Error(`${flag} ${JSON.stringify(v)} is neither an ISO time nor epoch milliseconds`);
  return t;
}

/**
 * Every committed value of `topic` up to its current end (read_committed, every partition read to its
 * end). Throws when the end is not reached within `timeoutMs`: a replay of part of the log would report
 * a share of the wrong whole.
 */
export async function readAll(kafka: KafkaClient, topic: string, timeoutMs = 600_000): Promise<Buffer[]> {
  const values: Buffer[] = [];
  const r = await readTopic(kafka, topic, { timeoutMs, onMessage: (m) => m.value && values.push(m.value) });
  if (!r.complete) throw new Error(`reading ${topic}: its end was not reached within ${timeoutMs} ms (${values.length} records read)`);
  return values;
}

export interface ReplayOptions {
  readonly from: number;
  readonly to: number;
  readonly modelsDir: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Reads, replays and returns the report (the CLI prints it). */
export async function runReplay(opts: ReplayOptions): Promise<ReplayReport> {
  const config = loadScorerConfig(opts.env ?? process.env);
  const kafka = createKafka(config.connection, 'replay', () => undefined);
  const registry = new AvroRegistry(config.connection.registry);
  const topics = config.connection.topics;
  const [logValues, outcomeValues] = await Promise.all([readAll(kafka, topics.scoringLog), readAll(kafka, topics.outcomes).catch(() => [] as Buffer[])]);
  const records: ScoringLogRecord[] = [];
  for (const v of logValues) {
    const d = await registry.decode<ScoringLogRecord>(v);
    if (d.ok && d.value.value.scored_at >= opts.from && d.value.value.scored_at <= opts.to) records.push(d.value.value);
  }
  const outcomes = new Map<string, boolean>();
  for (const v of outcomeValues) {
    const d = await registry.decode<{ application_id: string; defaulted: boolean }>(v);
    if (d.ok) outcomes.set(d.value.value.application_id, d.value.value.defaulted);
  }
  const hosts = new Map<string, ModelHost>();
  try {
    return await replay(
      records,
      async (version) => {
        const name = records.find((r) => r.model_version === version)!.model_name;
        const dir = join(opts.modelsDir, name, version);
        if (!existsSync(join(dir, 'metadata.json'))) return `no bundle for ${name} v${version} in ${opts.modelsDir}`;
        const host = await ModelHost.load(dir, { explain: config.explain });
        hosts.set(version, host);
        return host;
      },
      config.policy,
      outcomes,
    );
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
}

async function main(): Promise<number> {
  let from: number;
  let to: number;
  let modelsDir: string;
  try {
    const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, 'models-dir': { type: 'string' } }, strict: true });
    from = parseTime('--from', values.from, 0);
    to = parseTime('--to', values.to, Date.now());
    modelsDir = resolve(REPO_ROOT, values['models-dir'] ?? 'models');
  } catch (e) {
    console.error(`replay: ${(e as Error).message}\nusage: make replay ARGS="--from <ISO time|epoch ms> --to <ISO time|epoch ms> [--models-dir models]"`);
    return 2;
  }
  const report = await runReplay({ from, to, modelsDir });
  console.log(renderReport(report, `${new Date(from).toISOString()} .. ${new Date(to).toISOString()}`));
  return report.share === 1 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`replay failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
