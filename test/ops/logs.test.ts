/**
 * The scorer's structured logs, from the real process (services/scorer/main.ts) at LOG_LEVEL=debug: JSON
 * lines on stderr; one info line per committed batch carrying the model version and the source offsets it
 * covered; one debug line per decision; no personal fields (features) in any line.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, REPO_ROOT } from '../../services/shared/schemas.ts';
import { produceApplications } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, kafkaClient, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { freePort } from './services.ts';

const N = 120;
const INVALID_SHARE = 0.1;
const VALID = N * (1 - INVALID_SHARE);

type Line = Record<string, unknown> & { level: number; msg: string };

function keysDeep(v: unknown, out: string[] = []): string[] {
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(k, ...keysDeep(x));
  return out;
}

describe('scorer logs', () => {
  const topics = uniqueTopics('ops-logs');
  const id = randomUUID().slice(0, 8);
  let raw = '';
  let lines: Line[] = [];

  beforeAll(async () => {
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const port = await freePort();
    const env = serviceEnv(topics, { SCORER_GROUP_ID: `ops-logs-${id}`, SCORER_INSTANCE_ID: `ops-logs-${id}`, MODEL_DIR: initialModelDir(), HTTP_PORT: String(port), LOG_LEVEL: 'debug' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/scorer/main.ts'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (raw += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (raw += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('scorer ready', () => fetch(`${base}/ready`).then((r) => r.ok, () => false), 90_000);
      const registry = registryClient();
      const schemaId = await registry.registerValueSchema(topics.applications!, 'loan-application');
      await registry.warm(schemaId);
      const producer = kafkaClient('ops-logs-producer').producer();
      await producer.connect();
      await produceApplications(producer, registry, schemaId, populationSource({ seed: 8, runId: `logs-${id}` }), { topic: topics.applications!, count: N, invalidShare: INVALID_SHARE, batchSize: 20 });
      await producer.disconnect();
      await waitUntil('all consumed', async () => (await (await fetch(`${base}/metrics`)).text()).includes(`\nscorer_messages_consumed_total ${N}\n`), 90_000, 300);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    lines = raw.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Line);
  });


  it('every line is a JSON object with level, time, service and message', () => {
    expect(lines.length).toBeGreaterThan(VALID);
    for (const l of lines) {
      expect(typeof l.level).toBe('number');
      expect(typeof l.time).toBe('string');
      expect(l.service).toBe('scorer');
      expect(typeof l.msg).toBe('string');
    }
  });

  /** The source offsets of a committed batch: one contiguous range per input partition it read. */
  const rangesOf = (b: Line) => b.partitions as { partition: number; firstOffset: string; lastOffset: string }[];

  it('one info line per committed batch, with the model version and contiguous source offsets covering every message', () => {
    const batches = lines.filter((l) => l.msg === 'batch committed');
    expect(batches.every((b) => b.level === 30)).toBe(true);
    expect(batches.length).toBeLessThan(N / 2);
    expect(batches.reduce((s, b) => s + (b.size as number), 0)).toBe(N);
    for (const b of batches) {
      expect(b.modelVersion).toBe('1');
      expect(b.topic).toBe(topics.applications);
      expect(rangesOf(b).length).toBeGreaterThan(0);
      expect(rangesOf(b).reduce((n, r) => n + Number(r.lastOffset) - Number(r.firstOffset) + 1, 0)).toBe(b.size);
    }
    const byPartition = new Map<number, { firstOffset: string; lastOffset: string }[]>();
    for (const r of batches.flatMap(rangesOf)) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
    for (const [p, rs] of byPartition) {
      rs.sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
      expect(Number(rs[0]!.firstOffset), `partition ${p}`).toBe(0);
      for (let i = 1; i < rs.length; i++) expect(Number(rs[i]!.firstOffset), `partition ${p}`).toBe(Number(rs[i - 1]!.lastOffset) + 1);
    }
  });

  it('one debug line per decision, each traceable to the batch whose offsets contain it', () => {
    const decisions = lines.filter((l) => l.msg === 'decision');
    expect(decisions.every((d) => d.level === 20)).toBe(true);
    expect(decisions.length).toBe(VALID);
    expect(new Set(decisions.map((d) => d.applicationId)).size).toBe(VALID);
    const batches = lines.filter((l) => l.msg === 'batch committed');
    for (const d of decisions) {
      expect(d.modelVersion).toBe('1');
      expect(['APPROVE', 'REVIEW', 'DECLINE']).toContain(d.decision);
      const b = batches.find((x) => rangesOf(x).some((r) => r.partition === d.partition && Number(r.firstOffset) <= (d.offset as number) && (d.offset as number) <= Number(r.lastOffset)));
      expect(b, `decision at ${String(d.partition)}:${String(d.offset)}`).toBeDefined();
    }
  });

  it('no line carries personal fields (features, income, age), at any level', () => {
    const personal = new Set([...FEATURE_NAMES, 'features', 'income', 'age']);
    const leaks = lines.flatMap((l) => keysDeep(l).filter((k) => personal.has(k)).map((k) => `${l.msg}: ${k}`));
    expect(leaks).toEqual([]);
    expect(FEATURE_NAMES).toContain('annual_income');
  });
});
