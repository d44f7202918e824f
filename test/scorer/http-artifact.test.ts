/**
 * Models for many machines: a version published to the HTTP artifact store (pipeline/store, the pipeline's
 * publisher) and announced by its http:// URL is downloaded by the scorer, its model.onnx checked against the
 * announced sha256, and activated; the same bundle announced with another sha256 is refused and v2 keeps
 * serving. No shared folder: the scorer reads the bundle only over HTTP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import type { AvroRegistry } from '../../services/shared/registry.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { createTopics, decodeValues, kafkaClient, readTopic, registryClient, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { modelSha, trainModel } from '../helpers/models.ts';

const PY = join(REPO_ROOT, '.venv', 'bin', 'python');

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

describe('model bundles over HTTP', () => {
  const topics = uniqueTopics('http-artifact');
  const env = serviceEnv(topics, { SCORER_GROUP_ID: `scorer-http-${randomUUID().slice(0, 8)}`, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'http-a' });
  let store: { url: string; child: ChildProcess };
  let registry: AvroRegistry;
  let updateSchema: number;
  let service: ScorerService;
  let v2Dir: string;

  async function announce(version: string, uri: string, sha: string) {
    const producer = kafkaClient('http-announcer').producer();
    await producer.connect();
    const value = { model_name: 'credit-default-classifier', version, artifact_uri: uri, sha256: sha, action: 'PROMOTE', previous_version: null, metrics: {}, reason: 'test', announced_at: Date.now(), announced_by: 'http-artifact test' };
    await producer.send({ topic: topics.modelUpdates!, messages: [{ key: 'credit-default-classifier', value: registry.encodeSync(updateSchema, value) }] });
    await producer.disconnect();
  }

  beforeAll(async () => {
    v2Dir = await trainModel('2', 11);
    store = await startStore(mkdtempSync(join(tmpdir(), 'artifact-store-')));
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents']);
    registry = registryClient();
    updateSchema = await registry.registerValueSchema(topics.modelUpdates!, 'model-update');
    await registry.warm(updateSchema);
    service = new ScorerService(loadScorerConfig(env), createLogger('scorer', 'warn'));
    await service.start();
  });
  afterAll(async () => {
    await service?.stop();
    store?.child.kill('SIGTERM');
  });

  it('activates a version published to the store, refuses it under a wrong sha256', async () => {
    // The pipeline's publisher (what promote does with ARTIFACT_STORE_URL set).
    const publish = spawnSync(PY, ['-c', 'import sys; from pathlib import Path; from pipeline.store.client import publish_bundle; print(publish_bundle(Path(sys.argv[1]), sys.argv[2], "credit-default-classifier", "2"))', v2Dir, store.url], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(publish.status, publish.stderr).toBe(0);
    const uri = publish.stdout.trim();
    expect(uri).toBe(`${store.url}/credit-default-classifier/2`);

    expect(service.modelVersion).toBe('1');
    await announce('2', uri, modelSha(v2Dir));
    await waitUntil('v2 to serve (downloaded over HTTP)', () => service.modelVersion === '2', 60_000, 100);

    await announce('3', uri, '0'.repeat(64));
    await waitUntil('the wrong sha256 refused', async () => /scorer_model_swaps_total\{result="refused"\} 1/.test(await service.metrics.metrics()), 60_000, 200);
    expect(service.modelVersion).toBe('2');

    const events = await readTopic(topics.modelEvents!, { expected: 2 });
    const decoded = await decodeValues<Record<string, string>>(registry, events.messages);
    expect(decoded.map((e) => `${e.version}:${e.outcome}`).sort()).toEqual(['2:ACTIVATED', '3:REFUSED']);
    expect(decoded.find((e) => e.version === '3')!.reason).toMatch(/checksum mismatch/);
  });
});
