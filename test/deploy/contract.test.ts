/**
 * The chart's contract with the programs it runs: for the default values, the topics Job's program creates the
 * topics, and each rendered Deployment's program, run natively (the image's command mapped to the source: node
 * services/X/main.js -> tsx services/X/main.ts, python -> .venv/bin/python) with the rendered environment,
 * answers the rendered probes on the rendered port (startup and liveness /health, readiness /ready: 200), and
 * on SIGTERM exits 0 within terminationGracePeriodSeconds - preStop; the init containers' program downloads the
 * initial bundle from an artifact store (a local one) into MODEL_DIR and refuses a wrong sha256. Only what a
 * local run must differ in is replaced: the brokers and registry (the test stack), the listening port (a free
 * one, mapped from the rendered container port), topic and group names (unique), the models volume (a folder).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { stack, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { byKind, containerEnv, preStopSeconds, render, type K8sObject, type Rendered } from './chart.ts';

/** The image's command -> the same program from this checkout. */
function native(command: readonly string[]): string[] {
  const [bin, ...rest] = command;
  if (bin === 'node' && rest.length === 1 && /^services\/.+\.js$/.test(rest[0]!)) return [process.execPath, '--import', 'tsx', rest[0]!.replace(/\.js$/, '.ts')];
  if (bin === 'python') return [join(REPO_ROOT, '.venv', 'bin', 'python'), ...rest];
  throw new Error(`no native equivalent for the rendered command ${JSON.stringify(command)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return undefined;
  }
}

/** `python -m pipeline.store.server` on a free port, holding a copy of the initial model as version 1. */
async function storeWithInitialModel(): Promise<{ url: string; child: ChildProcess }> {
  const root = mkdtempSync(join(tmpdir(), 'chart-store-'));
  cpSync(initialModelDir(), join(root, 'credit-default-classifier', '1'), { recursive: true });
  const child = spawn(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-m', 'pipeline.store.server', '--root', root, '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`artifact store exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /on (http:\/\/\S+)/.exec(line);
      if (m) resolve({ url: m[1]!, child });
    });
  });
}

describe('chart contract: the rendered Deployments run and answer their probes', () => {
  // The default values, but the initial bundle on a local artifact store (the init containers download it).
  let rendered: Rendered;
  let store: { url: string; child: ChildProcess };
  const modelsVolume = mkdtempSync(join(tmpdir(), 'chart-models-volume-'));
  beforeAll(async () => {
    store = await storeWithInitialModel();
    const sha = createHash('sha256').update(readFileSync(join(initialModelDir(), 'model.onnx'))).digest('hex');
    rendered = render(['--set', `models.initial.uri=${store.url}/credit-default-classifier/1`, '--set', `models.initial.sha256=${sha}`]);
    expect(rendered.status, rendered.errors).toBe(0);
  });
  const id = randomUUID().slice(0, 8);
  const topics = uniqueTopics('chart');
  const local = (extra: Record<string, string>) => ({
    ...Object.fromEntries(Object.entries(topics).map(([role, name]) => [TOPICS_FILE.topics[role]!.env, name])),
    KAFKA_BROKERS: stack().brokers,
    SCHEMA_REGISTRY_URL: stack().registryUrl,
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...extra,
  });
  const running: { name: string; child: ChildProcess; output: string[] }[] = [];
  afterAll(() => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    store?.child.kill('SIGTERM');
  });

  it("the init containers' program downloads the initial bundle into MODEL_DIR and checks its sha256", () => {
    for (const component of ['scorer', 'drift']) {
      const d = byKind(rendered.objects, 'Deployment').find((o) => o.metadata.labels!['app.kubernetes.io/component'] === component)!;
      const init = d.spec.template.spec.initContainers[0];
      const mount = (init.volumeMounts as { name: string; mountPath: string }[])[0]!;
      const out = init.args.at(-1) as string;
      expect(out.startsWith(`${mount.mountPath}/`), `${component}: --out ${out} is on the models volume`).toBe(true);
      expect(containerEnv(rendered.objects, d).values.MODEL_DIR, `${component}: MODEL_DIR is what the init container fills`).toBe(out);
      const [cmd, ...args] = native(init.command);
      // The volume's mount path maps to a local folder; everything else is the rendered command line.
      const local = [...args, ...init.args.slice(0, -1), out.replace(mount.mountPath, modelsVolume)];
      const r = spawnSync(cmd!, local, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const tampered = spawnSync(cmd!, local.map((a) => (/^[0-9a-f]{64}$/.test(a) ? 'f'.repeat(64) : a)), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(tampered.status, 'a wrong sha256 fails the init container').toBe(2);
      expect(tampered.stderr).toMatch(/MODEL_SHA256_MISMATCH/);
    }
  });

  it('the topics Job creates every topic of infra/topics.json', () => {
    const job = byKind(rendered.objects, 'Job')[0]!;
    const c = job.spec.template.spec.containers[0];
    const cm = rendered.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === c.envFrom[0].configMapRef.name)!;
    const [cmd, ...args] = native(c.command);
    const r = spawnSync(cmd!, args, { cwd: REPO_ROOT, env: { ...process.env, ...cm.data, ...local({}) }, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const name of Object.values(topics)) expect(r.stdout).toMatch(new RegExp(`^${name}: created$`, 'm'));
  });

  it('each Deployment answers its startup, liveness and readiness probes, and stops within its grace period', async () => {
    const deployments = byKind(rendered.objects, 'Deployment');
    expect(deployments.map((d) => d.metadata.labels!['app.kubernetes.io/component']).sort()).toEqual(['drift', 'retrain', 'scorer']);
    const started: { d: K8sObject; port: number; rendered: number; child: ChildProcess; output: string[] }[] = [];
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      const { values } = containerEnv(rendered.objects, d);
      const component = d.metadata.labels!['app.kubernetes.io/component']!;
      const port = await freePort();
      const env = local({
        HTTP_PORT: String(port),
        // The models volume's folder, filled by the init container's program above.
        ...(values.MODEL_DIR ? { MODEL_DIR: values.MODEL_DIR.replace(/^\/app\/models/, modelsVolume) } : {}),
        ...(values.MODELS_DIR ? { MODELS_DIR: mkdtempSync(join(tmpdir(), 'chart-models-')) } : {}),
        ...(values.SCORER_GROUP_ID ? { SCORER_GROUP_ID: `chart-scorer-${id}` } : {}),
        ...(values.DRIFT_GROUP_ID ? { DRIFT_GROUP_ID: `chart-drift-${id}` } : {}),
        ...(values.RETRAIN_GROUP_ID ? { RETRAIN_GROUP_ID: `pipeline-chart-${id}` } : {}),
      });
      const [cmd, ...args] = native(c.command);
      const child = spawn(cmd!, [...args, ...(c.args ?? [])], { cwd: REPO_ROOT, env: { ...process.env, ...values, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const output: string[] = [];
      child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
      running.push({ name: component, child, output });
      started.push({ d, port, rendered: Number(values.HTTP_PORT), child, output });
    }

    for (const s of started) {
      const c = s.d.spec.template.spec.containers[0];
      const name = s.d.metadata.name;
      const url = (probe: string) => {
        const get = c[probe].httpGet as { path: string; port: number | string };
        const target = typeof get.port === 'number' ? get.port : c.ports.find((p: { name: string }) => p.name === get.port)?.containerPort;
        // The rendered container port is where HTTP_PORT makes the program listen; locally that is s.port.
        expect(target, `${name}: ${probe} aims at port ${String(get.port)}, the program listens on HTTP_PORT ${s.rendered}`).toBe(s.rendered);
        return `http://127.0.0.1:${s.port}${get.path}`;
      };
      const alive = () => expect(s.child.exitCode, `${name} exited:\n${s.output.join('')}`).toBeNull();
      await waitUntil(`${name} startup probe`, async () => (alive(), (await status(url('startupProbe'))) === 200), 120_000, 250);
      await waitUntil(`${name} readiness probe`, async () => (alive(), (await status(url('readinessProbe'))) === 200), 120_000, 250);
      expect(await status(url('livenessProbe')), name).toBe(200);
    }

    for (const s of started) {
      const spec = s.d.spec.template.spec;
      const allowedMs = (Number(spec.terminationGracePeriodSeconds) - preStopSeconds(spec.containers[0])) * 1000;
      const t0 = Date.now();
      const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
      s.child.kill('SIGTERM');
      const code = await exited;
      expect({ name: s.d.metadata.name, code }, s.output.join('')).toEqual({ name: s.d.metadata.name, code: 0 });
      expect(Date.now() - t0, `${s.d.metadata.name} stopped within terminationGracePeriodSeconds - preStop`).toBeLessThan(allowedMs);
    }
  });
});
