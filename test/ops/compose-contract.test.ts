/**
 * docker-compose.yml's contract without a Docker engine (test/ops/compose-native.ts explains the mapping):
 * every service's program started natively with the environment compose gives it, in depends_on order and
 * only once its dependencies meet their condition; every healthcheck is the compose file's own command, run
 * until it passes or compose would have given up (start_period + retries × (interval + timeout)). Services
 * meant to scale publish no fixed host port. `make compose-smoke` runs the real thing where Docker exists.
 *
 * Natively: Kafka from the local jars (infra/local), Apicurio from its Quarkus jar with the image's ports
 * (API 8080, management 9000), model-init's command with .venv's python, the node services from the source of
 * the Dockerfile target's CMD (`node services/x/main.js` -> `node --import tsx services/x/main.ts`), Prometheus
 * from Debian's binary (the version promtool tested). Grafana only where a grafana binary is on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultStackOptions, ensureArtifacts, findJava, startRegistry, startTestCluster, type KafkaCluster } from '../../infra/local/stack.ts';
import { stopPid } from '../../infra/local/kafka-cluster.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { effectiveInstructions, execForm, imageEnv, parseDockerfile } from './dockerfile.ts';
import {
  fixedHostPorts,
  healthDeadlineMs,
  hostPort,
  imageName,
  nativeEnv,
  nativeHealthcheck,
  planPorts,
  publishedPort,
  scalableServices,
  startOrder,
  type ComposeHealthcheck,
  type ComposeServiceDef,
  type ImageTools,
  type PortPlan,
} from './compose-native.ts';

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeServiceDef> };
const services = compose.services;
const DOCS = ['README.md', 'docs/operations.md'].map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
/** The registry healthcheck this file had before: the API port, where Apicurio 3 serves no /health. */
const OLD_REGISTRY_HEALTHCHECK: ComposeHealthcheck = { test: ['CMD-SHELL', 'curl -fsS http://localhost:8080/health/ready > /dev/null || exit 1'], retries: 1, interval: '1s', timeout: '5s' };

interface Running {
  readonly stop: () => Promise<void>;
  /** One-shot services: their exit code. */
  readonly exited?: Promise<number | null>;
  readonly output: () => string;
}

interface HealthResult {
  readonly ok: boolean;
  readonly tries: number;
  readonly ms: number;
  readonly output: string;
}

function inheritedEnv(): NodeJS.ProcessEnv {
  // A container sees only what compose gives it: none of the test run's cluster settings.
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'JAVA_HOME', 'KAFKA_JAVA_HOME', 'APICURIO_JAVA_HOME']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

function child(cmd: string, args: string[], env: NodeJS.ProcessEnv): Running & { proc: ChildProcess } {
  const proc = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    exited,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function runOnce(cmd: { cmd: string; args: string[] }, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((res) => {
    const p = spawn(cmd.cmd, cmd.args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    p.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    p.once('error', (e) => res({ code: -1, output: `${output}${e.message}` }));
    p.once('close', (code) => res({ code, output }));
  });
}

/** The compose healthcheck of `name`, run until it passes or compose would have marked the service unhealthy. */
async function healthcheck(name: string, hc: ComposeHealthcheck, plan: PortPlan, tools: ImageTools, env: NodeJS.ProcessEnv): Promise<HealthResult> {
  const cmd = nativeHealthcheck(name, hc, plan, tools);
  const t0 = Date.now();
  const deadline = t0 + healthDeadlineMs(hc);
  let tries = 0;
  let last: string;
  do {
    tries++;
    const r = await runOnce(cmd, env, Math.max(5000, Number.parseInt(hc.timeout ?? '30', 10) * 1000));
    if (r.code === 0) return { ok: true, tries, ms: Date.now() - t0, output: r.output };
    last = `exit ${r.code}: ${r.output.trim().slice(-500)}`;
    await new Promise((res) => setTimeout(res, 1000));
  } while (Date.now() < deadline);
  return { ok: false, tries, ms: Date.now() - t0, output: `${[cmd.cmd, ...cmd.args].join(' ')} -> ${last}` };
}

/** A volume's host folder: bind mounts as written, named volumes in the work folder. */
function volumeHost(spec: string, work: string): { host: string; container: string } {
  const [src, dst] = spec.split(':') as [string, string];
  return { host: src.startsWith('.') || src.startsWith('/') ? resolve(REPO_ROOT, src) : join(work, 'volumes', src), container: dst };
}

/** The program of a service built from a Dockerfile target: ENTRYPOINT + (compose command ?? CMD), from source. */
function builtInstructions(svc: ComposeServiceDef) {
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, svc.build!.dockerfile), 'utf8'));
  return svc.build!.target ? effectiveInstructions(stages, svc.build!.target) : stages.at(-1)!.instructions;
}

function builtProgram(svc: ComposeServiceDef): string[] {
  const ins = builtInstructions(svc);
  const last = (op: string) => ins.filter((i) => i.op === op).at(-1);
  const asArray = (v: readonly string[] | string | undefined) => (v === undefined ? undefined : typeof v === 'string' ? ['sh', '-c', v] : [...v]);
  const entrypoint = asArray(svc.entrypoint) ?? (last('ENTRYPOINT') ? execForm(last('ENTRYPOINT')!.args) : []);
  const cmd = asArray(svc.command) ?? (last('CMD') ? execForm(last('CMD')!.args) : []);
  const argv = [...entrypoint, ...cmd];
  if (argv[0] === 'node' && /\.js$/.test(argv[1] ?? '')) return [process.execPath, '--import', 'tsx', argv[1]!.replace(/\.js$/, '.ts'), ...argv.slice(2)];
  return argv;
}

async function launch(name: string, svc: ComposeServiceDef, plan: PortPlan, work: string): Promise<Running | { skipped: string }> {
  const image = imageName(svc.image);
  const env = { ...inheritedEnv(), ...nativeEnv(name, svc, plan) };
  const log = (m: string) => console.error(`[compose-contract] ${name}: ${m}`);
  if (image === 'apache/kafka') {
    const cluster: KafkaCluster = await startTestCluster({ dir: join(work, 'kafka'), ports: [hostPort(plan, name, 9092)], controllerPorts: [hostPort(plan, name, 9093)], log });
    return { stop: () => cluster.destroy(), output: () => '' };
  }
  if (image === 'apicurio/apicurio-registry') {
    const dir = join(work, 'registry');
    mkdirSync(dir, { recursive: true });
    const opts = defaultStackOptions({ LOCAL_STACK_DIR: dir, LOCAL_REGISTRY_PORT: String(hostPort(plan, name, 8080)), LOCAL_REGISTRY_MANAGEMENT_PORT: String(hostPort(plan, name, 9000)) });
    await startRegistry(opts, ensureArtifacts(log), log);
    return { stop: () => stopPid(join(dir, 'registry.pid'), 'Apicurio Registry', 20_000, log), output: () => readFileSync(join(dir, 'registry.log'), 'utf8').slice(-5000) };
  }
  if (image === 'prom/prometheus') {
    const args = [...(svc.command as string[])].map((a) => {
      let out = a;
      for (const v of svc.volumes ?? []) {
        const { host, container } = volumeHost(v, work);
        mkdirSync(host, { recursive: true });
        out = out.replace(new RegExp(`=${container}(?=/|$)`), `=${host}`);
      }
      return out;
    });
    return child('prometheus', [...args, `--web.listen-address=127.0.0.1:${hostPort(plan, name, 9090)}`], env);
  }
  if (image === 'grafana/grafana') {
    const bin = ['grafana', 'grafana-server'].find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
    if (!bin) return { skipped: 'no grafana binary on this machine (not packaged by Debian); make compose-smoke covers it' };
    return { skipped: 'grafana binary found, but its native configuration is not mapped here' };
  }
  if (svc.build) {
    const argv = builtProgram(svc);
    // The image's own ENV (UV_THREADPOOL_SIZE, NODE_ENV, HTTP_PORT...) under compose's environment, ports and
    // addresses mapped like compose's; listening on loopback only here.
    // The image's PATH names its own layout: the native one is kept.
    const { PATH: _imagePath, ...fromImage } = imageEnv(builtInstructions(svc));
    const withImage = { ...inheritedEnv(), ...nativeEnv(name, { ...svc, environment: { ...fromImage, ...(svc.environment ?? {}) } }, plan) };
    if (withImage.HTTP_HOST === '0.0.0.0') withImage.HTTP_HOST = '127.0.0.1';
    // The pipeline image's python is .venv's here.
    return child(argv[0]!, argv.slice(1), { ...withImage, PATH: `${join(REPO_ROOT, '.venv', 'bin')}:${withImage.PATH ?? ''}` });
  }
  throw new Error(`${name}: no native equivalent for image ${svc.image}`);
}

describe('docker-compose.yml contract, natively (no Docker engine)', () => {
  const running = new Map<string, Running>();
  const skipped = new Map<string, string>();
  const health = new Map<string, HealthResult>();
  const completed = new Map<string, number | null>();
  const notStarted = new Map<string, string>();
  let plan: PortPlan;
  let tools: ImageTools;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'compose-contract-'));
    plan = await planPorts(services);
    const shim = join(work, 'bin', 'kafka-broker-api-versions.sh');
    mkdirSync(join(work, 'bin'), { recursive: true });
    writeFileSync(shim, `#!/bin/sh\nexec "${findJava(17, 'KAFKA_JAVA_HOME')}" -cp "${ensureArtifacts().kafkaLibs}/*" kafka.admin.BrokerApiVersionsCommand "$@"\n`);
    chmodSync(shim, 0o755);
    tools = { '/opt/kafka/bin/kafka-broker-api-versions.sh': shim };

    // Each service starts once its dependencies meet their conditions, as compose does (independent ones at once).
    const done = new Map<string, Promise<boolean>>();
    const healthOf = (name: string): Promise<boolean> =>
      done.get(name)!.then(async (started) => {
        if (!started) return false;
        const svc = services[name]!;
        if (!svc.healthcheck) return true;
        if (!health.has(name)) health.set(name, await healthcheck(name, svc.healthcheck, plan, tools, { ...inheritedEnv(), ...nativeEnv(name, svc, plan) }));
        return health.get(name)!.ok;
      });
    const memo = new Map<string, Promise<boolean>>();
    const healthy = (name: string) => (memo.has(name) ? memo.get(name)! : (memo.set(name, healthOf(name)), memo.get(name)!));
    const completedOk = async (name: string) => {
      if (!(await done.get(name)!)) return false;
      const code = await running.get(name)!.exited!;
      completed.set(name, code);
      return code === 0;
    };
    for (const name of startOrder(services)) {
      const svc = services[name]!;
      done.set(
        name,
        (async () => {
          for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
            const ok = condition === 'service_healthy' ? await healthy(dep) : condition === 'service_completed_successfully' ? await completedOk(dep) : await done.get(dep)!;
            if (!ok) {
              notStarted.set(name, `${dep} did not meet ${condition}`);
              return false;
            }
          }
          const r = await launch(name, svc, plan, work);
          if ('skipped' in r) {
            skipped.set(name, r.skipped);
            return false;
          }
          running.set(name, r);
          return true;
        })(),
      );
    }
    await Promise.all([...done.keys()].map((n) => (services[n]!.healthcheck ? healthy(n) : done.get(n))));
  }, 600_000);

  afterAll(async () => {
    for (const name of startOrder(services).reverse()) await running.get(name)?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('starts every service natively in depends_on order (Grafana only where a binary exists)', () => {
    expect(Object.fromEntries(notStarted)).toEqual({});
    const expected = Object.keys(services).filter((n) => !skipped.has(n));
    expect([...running.keys()].sort()).toEqual(expected.sort());
    expect([...skipped.keys()].filter((n) => n !== 'grafana')).toEqual([]);
  });

  it('every healthcheck of the compose file passes against its service', () => {
    const failed = [...health].filter(([, h]) => !h.ok).map(([n, h]) => `${n}: ${h.output}\n${running.get(n)?.output().slice(-2000) ?? ''}`);
    expect(failed).toEqual([]);
    const checked = Object.entries(services).filter(([n, s]) => s.healthcheck && !skipped.has(n)).map(([n]) => n);
    expect([...health.keys()].sort()).toEqual(checked.sort());
    console.error(`[compose-contract] healthchecks: ${[...health].map(([n, h]) => `${n} ok after ${h.tries} tries/${h.ms} ms`).join(', ')}`);
  });

  it('every depends_on condition is met: service_healthy targets pass their healthcheck, one-shot ones exit 0', () => {
    const problems: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        if (condition === 'service_healthy' && !(services[dep]!.healthcheck && health.get(dep)?.ok)) problems.push(`${name} waits for ${dep} to be healthy: ${health.get(dep)?.output ?? (services[dep]!.healthcheck ? `not checked: ${notStarted.get(dep) ?? skipped.get(dep) ?? 'not started'}` : 'it has no healthcheck')}`);
        if (condition === 'service_completed_successfully' && completed.get(dep) !== 0) problems.push(`${name} waits for ${dep} to complete: ${completed.has(dep) ? `exit ${completed.get(dep)}` : 'not awaited (the waiting service was held back by another dependency)'}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('long-running services are still up once everything is healthy (the simulator included)', () => {
    const down = [...running].filter(([n]) => services[n]!.restart !== 'no').filter(([, r]) => 'proc' in r && (r as { proc: ChildProcess }).proc.exitCode !== null);
    expect(down.map(([n, r]) => `${n}: ${r.output().slice(-1000)}`)).toEqual([]);
  });

  it("the check bites: the registry's former healthcheck (API port 8080) fails against the same registry", async () => {
    const old = await healthcheck('registry', OLD_REGISTRY_HEALTHCHECK, plan, tools, inheritedEnv());
    expect(old.ok, old.output).toBe(false);
  });

  it('services meant to scale (consumer groups, `--scale` in the docs) publish no fixed host port', () => {
    const scalable = scalableServices(services, DOCS);
    expect(scalable).toEqual(expect.arrayContaining(['scorer', 'drift']));
    expect(scalable.flatMap((n) => fixedHostPorts(services[n]!).map((p) => `${n}: ${p}`))).toEqual([]);
    expect(fixedHostPorts({ ports: ['127.0.0.1:8080:8080'] })).toEqual(['127.0.0.1:8080:8080']);
    expect(fixedHostPorts({ ports: ['127.0.0.1::8080', '8080', { target: 8080, host_ip: '127.0.0.1' }] })).toEqual([]);
    expect(fixedHostPorts({ ports: [{ target: 8080, published: 8081 }] })).toEqual(['8081:8080']);
  });

  // dclint's no-duplicate-exported-ports counts two "Docker picks" ports as the same one (off in
  // infra/compose/dclint.json); this is the same check for fixed ports only.
  it('no two services publish the same fixed host port', () => {
    const seen = new Map<string, string>();
    const dup: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const m of fixedHostPorts(svc)) {
        const port = publishedPort(m);
        if (seen.has(port)) dup.push(`${name} and ${seen.get(port)} both publish ${port}`);
        seen.set(port, name);
      }
    }
    expect(dup).toEqual([]);
  });
});
