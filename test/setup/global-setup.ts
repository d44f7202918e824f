/**
 * Starts the broker and registry once per test run, chosen by test/setup/select-stack.ts (TEST_STACK, else
 * KAFKA_BROKERS + SCHEMA_REGISTRY_URL, else testcontainers when a Docker engine answers, else the local
 * jars). Under test/run-suite.ts the runner has started it and passes TEST_STACK=external. The same tests
 * run in all three modes.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { down, up } from '../../infra/local/stack.ts';
import { selectStack } from './select-stack.ts';

export interface TestStack {
  readonly brokers: string;
  readonly registryUrl: string;
  readonly mode: 'external' | 'containers' | 'local';
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

function dockerAnswers(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardown = await setupStack(project);
  return async () => {
    await teardown();
    // The secured broker of test/security/ (started lazily by the first file that needs it). A run that
    // does not own the security files (test/run-suite.ts's other lane) must not stop it under the lane that does.
    if (process.env.TEST_SECURE_STACK_OWNER !== '0') {
      const { stopSecureStack } = await import('../security/secure-stack.ts');
      await stopSecureStack();
    }
  };
}

async function setupStack(project: TestProject): Promise<() => Promise<void>> {
  const choice = selectStack(process.env, dockerAnswers);
  if (choice.kind === 'external') {
    project.provide('stack', { brokers: choice.brokers, registryUrl: choice.registryUrl, mode: 'external' });
    return async () => undefined;
  }
  if (choice.kind === 'containers') {
    const { startContainers } = await import('./containers.ts');
    const c = await startContainers();
    project.provide('stack', { brokers: c.brokers, registryUrl: c.registryUrl, mode: 'containers' });
    return c.stop;
  }
  const t0 = Date.now();
  const h = await up(undefined, (m) => console.error(`[stack] ${m}`));
  console.error(`[stack] local broker ${h.brokers}, registry ${h.registryUrl} (${h.started ? 'started' : 'reused'} in ${Date.now() - t0} ms)`);
  project.provide('stack', { brokers: h.brokers, registryUrl: h.registryUrl, mode: 'local' });
  return async () => {
    // Stop only what this run started; a stack started by `make stack` is left running.
    if (h.started && process.env.KEEP_STACK !== '1') await down(undefined, (m) => console.error(`[stack] ${m}`));
  };
}
