/**
 * `make test`'s runner: starts the broker and registry ONCE for the whole run, runs pytest (pipeline/tests)
 * and vitest (unit + integration) against them, stops what it started, and ends with one plain summary
 * line, "make test: N passed, N failed, N skipped", so any CI can read the result.
 *
 * Stack: chosen once by test/setup/select-stack.ts (TEST_STACK, else KAFKA_BROKERS + SCHEMA_REGISTRY_URL,
 * else testcontainers when a Docker engine answers, else the local jars) and handed to the lanes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { down, up } from '../infra/local/stack.ts';
import { handOver, selectStack } from './setup/select-stack.ts';

const ARTIFACTS = 'test-artifacts';
mkdirSync(ARTIFACTS, { recursive: true });

function dockerAnswers(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

async function startStack(): Promise<{ brokers: string; registryUrl: string; stop: () => Promise<void> }> {
  const choice = selectStack(process.env, dockerAnswers);
  if (choice.kind === 'external') {
    console.error(`[suite] using the configured cluster ${choice.brokers}`);
    return { brokers: choice.brokers, registryUrl: choice.registryUrl, stop: async () => undefined };
  }
  if (choice.kind === 'containers') {
    const { startContainers } = await import('./setup/containers.ts');
    console.error('[suite] starting Kafka and the registry in testcontainers');
    return startContainers();
  }
  const t0 = Date.now();
  const h = await up(undefined, (m) => console.error(`[suite] ${m}`));
  console.error(`[suite] local stack ${h.started ? 'started' : 'reused'} in ${Date.now() - t0} ms: ${h.brokers}, ${h.registryUrl}`);
  return {
    brokers: h.brokers,
    registryUrl: h.registryUrl,
    stop: async () => {
      if (h.started && process.env.KEEP_STACK !== '1') await down(undefined, (m) => console.error(`[suite] ${m}`));
    },
  };
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Two lanes run at once, each one file at a time: most files wait on brokers, timeouts and child processes
 * far more than they compute, so two of them share the two cores without missing their deadlines. Lane
 * "faults" holds the files with their own brokers and the harness check (faults, the 3-broker cluster, the
 * secured broker, the quick bench); lane "main" runs pytest, then every other file against the shared
 * stack. Each lane prints its lines with its name in front. TEST_LANES=1 runs everything in one lane.
 */
const FAULT_LANE_DIRS = ['test/faults/', 'test/cluster/', 'test/security/', 'test/bench/'];

function prefixed(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void {
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) out.write(`[${name}] ${l}\n`);
  });
  stream.on('end', () => rest && out.write(`[${name}] ${rest}\n`));
}

function spawnLane(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, prefix: boolean): Promise<number | null> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env, stdio: prefix ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    if (prefix) {
      prefixed(name, child.stdout!, process.stdout);
      prefixed(name, child.stderr!, process.stderr);
    }
    child.on('exit', (code) => res(code));
  });
}

async function pytest(env: NodeJS.ProcessEnv, prefix: boolean): Promise<Counts> {
  const xml = `${ARTIFACTS}/pytest.xml`;
  const status = await spawnLane('main', '.venv/bin/python', ['-m', 'pytest', '-q', 'pipeline/tests', `--junitxml=${xml}`], env, prefix);
  try {
    const head = /<testsuite [^>]*>/.exec(readFileSync(xml, 'utf8'))![0];
    const n = (a: string) => Number(new RegExp(`${a}="(\\d+)"`).exec(head)?.[1] ?? 0);
    const failed = n('failures') + n('errors');
    return { passed: n('tests') - failed - n('skipped'), failed: failed + (status !== 0 && failed === 0 ? 1 : 0), skipped: n('skipped') };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

async function vitest(lane: string, env: NodeJS.ProcessEnv, args: string[], prefix: boolean): Promise<Counts> {
  const out = `${ARTIFACTS}/vitest-results${lane === 'all' ? '' : `-${lane}`}.json`;
  const status = await spawnLane(lane, 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], env, prefix);
  try {
    const j = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    return { passed: j.numPassedTests, failed: j.numFailedTests + (status !== 0 && j.numFailedTests === 0 ? 1 : 0), skipped: j.numPendingTests + j.numTodoTests };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

const add = (a: Counts, b: Counts): Counts => ({ passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped });
const NONE: Counts = { passed: 0, failed: 0, skipped: 0 };

async function main(): Promise<number> {
  const t0 = Date.now();
  const stack = await startStack();
  // The lanes (and pytest) use exactly this cluster: TEST_STACK=external, whatever the caller's TEST_STACK was.
  const env = handOver(process.env, stack.brokers, stack.registryUrl);
  const extra = process.argv.slice(2);
  const oneLane = process.env.TEST_LANES === '1' || extra.length > 0;
  let py: Counts;
  let vi: Counts;
  try {
    const runPytest = () => (process.env.SKIP_PYTEST === '1' ? Promise.resolve(NONE) : pytest(env, !oneLane));
    if (oneLane) {
      py = await runPytest();
      vi = await vitest('all', env, extra, false);
    } else {
      const laneStart = Date.now();
      const took = (name: string) => console.log(`[suite] lane ${name} finished after ${Math.round((Date.now() - laneStart) / 1000)} s`);
      const faults = vitest('faults', env, ['--project', 'integration', ...FAULT_LANE_DIRS], true).finally(() => took('faults'));
      const main = (async () => {
        const p = await runPytest();
        const v = await vitest('main', { ...env, TEST_SECURE_STACK_OWNER: '0', VITEST_LANE_EXCLUDE: FAULT_LANE_DIRS.map((d) => `${d}**`).join(',') }, [], true);
        return { p, v };
      })().finally(() => took('main'));
      const [f, m] = await Promise.all([faults, main]);
      py = m.p;
      vi = add(f, m.v);
    }
  } finally {
    await stack.stop();
  }
  const total = add(py, vi);
  console.log(`pytest: ${py.passed} passed, ${py.failed} failed, ${py.skipped} skipped`);
  console.log(`vitest: ${vi.passed} passed, ${vi.failed} failed, ${vi.skipped} skipped`);
  console.log(`make test: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped (${Math.round((Date.now() - t0) / 1000)} s)`);
  return total.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`test suite failed to run: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
