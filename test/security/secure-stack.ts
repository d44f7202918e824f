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
import { aclBindings, applyAcls, loadAclFile } from '../../infra/acls.ts';
import { AclAdmin } from '../../services/shared/kafka/acl-admin.ts';
import { createKafka, type KafkaClient } from '../../services/shared/kafka/client.ts';
import { connectionFromEnv } from '../../services/shared/kafka/connection.ts';
import * as sec from '../../infra/local/security.ts';
import { down, secureBrokerOptions, up, type StackOptions } from '../../infra/local/stack.ts';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { ensureTopics } from '../../services/shared/kafka/topics.ts';
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
  /** The connection variables (KAFKA_*) of `principal` on SASL_SSL. */
  kafkaEnv(principal: string): Record<string, string>;
  /** A client authenticated as `principal` (SASL_SSL). */
  client(principal: string): KafkaClient;
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
    const kafkaEnv = (principal: string) => ({ KAFKA_BROKERS: brokers, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: paths.ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: principal, KAFKA_SASL_PASSWORD: creds[principal]! });
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
      kafkaEnv,
      client: (principal) => createKafka(connectionFromEnv({ ...kafkaEnv(principal), KAFKA_CLIENT_ID: 'test' }), principal),
    };
  })();
  return started;
}

/**
 * As the admin: creates every topic of `topics` (role -> name) and reconciles infra/acls.json for those
 * names and the groups in `env` (SCORER_GROUP_ID, DRIFT_GROUP_ID): exactly what an operator does.
 */
export async function provision(s: SecureStack, topics: Record<string, string>, env: Record<string, string>): Promise<void> {
  const admin = s.client(sec.ADMIN).admin();
  try {
    // Just-created topics can be briefly unknown to the metadata check (retriable).
    await withRetry(() => ensureTopics(admin, topics, Object.keys(TOPICS_FILE.topics)), { retries: 8, initialDelayMs: 250, maxDelayMs: 2000, factor: 2 });
    const file = loadAclFile();
    await applyAcls(new AclAdmin(s.kafkaEnv(sec.ADMIN)), aclBindings(file, topics, env), Object.keys(file.principals));
  } finally {
    admin.disconnect();
  }
}

/** Stops the secured test broker if a test started it (global teardown). */
export async function stopSecureStack(): Promise<void> {
  if (process.env.KEEP_STACK === '1') return;
  await down(secureTestOptions(), (m) => console.error(`[secure-stack] ${m}`));
}
