/**
 * `bench/run.ts --secure`: a secured broker next to the bench's plaintext cluster, so the scorer can be
 * measured through a SASL_SSL listener and through plaintext in the same run, on the same applications.
 *
 * The broker is the stack's own secured broker (infra/local/stack.ts secureBrokerOptions, the same one the
 * security tests start): SASL_SSL with SCRAM-SHA-512 on BENCH_SECURE_PORT_BASE (default 29200), its
 * controller on +1 and mTLS on +2, the StandardAuthorizer with no open default; data, certificates and
 * passwords in .local/bench-secure-<base>/stack/. It uses the plaintext cluster's schema registry (the
 * scorer reads it only for schemas it has not cached, so the registry's transport is not what is measured).
 * An already running one is reused; one this run started is stopped at the end (KEEP_STACK=1 keeps it).
 *
 * The harness connects as User:admin (super user: it creates the topics and reconciles the ACLs); each
 * contender as its own principal (the scorer as User:scorer, with the ACLs of infra/acls.json for the
 * run's topics and group).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as sec from '../../infra/local/security.ts';
import { down, secureBrokerOptions, up } from '../../infra/local/stack.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { BenchCluster } from './cluster.ts';

export const DEFAULT_SECURE_PORT_BASE = 29200;

/** BENCH_SECURE_PORT_BASE: the SASL_SSL port; +1 and +2 must be free too. Pure. */
export function securePortBase(env: NodeJS.ProcessEnv): number {
  const raw = env.BENCH_SECURE_PORT_BASE;
  if (raw === undefined || raw === '') return DEFAULT_SECURE_PORT_BASE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65533) throw new Error(`BENCH_SECURE_PORT_BASE must be a TCP port (1-65533; +1 and +2 are used too), got "${raw}"`);
  return n;
}

/**
 * The Kafka half of a principal's client variables (infra/local/security.ts principalEnv): brokers, TLS
 * (the local CA) and SCRAM credentials. The registry settings stay the bench's own. Pure.
 */
export function contenderKafkaEnv(full: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(full)) if (k.startsWith('KAFKA_')) out[k] = v;
  return out;
}

export interface SecureBench {
  readonly cluster: BenchCluster;
  readonly brokers: string;
  /** What a client negotiates with the listener (e.g. TLSv1.3 TLS_AES_256_GCM_SHA384). */
  readonly tls: { readonly protocol: string; readonly cipher: string };
  readonly started: boolean;
  /** Closes the harness's clients; stops the broker if this run started it (unless KEEP_STACK=1). */
  close(): Promise<void>;
}

/** The TLS version and cipher a Node client gets from `host:port`, trusting `ca`. */
function tlsSession(host: string, port: number, ca: string): Promise<{ protocol: string; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ca }, () => {
      const r = { protocol: s.getProtocol() ?? 'unknown', cipher: s.getCipher().standardName };
      s.end();
      resolve(r);
    });
    s.setTimeout(5000, () => s.destroy(new Error(`TLS handshake with ${host}:${port} timed out`)));
    s.once('error', reject);
  });
}

export async function openSecureBench(plaintext: BenchCluster, log: (m: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<SecureBench> {
  if (plaintext.conn.sasl || plaintext.conn.ssl) {
    throw new Error('--secure measures a SASL_SSL broker against a plaintext one, but the bench cluster (KAFKA_BROKERS) already uses TLS/SASL; run it against a plaintext stack (make stack)');
  }
  const base = securePortBase(env);
  const opts = secureBrokerOptions(join(REPO_ROOT, '.local', `bench-secure-${base}`, 'stack'), base);
  const handle = await up(opts, (m) => log(`secure broker: ${m}`));
  const paths = sec.securityPaths(opts.dir);
  const creds = sec.ensureCredentials(paths, sec.principals());
  const brokers = handle.brokers;
  const mtls = `127.0.0.1:${opts.security!.mtlsPort}`;
  const kafkaEnv = (principal: string) => contenderKafkaEnv(sec.principalEnv(paths, { sasl: brokers, mtls }, plaintext.conn.registry.url, principal, 'sasl', creds));
  // The harness: User:admin over SASL_SSL, through connection.ts like every service; registry as the bench's.
  const cluster = await BenchCluster.open({ ...env, ...kafkaEnv(sec.ADMIN) }, { transport: 'SASL_SSL', principalEnv: kafkaEnv, adminEnv: kafkaEnv(sec.ADMIN) });
  const tls = await tlsSession('127.0.0.1', opts.kafkaPort, readFileSync(paths.ca, 'utf8'));
  log(`secure broker ${brokers} (${handle.started ? 'started' : 'reused'}): SASL_SSL, SCRAM-SHA-512, ${tls.protocol} ${tls.cipher}`);
  return {
    cluster,
    brokers,
    tls,
    started: handle.started,
    async close() {
      await cluster.close();
      if (handle.started && env.KEEP_STACK !== '1') await down(opts, (m) => log(`secure broker: ${m}`));
    },
  };
}
