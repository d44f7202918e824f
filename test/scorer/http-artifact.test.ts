/**
 * The retrain loop for many machines, end to end on the real broker: a drift monitor's RETRAIN request
 * (DRIFT_RETRAIN=notify) is taken by one of two retrain worker replicas (pipeline/stages/retrain_worker.py,
 * one consumer group), which runs extract -> train -> gate -> export -> register -> promote, publishes the new
 * version to the HTTP artifact store (pipeline/store) and announces its http:// URL; a running scorer downloads
 * it, checks model.onnx against the announced sha256 and serves it. The same bundle announced under another
 * sha256 is refused and the version keeps serving. No shared folder between the pipeline and the scorer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { createTopics, decodeValues, kafkaClient, readTopic, registryClient, serviceEnv, stack, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';

const PY = join(REPO_ROOT, '.venv', 'bin', 'python');
const MODEL = 'credit-default-classifier';

interface Proc {
  child: ChildProcess;
  output: string[];
}

function startPython(args: string[], env: Record<string, string>): Proc {
  const child = spawn(PY, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  return { child, output };
}

/** Starts `python -m pipeline.store.server` on a free port; resolves with its URL once it listens. */
function startStore(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(PY, ['-m', 'pipeline.store.server', '--root', root, '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`artifact store exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /on (http:\/\/\S+)/.exec(line);
      if (m) resolve({ url: m[1]!, child });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

/** A drift monitor's RETRAIN request (what DRIFT_RETRAIN=notify publishes) for drift deployment `deployment`. */
function retrainRequest(deployment: string): Record<string, unknown> {
  const start = Date.now() - 600_000;
  return {
    dedup_key: `${deployment}/1:*:11:RETRAIN:notified`, kind: 'RETRAIN', target: '*', severity: 'ALERT', window_index: 12, windowing: 'time:300000',
    window_start: start, window_end: start + 300_000, psi: 0.4, psi_p_value: 0, test: 'ks-2samp', statistic: 0.2, p_value: 0, records: 5000,
    reference_records: 40_000, counts: [], expected: [], model_name: MODEL, reference_version: '1', deployment, reference_sha256: '',
    drifting_since_reference: '', outcomes_labelled: -1, outcomes_required: -1, attempt: 0, previous_version: '', drifting_since_window: 11,
    targets: ['score'], action: 'notify', outcome: 'notified', detail: 'drift on score', emitted_at: start + 301_000,
  };
}

describe('retrain worker -> HTTP artifact store -> scorer hot swap', () => {
  const topics = uniqueTopics('http-artifact');
  const env = serviceEnv(topics, { SCORER_GROUP_ID: `scorer-http-${randomUUID().slice(0, 8)}`, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'http-a' });
  const workers: Proc[] = [];
  let store: { url: string; child: ChildProcess };
  let registry: AvroRegistry;
  let service: ScorerService;

  beforeAll(async () => {
    store = await startStore(mkdtempSync(join(tmpdir(), 'artifact-store-')));
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents', 'driftAlerts']);
    registry = registryClient();
    service = new ScorerService(loadScorerConfig(env), createLogger('scorer', 'warn'));
    await service.start();
  });
  afterAll(async () => {
    await service?.stop();
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    store?.child.kill('SIGTERM');
  });

  it('one of two worker replicas retrains, the scorer downloads the promoted version over HTTP and serves it', async () => {
    // The worker's pipeline: generated data (no scoring log needed), versions registered after v1, the
    // initial model's copy as the champion the gate compares with.
    const work = mkdtempSync(join(tmpdir(), 'retrain-worker-'));
    mkdirSync(join(work, 'models', MODEL), { recursive: true });
    cpSync(initialModelDir(), join(work, 'models', MODEL, '1'), { recursive: true });
    const params = parse(readFileSync(join(REPO_ROOT, 'params.yaml'), 'utf8')) as { data: { rows: number }; models_dir: string };
    params.data.rows = 20_000;
    params.models_dir = join(work, 'models');
    writeFileSync(join(work, 'params.yaml'), stringify(params));
    const deployment = `http-${randomUUID().slice(0, 8)}`;
    const ports = [await freePort(), await freePort()];
    for (const port of ports) {
      workers.push(
        startPython(['-m', 'pipeline.stages.retrain_worker'], {
          KAFKA_BROKERS: stack().brokers,
          SCHEMA_REGISTRY_URL: stack().registryUrl,
          TOPIC_DRIFT_ALERTS: topics.driftAlerts!,
          TOPIC_MODEL_UPDATES: topics.modelUpdates!,
          RETRAIN_GROUP_ID: `pipeline-http-${deployment}`,
          RETRAIN_DEPLOYMENT: deployment,
          RETRAIN_SOURCE: 'generate',
          RETRAIN_PARAMS: join(work, 'params.yaml'),
          MLFLOW_TRACKING_URI: `sqlite:///${join(work, 'mlflow.db')}`,
          ARTIFACT_STORE_URL: store.url,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          SHUTDOWN_TIMEOUT: '20s',
        }),
      );
    }
    const alive = () => workers.forEach((w) => expect(w.child.exitCode, w.output.join('')).toBeNull());
    await waitUntil('both workers in the group', async () => (alive(), (await Promise.all(ports.map(ready))).every(Boolean)), 90_000, 250);

    const alertSchema = await registry.registerValueSchema(topics.driftAlerts!, 'drift-alert');
    await registry.warm(alertSchema);
    const producer = kafkaClient('drift-notify').producer();
    await producer.connect();
    const request = retrainRequest(deployment);
    await producer.send([{ topic: topics.driftAlerts!, messages: [{ key: String(request.dedup_key), value: registry.encodeSync(alertSchema, request) }] }]);
    await producer.disconnect();

    expect(service.modelVersion).toBe('1');
    await waitUntil('v2 retrained, published and served', () => (alive(), service.modelVersion === '2'), 240_000, 250);

    const updates = await decodeValues<{ version: string; artifact_uri: string; sha256: string; approval: { mode: string; evidence: Record<string, string> } }>(
      registry,
      (await readTopic(topics.modelUpdates!, { expected: 1 })).messages,
    );
    expect(updates.map((u) => [u.version, u.artifact_uri])).toEqual([['2', `${store.url}/${MODEL}/2`]]);
    // The automatic approval rests on the request's drift window and targets.
    expect(updates[0]!.approval.mode).toBe('AUTOMATIC');
    expect(updates[0]!.approval.evidence).toMatchObject({ drift_targets: 'score', drift_window_index: '11', drift_reference_version: '1' });
    const alerts = await decodeValues<{ action: string; outcome: string }>(registry, (await readTopic(topics.driftAlerts!, { expected: 3 })).messages);
    expect(alerts.filter((a) => a.action === 'retrain').map((a) => a.outcome)).toEqual(['started', 'succeeded']);
    const exits = workers.map((w) => new Promise<number | null>((resolve) => w.child.once('exit', resolve)));
    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
    const ran = workers.map((w) => (w.output.join('').match(new RegExp(`${deployment}/1:11 started`, 'g')) ?? []).length);
    expect(ran.sort()).toEqual([0, 1]); // one replica ran the pipeline, the other stood by

    // The same bundle announced with another sha256: downloaded, refused, v2 keeps serving.
    const updateSchema = await registry.registerValueSchema(topics.modelUpdates!, 'model-update');
    await registry.warm(updateSchema);
    const announcer = kafkaClient('http-announcer').producer();
    await announcer.connect();
    const forged = { ...updates[0]!, model_name: MODEL, version: '3', sha256: '0'.repeat(64), action: 'PROMOTE', previous_version: '2', metrics: {}, reason: 'test', announced_at: Date.now(), announced_by: 'test', approval: null };
    await announcer.send([{ topic: topics.modelUpdates!, messages: [{ key: MODEL, value: registry.encodeSync(updateSchema, forged) }] }]);
    await announcer.disconnect();
    await waitUntil('the wrong sha256 refused', async () => /scorer_model_swaps_total\{result="refused"\} 1/.test(await service.metrics.metrics()), 60_000, 200);
    expect(service.modelVersion).toBe('2');
    const events = await decodeValues<Record<string, string>>(registry, (await readTopic(topics.modelEvents!, { expected: 2 })).messages);
    expect(events.map((e) => `${e.version}:${e.outcome}`).sort()).toEqual(['2:ACTIVATED', '3:REFUSED']);
    expect(events.find((e) => e.version === '3')!.reason).toMatch(/checksum mismatch/);
  });
});
