/**
 * The container images, as far as they can be checked without a Docker engine:
 *  - hadolint passes on every Dockerfile; every runtime target runs as a non-root user on a tagged base
 *    image, and declares its HEALTHCHECK; the build context (.dockerignore) keeps out what it must.
 *  - The Node image's build stage is executed as written (its RUN lines, on a copy of what it COPYs), the
 *    runtime file layout is assembled from its COPY lines, and each target's CMD is started from that
 *    layout against the test broker: /health, /ready, /metrics and POST /predict answer, and the
 *    HEALTHCHECK command itself exits 0. This is the image minus the operating system.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, serviceEnv, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { effectiveInstructions, execForm, parseCopy, parseDockerfile, type Stage } from './dockerfile.ts';
import { freePort, OPS_SERVICES } from './services.ts';
import { run, tool } from './tools.ts';

const SKIP_DIRS = new Set(['node_modules', '.git', '.cache', '.venv', '.local', 'test-artifacts', 'build']);

function dockerfiles(dir = REPO_ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) out.push(...dockerfiles(join(dir, e.name)));
    else if (e.isFile() && (e.name === 'Dockerfile' || e.name.endsWith('.Dockerfile'))) out.push(join(dir, e.name));
  }
  return out.sort();
}

const NODE_DOCKERFILE = join(REPO_ROOT, 'services', 'Dockerfile');
/** Targets that serve HTTP, and the final targets of each Dockerfile. */
const SERVER_TARGETS = ['scorer', 'drift'];

describe('Dockerfiles', () => {
  const files = dockerfiles();

  it('exist for the Node services and the pipeline', () => {
    expect(files.map((f) => relative(REPO_ROOT, f))).toEqual(expect.arrayContaining(['services/Dockerfile', 'pipeline/Dockerfile']));
  });

  it('pass hadolint', () => {
    const r = run(tool('hadolint'), ['--no-color', ...files]);
    expect(r.status, r.output).toBe(0);
  });

  it('every runtime target runs as a non-root user, on a base image pinned by tag, with its HEALTHCHECK declared', () => {
    const problems: string[] = [];
    for (const f of files) {
      const stages = parseDockerfile(readFileSync(f, 'utf8'));
      const names = new Set(stages.map((s) => s.name));
      for (const s of stages) {
        if (names.has(s.from)) continue;
        if (!/^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/.test(s.from) || /:latest(@|$)/.test(s.from)) problems.push(`${f}: base ${s.from} is not pinned by tag`);
      }
      const finals = stages.filter((s) => !stages.some((o) => o.from === s.name) && s.name !== 'deps' && s.name !== 'build');
      for (const s of finals) {
        const ins = effectiveInstructions(stages, s.name);
        const user = ins.filter((i) => i.op === 'USER').at(-1)?.args;
        if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`${f} ${s.name}: runs as root`);
        const hc = ins.filter((i) => i.op === 'HEALTHCHECK').at(-1)?.args;
        if (!hc) problems.push(`${f} ${s.name}: no HEALTHCHECK`);
        if (SERVER_TARGETS.includes(s.name) && !hc?.includes('CMD')) problems.push(`${f} ${s.name}: a server needs a HEALTHCHECK command`);
        if (!ins.some((i) => i.op === 'CMD' || i.op === 'ENTRYPOINT')) problems.push(`${f} ${s.name}: no CMD`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the Node Dockerfile has a target for every HTTP service and the simulator', () => {
    const names = parseDockerfile(readFileSync(NODE_DOCKERFILE, 'utf8')).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([...OPS_SERVICES.map((s) => s.name), 'simulator']));
  });

  it('.dockerignore keeps dependencies, secrets of the local stack, models and VCS out of the build context, and every COPY source is in it', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '.git', '.local', '.venv', 'models']));
    for (const f of files) {
      for (const s of parseDockerfile(readFileSync(f, 'utf8'))) {
        for (const i of s.instructions.filter((x) => x.op === 'COPY')) {
          const c = parseCopy(i.args);
          if (c.from) continue;
          for (const src of c.src) {
            expect(existsSync(join(REPO_ROOT, src)), `${f}: COPY ${src} does not exist`).toBe(true);
            expect(ignore.filter((p) => src === p || src.startsWith(`${p}/`)), `${f}: COPY ${src} is excluded by .dockerignore`).toEqual([]);
          }
        }
      }
    }
  });
});

describe('the Node image layout, run without Docker', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ops-image-'));
  const ctx = join(tmp, 'ctx');
  const app = join(tmp, 'app');
  const stages: Stage[] = parseDockerfile(readFileSync(NODE_DOCKERFILE, 'utf8'));
  const topics = uniqueTopics('ops-image');
  const id = randomUUID().slice(0, 8);
  const children: ReturnType<typeof spawn>[] = [];

  beforeAll(async () => {
    // The build stage: its COPY sources into a context copy, node_modules linked (npm install is not re-run), its RUN lines as written.
    mkdirSync(ctx, { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(ctx, 'node_modules'));
    const build = stages.find((s) => s.name === 'build')!;
    for (const i of build.instructions) {
      if (i.op === 'COPY') for (const src of parseCopy(i.args).src) cpSync(join(REPO_ROOT, src), join(ctx, src), { recursive: true });
      if (i.op === 'RUN' && !/^npm (ci|install)\b/.test(i.args)) {
        const r = run('sh', ['-c', i.args], { cwd: ctx });
        expect(r.status, `build stage RUN ${i.args}\n${r.output}`).toBe(0);
      }
    }
    // The runtime stage: its COPY lines, from the repository, from the build stage, and the deps stage's node_modules.
    mkdirSync(app, { recursive: true });
    for (const i of effectiveInstructions(stages, 'runtime').filter((x) => x.op === 'COPY')) {
      const c = parseCopy(i.args);
      const dst = join(app, c.dst);
      for (const src of c.src) {
        const target = c.dst.endsWith('/') ? join(dst, src.split('/').at(-1)!) : dst;
        mkdirSync(dirname(target), { recursive: true });
        if (c.from === 'deps') symlinkSync(join(REPO_ROOT, 'node_modules'), target);
        else if (c.from === 'build') cpSync(join(ctx, src.replace(/^\/app\//, '')), target, { recursive: true });
        else cpSync(join(REPO_ROOT, src), target, { recursive: true });
      }
    }
    // What docker-compose.yml mounts at /app/models.
    symlinkSync(join(REPO_ROOT, 'models'), join(app, 'models'));
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts']);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  function start(target: string, env: Record<string, string>, argsOverride?: string[]) {
    const ins = effectiveInstructions(stages, target);
    const entry = ins.filter((i) => i.op === 'ENTRYPOINT').at(-1);
    const cmd = ins.filter((i) => i.op === 'CMD').at(-1);
    const argv = [...(entry ? execForm(entry.args) : []), ...(argsOverride ?? (cmd ? execForm(cmd.args) : []))];
    expect(argv[0]).toBe('node');
    const imageEnv = Object.fromEntries(ins.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));
    const child = spawn(process.execPath, argv.slice(1), { cwd: app, env: { PATH: process.env.PATH, ...imageEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    children.push(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out, healthcheck: ins.filter((i) => i.op === 'HEALTHCHECK').at(-1)?.args };
  }

  it('the build stage emitted JavaScript for every service entry point, and the runtime layout has no TypeScript', () => {
    for (const s of [...OPS_SERVICES.map((x) => x.name), 'simulator']) {
      const main = join(app, 'services', s, 'main.js');
      if (existsSync(join(REPO_ROOT, 'services', s, 'main.ts'))) expect(existsSync(main), main).toBe(true);
    }
    const ts = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? ts(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [e.name] : []));
    expect(ts(join(app, 'services'))).toEqual([]);
  });

  it('scorer target: starts from the compiled layout, answers /health, /ready, /metrics and /predict; its HEALTHCHECK exits 0', async () => {
    const port = await freePort();
    const env = serviceEnv(topics, { SCORER_GROUP_ID: `ops-image-${id}`, SCORER_INSTANCE_ID: `ops-image-${id}`, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' });
    const s = start('scorer', env);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitUntil('compiled scorer ready', async () => {
        if (s.child.exitCode !== null) throw new Error(`scorer exited ${s.child.exitCode}:\n${s.output()}`);
        return fetch(`${base}/ready`).then((r) => r.ok, () => false);
      }, 90_000);
      const hc = execForm(s.healthcheck!);
      const probe = run(process.execPath, hc.slice(1), { cwd: app, env: { HTTP_PORT: String(port) } });
      expect(probe.status, `HEALTHCHECK ${hc.join(' ')}: ${probe.output}`).toBe(0);
      const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(populationSource({ seed: 2, runId: 'img' })(0)) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { probability_of_default: number; model_version: string };
      expect(body.probability_of_default).toBeGreaterThan(0);
      expect(body.model_version).toBe('1');
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/scorer_model_info\{model="credit-default-classifier",version="1"\} 1/);
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited, s.output()).toBe(0);
    }
  });

  it('every other HTTP service target starts from the compiled layout and passes its HEALTHCHECK', async () => {
    const others = OPS_SERVICES.filter((svc) => svc.name !== 'scorer' && existsSync(join(REPO_ROOT, svc.entry)));
    for (const svc of others) {
      const port = await freePort();
      const s = start(svc.name, serviceEnv(topics, { ...svc.env(`image-${id}`), HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' }));
      try {
        await waitUntil(`compiled ${svc.name} /health`, async () => {
          if (s.child.exitCode !== null) throw new Error(`${svc.name} exited ${s.child.exitCode}:\n${s.output()}`);
          return fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        }, 90_000);
        const hc = execForm(s.healthcheck!);
        const probe = run(process.execPath, hc.slice(1), { cwd: app, env: { HTTP_PORT: String(port) } });
        expect(probe.status, `${svc.name} HEALTHCHECK: ${probe.output}`).toBe(0);
        expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(`# TYPE ${svc.name}_`);
      } finally {
        s.child.kill('SIGTERM');
        await s.exited;
      }
    }
    console.info(`[ops] compiled HTTP services besides the scorer: ${others.map((o) => o.name).join(', ') || 'none yet'}`);
  });

  it('the HEALTHCHECK command fails when nothing answers', async () => {
    const hc = execForm(effectiveInstructions(stages, 'scorer').filter((i) => i.op === 'HEALTHCHECK').at(-1)!.args);
    const port = await freePort();
    const r = spawn(process.execPath, hc.slice(1), { env: { ...process.env, HTTP_PORT: String(port) } });
    expect(await new Promise((res) => r.once('exit', res))).toBe(1);
  });

  it('simulator target: produces to the configured topic and exits 0', async () => {
    const s = start('simulator', serviceEnv(topics), ['produce', '--count', '5', '--seed', '1']);
    expect(await s.exited, s.output()).toBe(0);
    expect(s.output()).toMatch(/produced 5/);
  });
});
