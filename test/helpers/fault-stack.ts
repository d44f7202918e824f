/**
 * A single-broker stack (Kafka + registry) owned by a fault test, so the test may kill -9 and restart the
 * broker or the registry without touching the stack every other test runs on. Ports: FAULT_STACK_PORT
 * (default 19192) for Kafka, +1 controller, +2 registry, +3 registry management; data in .local/fault-stack.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { down, endpointsOf, ensureArtifacts, portOpen, stackCluster, startRegistry, type StackEndpoints, type StackOptions } from '../../infra/local/stack.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

export function faultStackOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const base = Number(env.FAULT_STACK_PORT ?? 19192);
  return {
    dir: resolve(REPO_ROOT, '.local/fault-stack'),
    brokers: 1,
    kafkaPort: base,
    controllerPort: base + 1,
    registryPort: base + 2,
    registryManagementPort: base + 3,
    readyTimeoutMs: 120_000,
  };
}

const quiet = () => undefined;

export class FaultStack {
  constructor(readonly opts: StackOptions = faultStackOptions()) {}

  get endpoints(): StackEndpoints {
    return endpointsOf(this.opts);
  }

  /** Starts a fresh stack (old data removed: every run starts empty). Unlike stack.ts up(), writes no .local/stack.env. */
  async up(): Promise<StackEndpoints> {
    await down(this.opts, quiet);
    rmSync(this.opts.dir, { recursive: true, force: true });
    mkdirSync(this.opts.dir, { recursive: true });
    const a = ensureArtifacts(quiet);
    try {
      await Promise.all([stackCluster(this.opts, quiet).startAll(), startRegistry(this.opts, a, quiet)]);
    } catch (e) {
      await down(this.opts, quiet);
      throw e;
    }
    return this.endpoints;
  }

  private pid(what: 'registry'): number {
    return Number(readFileSync(join(this.opts.dir, `${what}.pid`), 'utf8').trim());
  }

  /** kill -9 the broker; resolves once its port is closed. */
  async killKafka(): Promise<void> {
    await stackCluster(this.opts, quiet).kill(1, 'SIGKILL');
    while (await portOpen(this.opts.kafkaPort)) await new Promise((r) => setTimeout(r, 100));
  }

  /** Restarts the broker on the same data; resolves when it accepts connections. */
  async startKafka(): Promise<void> {
    await stackCluster(this.opts, quiet).start(1);
  }

  async killRegistry(): Promise<void> {
    process.kill(this.pid('registry'), 'SIGKILL');
    while (await portOpen(this.opts.registryPort)) await new Promise((r) => setTimeout(r, 100));
  }

  async startRegistry(): Promise<void> {
    await startRegistry(this.opts, ensureArtifacts(quiet), quiet);
  }

  async down(): Promise<void> {
    await down(this.opts, quiet);
  }
}
