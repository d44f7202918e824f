/**
 * The README's secured path, walked through make as a user does: `STACK_SECURITY=sasl_ssl make stack` (broker
 * with SASL_SSL + mTLS + ACLs, HTTPS registry), then `make scorer`, `make drift`, `make simulate` and
 * `make extract SOURCE=kafka` (the retrain loop's first stage), each of which sources .local/stack.env and its
 * own principal's credentials; `make tail` (as the admin) reads the decisions back; `make stack-down` stops
 * it all and frees every port.
 *
 * Its own stack, in its own folder (LOCAL_STACK_DIR=.local/test-make-secure-<base>/stack, so the user's
 * .local/stack.env is left alone) on MAKE_SECURE_TEST_PORT_BASE (default 29130): Kafka +0, controller +1,
 * mTLS +2, registry +3, registry management +4, scorer HTTP +5, drift HTTP +6.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portOpen } from '../../infra/local/stack.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { waitUntil } from '../helpers/cluster.ts';

const BASE = Number(process.env.MAKE_SECURE_TEST_PORT_BASE ?? 29130);
const PORTS = { kafka: BASE, controller: BASE + 1, mtls: BASE + 2, registry: BASE + 3, management: BASE + 4 };
const SCORER_HTTP = BASE + 5;
const DRIFT_HTTP = BASE + 6;
const DIR = join('.local', `test-make-secure-${BASE}`);
const COUNT = 300;

/** The user's environment: nothing of the suite's cluster (make must find the stack through stack.env). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nor the outer make's (make test): its jobserver descriptors are not inherited.
  for (const k of Object.keys(env)) if (/^(KAFKA_|SCHEMA_REGISTRY_|STACK_|LOCAL_|TOPIC_|SCORER_|DRIFT_|SIMULATOR_|HTTP_)|^(MAKEFLAGS|MFLAGS|MAKELEVEL)$/.test(k)) delete env[k];
  return {
    ...env,
    LOCAL_STACK_DIR: join(DIR, 'stack'),
    LOCAL_KAFKA_PORT: String(PORTS.kafka),
    LOCAL_KAFKA_CONTROLLER_PORT: String(PORTS.controller),
    LOCAL_KAFKA_MTLS_PORT: String(PORTS.mtls),
    LOCAL_REGISTRY_PORT: String(PORTS.registry),
    LOCAL_REGISTRY_MANAGEMENT_PORT: String(PORTS.management),
    ...extra,
  };
}

interface Proc {
  readonly child: ChildProcess;
  out: string;
  readonly exited: Promise<number | null>;
}

function make(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn('make', ['--no-print-directory', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', exited: new Promise((res) => child.once('exit', (code) => res(code))) };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
  return p;
}

/** The environment of the program make ran for `p` (make -> sh, which execs node): its own principal's variables. */
function programEnv(p: Proc): Record<string, string> {
  const children = (pid: number) =>
    readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  let pid = p.child.pid!;
  for (let depth = 0; depth < 3; depth++) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('services/')) break;
    pid = children(pid)[0] ?? pid;
  }
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}

describe('the secured stack through make (README "Security")', () => {
  let scorer: Proc | undefined;
  let drift: Proc | undefined;
  let tail: Proc | undefined;

  beforeAll(async () => {
    rmSync(join(REPO_ROOT, DIR), { recursive: true, force: true });
    const up = make(['stack'], userEnv({ STACK_SECURITY: 'sasl_ssl' }));
    expect(await up.exited, up.out).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([stop(scorer), stop(drift), stop(tail)]);
    // Leaves nothing running whatever failed above (a no-op after the last test).
    await make(['stack-down'], userEnv()).exited;
  }, 120_000);

  it('stack.env carries the TLS settings and where each principal\'s credentials are, not a password', () => {
    const text = readFileSync(join(REPO_ROOT, DIR, 'stack.env'), 'utf8');
    expect(text).toContain(`export KAFKA_BROKERS=127.0.0.1:${PORTS.kafka}`);
    expect(text).toContain(`export SCHEMA_REGISTRY_URL=https://127.0.0.1:${PORTS.registry}/apis/ccompat/v7`);
    expect(text).toContain('export KAFKA_SSL=true');
    expect(text).toMatch(/export STACK_CREDENTIALS=\S+\/security\/env/);
    expect(text).not.toMatch(/PASSWORD/);
  });

  it('make scorer, make drift and make simulate run as their own principals; every application is decided', async () => {
    scorer = make(['scorer'], userEnv({ HTTP_PORT: String(SCORER_HTTP), LOG_LEVEL: 'warn' }));
    drift = make(['drift'], userEnv({ HTTP_PORT: String(DRIFT_HTTP), LOG_LEVEL: 'warn' }));
    const exitedEarly = () => (scorer!.child.exitCode !== null ? `make scorer exited:\n${scorer!.out}` : drift!.child.exitCode !== null ? `make drift exited:\n${drift!.out}` : undefined);
    await waitUntil('the scorer and the drift monitor to be ready', async () => {
      const early = exitedEarly();
      if (early) throw new Error(early);
      return (await httpOk(`http://127.0.0.1:${SCORER_HTTP}/ready`)) && (await httpOk(`http://127.0.0.1:${DRIFT_HTTP}/ready`));
    }, 180_000, 500);
    for (const [p, principal] of [[scorer, 'scorer'], [drift, 'drift']] as const) {
      const env = programEnv(p);
      expect(env.KAFKA_SASL_USERNAME, `${principal}'s environment`).toBe(principal);
      expect(env.KAFKA_BROKERS).toBe(`127.0.0.1:${PORTS.kafka}`);
      expect(env.KAFKA_SSL).toBe('true');
    }

    const sim = make(['simulate', `ARGS=--count ${COUNT} --rate 300 --invalid 0 --seed 11 --outcomes-delay 1ms`], userEnv());
    expect(await sim.exited, sim.out).toBe(0);
    expect(sim.out).toContain(`produced ${COUNT} applications`);

    tail = make(['tail', 'ARGS=--from-beginning'], userEnv());
    const decided = () => new Set([...tail!.out.matchAll(/^(\S+)\tp=0\.\d+\t(LOW|MEDIUM|HIGH)\t(APPROVE|REVIEW|DECLINE)\tmodel v\d+$/gm)].map((m) => m[1]!));
    await waitUntil(`${COUNT} decisions through make tail (have ${decided().size})`, () => {
      if (tail!.child.exitCode !== null) throw new Error(`make tail exited:\n${tail!.out}`);
      return decided().size >= COUNT;
    }, 120_000, 250);
    expect(decided().size).toBe(COUNT);
    // The drift monitor counted the scorer's log records into its windows.
    await waitUntil('the drift monitor to count the scoring log', async () => {
      const m = await (await fetch(`http://127.0.0.1:${DRIFT_HTTP}/metrics`)).text();
      return Number(/^drift_records_total (\d+)/m.exec(m)?.[1] ?? 0) >= COUNT;
    }, 120_000, 500);
    expect(scorer.out).not.toMatch(/KAFKA_AUTH_FAILED|KAFKA_NOT_AUTHORIZED|KAFKA_TLS_FAILED/);

    // The pipeline's first stage as User:pipeline: the scoring log joined with the outcomes, read over SASL_SSL.
    const work = mkdtempSync(join(tmpdir(), 'make-extract-'));
    const extract = make(['extract', 'SOURCE=kafka', `ARGS=--out ${join(work, 'dataset.csv')} --info ${join(work, 'dataset.json')}`], userEnv());
    expect(await extract.exited, extract.out).toBe(0);
    expect(readFileSync(join(work, 'dataset.csv'), 'utf8').trim().split('\n').length - 1).toBe(COUNT);
  }, 420_000);

  it('make stack-down stops the secured stack and frees its ports', async () => {
    await Promise.all([stop(scorer), stop(drift), stop(tail)]);
    // No STACK_SECURITY here: stack-down does not need to be told how the stack was started.
    const down = make(['stack-down'], userEnv());
    expect(await down.exited, down.out).toBe(0);
    const open = [];
    for (const [name, port] of Object.entries(PORTS)) if (await portOpen(port)) open.push(`${name} ${port}`);
    expect(open).toEqual([]);
    expect(existsSync(join(REPO_ROOT, DIR, 'stack', 'kafka.pid'))).toBe(false);
  }, 120_000);
});
