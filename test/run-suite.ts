/**
 * `make test`'s runner: starts the broker and registry ONCE for the whole run, runs pytest (pipeline/tests)
 * and vitest (unit + integration) against them, stops what it started, and ends with one plain summary
 * line, "make test: N passed, N failed, N skipped", so any CI can read the result.
 *
 * Stack, in order: KAFKA_BROKERS + SCHEMA_REGISTRY_URL from the environment (nothing started);
 * testcontainers when a Docker engine answers; else the local jars (infra/local/stack.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { down, up } from '../infra/local/stack.ts';

const ARTIFACTS = 'test-artifacts';
mkdirSync(ARTIFACTS, { recursive: true });

function dockerAnswers(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

async function startStack(): Promise<{ brokers: string; registryUrl: string; stop: () => Promise<void> }> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL) {
    console.error(`[suite] using the configured cluster ${KAFKA_BROKERS}`);
    return { brokers: KAFKA_BROKERS, registryUrl: SCHEMA_REGISTRY_URL, stop: async () => undefined };
  }
  if (process.env.TEST_STACK === 'containers' || (process.env.TEST_STACK !== 'local' && dockerAnswers())) {
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

function pytest(env: NodeJS.ProcessEnv): Counts {
  const xml = `${ARTIFACTS}/pytest.xml`;
  const r = spawnSync('.venv/bin/python', ['-m', 'pytest', '-q', 'pipeline/tests', `--junitxml=${xml}`], { stdio: 'inherit', env });
  try {
    const head = /<testsuite [^>]*>/.exec(readFileSync(xml, 'utf8'))![0];
    const n = (a: string) => Number(new RegExp(`${a}="(\\d+)"`).exec(head)?.[1] ?? 0);
    const failed = n('failures') + n('errors');
    return { passed: n('tests') - failed - n('skipped'), failed: failed + (r.status !== 0 && failed === 0 ? 1 : 0), skipped: n('skipped') };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

function vitest(env: NodeJS.ProcessEnv, args: string[]): Counts {
  const out = `${ARTIFACTS}/vitest-results.json`;
  const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], { stdio: 'inherit', env });
  try {
    const j = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; success: boolean };
    return { passed: j.numPassedTests, failed: j.numFailedTests + (r.status !== 0 && j.numFailedTests === 0 ? 1 : 0), skipped: j.numPendingTests + j.numTodoTests };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

async function main(): Promise<number> {
  const stack = await startStack();
  const env = { ...process.env, KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl };
  let py: Counts;
  let vi: Counts;
  try {
    py = process.env.SKIP_PYTEST === '1' ? { passed: 0, failed: 0, skipped: 0 } : pytest(env);
    vi = vitest(env, process.argv.slice(2));
  } finally {
    await stack.stop();
  }
  const total = { passed: py.passed + vi.passed, failed: py.failed + vi.failed, skipped: py.skipped + vi.skipped };
  console.log(`pytest: ${py.passed} passed, ${py.failed} failed, ${py.skipped} skipped`);
  console.log(`vitest: ${vi.passed} passed, ${vi.failed} failed, ${vi.skipped} skipped`);
  console.log(`make test: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return total.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`test suite failed to run: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
