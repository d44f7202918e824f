/**
 * Which cluster a test run uses: one decision, shared by `make test`'s runner (test/run-suite.ts) and vitest's
 * global setup (test/setup/global-setup.ts), so a run starts at most one cluster whatever TEST_STACK says.
 *
 *   TEST_STACK=external    KAFKA_BROKERS + SCHEMA_REGISTRY_URL (both required); nothing started
 *   TEST_STACK=containers  Kafka + registry in testcontainers (needs a Docker engine)
 *   TEST_STACK=local       the local jars (infra/local/stack.ts)
 *   unset                  external when both variables are set, else containers when a Docker engine
 *                          answers, else local
 *
 * The runner starts the cluster and hands it to its vitest lanes as TEST_STACK=external with the two
 * variables (`handOver`), so the lanes' global setups use it instead of starting their own.
 */
export type StackChoice = { readonly kind: 'external'; readonly brokers: string; readonly registryUrl: string } | { readonly kind: 'containers' } | { readonly kind: 'local' };

export interface StackEnv {
  readonly TEST_STACK?: string | undefined;
  readonly KAFKA_BROKERS?: string | undefined;
  readonly SCHEMA_REGISTRY_URL?: string | undefined;
}

export function selectStack(env: StackEnv, dockerAnswers: () => boolean): StackChoice {
  const mode = env.TEST_STACK === '' ? undefined : env.TEST_STACK;
  const brokers = env.KAFKA_BROKERS || undefined;
  const registryUrl = env.SCHEMA_REGISTRY_URL || undefined;
  switch (mode) {
    case 'external':
      if (!brokers || !registryUrl) throw new Error('TEST_STACK=external needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL');
      return { kind: 'external', brokers, registryUrl };
    case 'containers':
      return { kind: 'containers' };
    case 'local':
      return { kind: 'local' };
    case undefined:
      if (brokers && registryUrl) return { kind: 'external', brokers, registryUrl };
      return dockerAnswers() ? { kind: 'containers' } : { kind: 'local' };
    default:
      throw new Error(`TEST_STACK must be external, containers or local (or unset), got "${env.TEST_STACK}"`);
  }
}

/** The environment the runner gives its lanes once it has a cluster: they use exactly that one. */
export function handOver(env: NodeJS.ProcessEnv, brokers: string, registryUrl: string): NodeJS.ProcessEnv {
  return { ...env, TEST_STACK: 'external', KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl };
}
