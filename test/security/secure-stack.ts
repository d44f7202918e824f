/**
 * The secured broker the security tests run against: SASL_SSL (SCRAM-SHA-512) + mTLS listeners, the
 * StandardAuthorizer with no open default, started ONCE per test run (the first file that needs it starts
 * it, later files reuse it, the integration global teardown stops it). It uses the plaintext stack's
 * registry (the HTTPS registry of `STACK_SECURITY=sasl_ssl make stack` is not started here, to keep a second
 * Apicurio JVM out of `make test`).
 *
 * Ports: SECURE_TEST_PORT_BASE (default 29100): SASL_SSL base, controller base+1, mTLS base+2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from '../../services/shared/kafka/kafkajs.ts';
import { aclBindings, applyAcls, loadAclFile } from '../../infra/acls.ts';
import * as sec from '../../infra/local/security.ts';
import { down, secureBrokerOptions, up, type StackOptions } from '../../infra/local/stack.ts';
import { ensureTopics, TOPICS_FILE } from '../../services/shared/kafka/topics.ts';
import { withRetry } from '../../services/shared/retry.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

export function secureTestOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const base = Number(env.SECURE_TEST_PORT_BASE ?? 29100);
  return secureBrokerOptions(join(REPO_ROOT, '.local', `test-secure-${base}`, 'stack'), base);
}

export interface SecureStack {
  readonly brokers: string;
  readonly mtlsBrokers: string;
  readonly paths: sec.SecurityPaths;
  readonly creds: Readonly<Record<string, string>>;
  readonly kafkaLog: string;
  /** A principal's client variables (the services' names), on SASL_SSL or mTLS, with `registryUrl`. */
  env(principal: string, how: 'sasl' | 'mtls', registryUrl: string): Record<string, string>;
  /** A kafkajs client authenticated as `principal` (SASL_SSL), without retries. */
  client(principal: string, retries?: number): Kafka;
}

let started: Promise<SecureStack> | undefined;

export function secureStack(): Promise<SecureStack> {
  started ??= (async () => {
    const opts = secureTestOptions();
    const t0 = Date.now();
    await up(opts, (m) => console.error(`[secure-stack] ${m}`));
    console.error(`[secure-stack] ready in ${Date.now() - t0} ms`);
    const paths = sec.securityPaths(opts.dir);
    const creds = JSON.parse(readFileSync(paths.credentials, 'utf8')) as Record<string, string>;
    const brokers = `127.0.0.1:${opts.kafkaPort}`;
    const mtlsBrokers = `127.0.0.1:${opts.security!.mtlsPort}`;
    return {
      brokers,
      mtlsBrokers,
      paths,
      creds,
      kafkaLog: join(opts.dir, 'kafka.log'),
      env: (principal, how, registryUrl) => {
        const e = sec.principalEnv(paths, { sasl: brokers, mtls: mtlsBrokers }, registryUrl, principal, how, creds);
        delete e.SCHEMA_REGISTRY_CA_FILE;
        return e;
      },
      client: (principal, retries = 0) =>
        new Kafka({
          clientId: `test-${principal}`,
          brokers: [brokers],
          ssl: { ca: [readFileSync(paths.ca, 'utf8')] },
          sasl: { mechanism: 'scram-sha-512', username: principal, password: creds[principal]! },
          logLevel: logLevel.NOTHING,
          retry: { retries },
        }),
    };
  })();
  return started;
}

/**
 * As the admin: creates every topic of `topics` (role -> name) and reconciles infra/acls.json for those
 * names and the groups in `env` (SCORER_GROUP_ID, DRIFT_GROUP_ID): exactly what an operator does.
 */
export async function provision(s: SecureStack, topics: Record<string, string>, env: Record<string, string>): Promise<void> {
  const admin = s.client(sec.ADMIN, 5).admin();
  await admin.connect();
  try {
    // Just-created topics can be briefly unknown to the metadata check (retriable).
    await withRetry(() => ensureTopics(admin, topics, Object.keys(TOPICS_FILE.topics)), { retries: 8, initialDelayMs: 250, maxDelayMs: 2000, factor: 2 });
    const file = loadAclFile();
    await applyAcls(admin, aclBindings(file, topics, env), Object.keys(file.principals));
  } finally {
    await admin.disconnect();
  }
}

/** Stops the secured test broker if a test started it (global teardown). */
export async function stopSecureStack(): Promise<void> {
  if (process.env.KEEP_STACK === '1') return;
  await down(secureTestOptions(), (m) => console.error(`[secure-stack] ${m}`));
}
