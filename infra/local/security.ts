/**
 * The secured local stack (STACK_SECURITY=sasl_ssl): everything stack.ts needs beyond the plaintext one.
 *
 *   - a CA and certificates (openssl), generated at first start and cached in <stack dir>/security/tls
 *     (never committed: .local/ is git-ignored): the broker's (CN=broker, SAN 127.0.0.1/localhost), the
 *     registry's, and one client certificate per principal of infra/acls.json (CN=<principal>) for mTLS;
 *   - random SCRAM-SHA-512 passwords for the admin and every principal (<stack dir>/security/credentials.json,
 *     mode 0600), created in KRaft at storage-format time (`--add-scram`); principals added to acls.json
 *     later are created through kafka-configs on the next start;
 *   - the broker's listeners: SASL_SSL (SCRAM-SHA-512, server-authenticated TLS) for the services, SSL with
 *     required client certificates (mTLS) for services that authenticate by certificate, and the
 *     controller listener, also SSL with client certificates. Inter-broker traffic uses the mTLS listener
 *     as User:broker. Nothing on the broker is plaintext;
 *   - the StandardAuthorizer with allow.everyone.if.no.acl.found=false; super users User:admin and
 *     User:broker; CN=<name> certificates map to User:<name> so a principal has one set of ACLs whichever
 *     way it authenticates;
 *   - after start: every topic of infra/topics.json created (topic creation is the admin's job on a
 *     secured cluster), infra/acls.json reconciled, and one env file per principal written
 *     (<stack dir>/security/env/<principal>.env for SASL_SSL, <principal>-mtls.env for mTLS).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { aclBindings, applyAcls, loadAclFile } from '../acls.ts';
import type { BrokerConfig, BrokerNode, SecureBrokers } from './kafka-cluster.ts';

export type StackSecurityMode = 'plaintext' | 'sasl_ssl';

export interface SecurityOptions {
  readonly mode: 'sasl_ssl';
  /** The first node's SSL (mTLS) listener; the SASL_SSL one is the node's client port. */
  readonly mtlsPort: number;
  /** Serve the registry over HTTPS only (same CA). */
  readonly registryHttps: boolean;
}

/** STACK_SECURITY (plaintext | sasl_ssl), LOCAL_KAFKA_MTLS_PORT (default: kafka port + 100; node i adds 2(i-1)), LOCAL_REGISTRY_HTTPS (default true). */
export function securityFromEnv(env: NodeJS.ProcessEnv, kafkaPort: number, fail: (m: string) => never): SecurityOptions | undefined {
  const mode = (env.STACK_SECURITY ?? 'plaintext').toLowerCase();
  if (mode === 'plaintext' || mode === '') return undefined;
  if (mode !== 'sasl_ssl') fail(`STACK_SECURITY must be plaintext or sasl_ssl, got "${env.STACK_SECURITY}"`);
  const raw = env.LOCAL_KAFKA_MTLS_PORT;
  const mtlsPort = raw ? Number(raw) : kafkaPort + 100;
  if (!Number.isInteger(mtlsPort) || mtlsPort < 1 || mtlsPort > 65535) fail(`LOCAL_KAFKA_MTLS_PORT must be a TCP port (1-65535), got "${raw}"`);
  return Object.freeze({ mode: 'sasl_ssl', mtlsPort, registryHttps: !['false', '0', 'no'].includes((env.LOCAL_REGISTRY_HTTPS ?? 'true').toLowerCase()) });
}

export const ADMIN = 'admin';
export const BROKER = 'broker';
const VALID_DAYS = 825;
const RENEW_WITHIN_DAYS = 30;

export interface SecurityPaths {
  readonly dir: string;
  readonly tls: string;
  readonly ca: string;
  readonly credentials: string;
  readonly envDir: string;
}

export function securityPaths(stackDir: string): SecurityPaths {
  const dir = join(stackDir, 'security');
  return { dir, tls: join(dir, 'tls'), ca: join(dir, 'tls', 'ca.crt'), credentials: join(dir, 'credentials.json'), envDir: join(dir, 'env') };
}

export const certFile = (p: SecurityPaths, name: string) => join(p.tls, `${name}.crt`);
export const keyFile = (p: SecurityPaths, name: string) => join(p.tls, `${name}.key`);

function openssl(args: string[], what: string): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run openssl (is it installed?) for ${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl failed for ${what}: ${r.stderr.trim()}`);
}

function expiresSoon(file: string): boolean {
  if (!existsSync(file)) return true;
  const c = new X509Certificate(readFileSync(file));
  return new Date(c.validTo).getTime() - Date.now() < RENEW_WITHIN_DAYS * 86_400_000;
}

/** A certificate for `name` signed by the CA; `server` adds the loopback SANs and serverAuth. */
function issue(p: SecurityPaths, name: string, server: boolean, extraDns: readonly string[] = []): void {
  const key = keyFile(p, name);
  const csr = join(p.tls, `${name}.csr`);
  const ext = join(p.tls, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${server ? 'serverAuth,clientAuth' : 'clientAuth'}`,
      ...(server ? [`subjectAltName=IP:127.0.0.1,DNS:localhost${extraDns.map((d) => `,DNS:${d}`).join('')}`] : []),
      '',
    ].join('\n'),
  );
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], `${name}'s key`);
  openssl(['x509', '-req', '-in', csr, '-CA', p.ca, '-CAkey', keyFile(p, 'ca'), '-CAcreateserial', '-out', certFile(p, name), '-days', String(VALID_DAYS), '-extfile', ext], `${name}'s certificate`);
  chmodSync(key, 0o600);
}

/**
 * Creates the CA and every certificate that is missing or expires within 30 days (a new CA re-issues
 * all of them). Returns the names it (re-)issued.
 */
export function ensureCertificates(p: SecurityPaths, clients: readonly string[], log: (m: string) => void, serverDns: readonly string[] = []): string[] {
  mkdirSync(p.tls, { recursive: true, mode: 0o700 });
  const issued: string[] = [];
  const newCa = expiresSoon(p.ca);
  if (newCa) {
    log(`creating the local CA in ${p.tls}`);
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile(p, 'ca'), '-out', p.ca, '-days', String(VALID_DAYS + 30), '-subj', '/CN=credit-risk local CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      'the CA',
    );
    chmodSync(keyFile(p, 'ca'), 0o600);
  }
  for (const [name, server] of [[BROKER, true], ['registry', true], [ADMIN, false], ...clients.map((c) => [c, false] as const)] as const) {
    if (newCa || expiresSoon(certFile(p, name)) || !existsSync(keyFile(p, name))) {
      issue(p, name, server, serverDns);
      issued.push(name);
    }
  }
  // Kafka's PEM key store: the private key followed by the certificate chain.
  writeFileSync(join(p.tls, 'broker-keystore.pem'), readFileSync(keyFile(p, BROKER), 'utf8') + readFileSync(certFile(p, BROKER), 'utf8') + readFileSync(p.ca, 'utf8'), { mode: 0o600 });
  return issued;
}

/** Random SCRAM passwords per principal (plus the admin), kept across restarts; new principals get one. */
export function ensureCredentials(p: SecurityPaths, principals: readonly string[]): Record<string, string> {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const creds: Record<string, string> = existsSync(p.credentials) ? (JSON.parse(readFileSync(p.credentials, 'utf8')) as Record<string, string>) : {};
  let changed = false;
  for (const name of [ADMIN, ...principals]) {
    if (!creds[name]) {
      creds[name] = randomBytes(18).toString('base64url');
      changed = true;
    }
  }
  if (changed) writeFileSync(p.credentials, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  return creds;
}

/** The secured stack's principals: those of infra/acls.json. */
export function principals(): string[] {
  return Object.keys(loadAclFile().principals);
}

/** A node's mTLS port: LOCAL_KAFKA_MTLS_PORT + 2 * (node id - 1), like the client and controller ports. */
export function mtlsPortOf(s: SecurityOptions, nodeId: number): number {
  return s.mtlsPort + 2 * (nodeId - 1);
}

/**
 * The secured listeners and settings of every node: SASL_SSL (SCRAM-SHA-512) on the node's client port,
 * MTLS (SSL, client certificates required) on its mTLS port, the controller on SSL with client
 * certificates, inter-broker traffic on MTLS as User:broker; the StandardAuthorizer with no open default.
 */
export function secureBrokers(p: SecurityPaths, s: SecurityOptions, creds: Record<string, string>): SecureBrokers {
  const superUsers = [...new Set([ADMIN, BROKER, ...loadAclFile().superUsers])].map((u) => `User:${u}`).join(';');
  return {
    formatArgs: scramFormatArgs(creds),
    configure(node: BrokerNode, _nodes: readonly BrokerNode[], config: BrokerConfig): void {
      config.listeners.splice(
        0,
        config.listeners.length,
        { name: 'SASL_SSL', host: '127.0.0.1', port: node.port, protocol: 'SASL_SSL', advertised: true },
        { name: 'MTLS', host: '127.0.0.1', port: mtlsPortOf(s, node.id), protocol: 'SSL', advertised: true },
        { name: 'CONTROLLER', host: '127.0.0.1', port: node.controllerPort, protocol: 'SSL', advertised: false },
      );
      for (const [k, v] of [
        ['inter.broker.listener.name', 'MTLS'],
        // TLS for every listener: the broker's key and chain, the local CA as trust store.
        ['ssl.keystore.type', 'PEM'],
        ['ssl.keystore.location', join(p.tls, 'broker-keystore.pem')],
        ['ssl.truststore.type', 'PEM'],
        ['ssl.truststore.location', p.ca],
        ['ssl.enabled.protocols', 'TLSv1.3,TLSv1.2'],
        ['ssl.endpoint.identification.algorithm', 'https'],
        // Client certificates are required on MTLS and CONTROLLER; SASL_SSL clients authenticate by password.
        ['ssl.client.auth', 'required'],
        ['listener.name.sasl_ssl.ssl.client.auth', 'none'],
        ['ssl.principal.mapping.rules', 'RULE:^CN=([a-zA-Z0-9._-]+)$/$1/,DEFAULT'],
        ['sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
        ['listener.name.sasl_ssl.sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
        ['listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config', 'org.apache.kafka.common.security.scram.ScramLoginModule required;'],
        // The broker itself (inter-broker, to the controller) authenticates with its certificate (User:broker).
        ['authorizer.class.name', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'],
        ['allow.everyone.if.no.acl.found', 'false'],
        ['super.users', superUsers],
      ] as const) config.properties.set(k, v);
    },
  };
}

/** `kafka-storage format` arguments creating every principal's SCRAM credential in the metadata log. */
export function scramFormatArgs(creds: Record<string, string>): string[] {
  return Object.entries(creds).flatMap(([name, pw]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${pw}]`]);
}

const SCRAM_STATE = 'scram-users.json';

export function recordScramUsers(p: SecurityPaths, names: readonly string[]): void {
  writeFileSync(join(p.dir, SCRAM_STATE), `${JSON.stringify([...names].sort())}\n`);
}

function scramUsers(p: SecurityPaths): Set<string> {
  const f = join(p.dir, SCRAM_STATE);
  return new Set(existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as string[]) : []);
}

/** The client settings of one principal, in the services' variable names (one table: README "Security"). */
export function principalEnv(p: SecurityPaths, brokers: { sasl: string; mtls: string }, registryUrl: string, name: string, how: 'sasl' | 'mtls', creds: Record<string, string>): Record<string, string> {
  const common = { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: p.ca, SCHEMA_REGISTRY_URL: registryUrl, SCHEMA_REGISTRY_CA_FILE: p.ca };
  if (how === 'mtls') return { KAFKA_BROKERS: brokers.mtls, ...common, KAFKA_SSL_CERT_FILE: certFile(p, name), KAFKA_SSL_KEY_FILE: keyFile(p, name) };
  return { KAFKA_BROKERS: brokers.sasl, ...common, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: name, KAFKA_SASL_PASSWORD: creds[name]! };
}

function envText(values: Record<string, string>): string {
  return `# written by infra/local/stack.ts (secured stack); contains a secret: keep it private\n${Object.entries(values).map(([k, v]) => `export ${k}=${v}`).join('\n')}\n`;
}

function writePrincipalEnvFiles(p: SecurityPaths, brokers: { sasl: string; mtls: string }, registryUrl: string, creds: Record<string, string>): void {
  mkdirSync(p.envDir, { recursive: true, mode: 0o700 });
  for (const name of Object.keys(creds)) {
    writeFileSync(join(p.envDir, `${name}.env`), envText(principalEnv(p, brokers, registryUrl, name, 'sasl', creds)), { mode: 0o600 });
    writeFileSync(join(p.envDir, `${name}-mtls.env`), envText(principalEnv(p, brokers, registryUrl, name, 'mtls', creds)), { mode: 0o600 });
  }
}

/** The stack.env lines of a secured stack: TLS settings (no secret) and where the principals' env files are. */
export function stackEnvLines(p: SecurityPaths): string[] {
  return [
    'export KAFKA_SSL=true',
    `export KAFKA_SSL_CA_FILE=${p.ca}`,
    `export SCHEMA_REGISTRY_CA_FILE=${p.ca}`,
    `# credentials: one env file per principal (make sources the one its target needs)`,
    `export STACK_CREDENTIALS=${p.envDir}`,
  ];
}

/** GET over HTTPS trusting `ca`; true on a 2xx. */
export function httpsOk(url: string, ca: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((res) => {
    const req = request(url, { ca, timeout: timeoutMs }, (r) => {
      r.resume();
      res((r.statusCode ?? 0) >= 200 && (r.statusCode ?? 0) < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(false));
    req.end();
  });
}

/** The registry's extra JVM properties: HTTPS only, with the registry's certificate. */
export function registryTlsArgs(p: SecurityPaths, port: number): string[] {
  return [
    `-Dquarkus.http.ssl-port=${port}`,
    '-Dquarkus.http.insecure-requests=disabled',
    `-Dquarkus.http.ssl.certificate.files=${certFile(p, 'registry')}`,
    `-Dquarkus.http.ssl.certificate.key-files=${keyFile(p, 'registry')}`,
  ];
}

/** The admin's connection variables (SASL_SSL as User:admin), as the services and the pipeline read them. */
export function adminEnv(p: SecurityPaths, brokers: string, creds: Record<string, string>): Record<string, string> {
  return { KAFKA_BROKERS: brokers, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: p.ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: ADMIN, KAFKA_SASL_PASSWORD: creds[ADMIN]! };
}

/**
 * After the broker answers: SCRAM users missing from the metadata (principals added since the format),
 * all topics of infra/topics.json, the ACLs of infra/acls.json, the principals' env files.
 */
export async function securedPostStart(
  p: SecurityPaths,
  o: { brokers: string; mtlsBrokers: string; registryUrl: string; java: string; classpath: string; topicNames?: Readonly<Record<string, string>> },
  creds: Record<string, string>,
  log: (m: string) => void,
): Promise<void> {
  const known = scramUsers(p);
  const missing = Object.keys(creds).filter((n) => !known.has(n));
  if (missing.length) {
    const cmdConfig = join(p.dir, 'admin-client.properties');
    writeFileSync(
      cmdConfig,
      [
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${ADMIN}" password="${creds[ADMIN]}";`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${p.ca}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    for (const name of missing) {
      log(`creating the SCRAM credential of ${name}`);
      const r = spawnSync(o.java, ['-cp', o.classpath, 'kafka.admin.ConfigCommand', '--bootstrap-server', o.brokers, '--command-config', cmdConfig, '--alter', '--entity-type', 'users', '--entity-name', name, '--add-config', `SCRAM-SHA-512=[password=${creds[name]}]`], { encoding: 'utf8' });
      // The tool's output never contains the password; do not echo the command line.
      if (r.status !== 0) throw new Error(`creating the SCRAM credential of ${name} failed: ${(r.stderr || r.stdout).split('\n').find((l) => /error|exception/i.test(l)) ?? `exit ${r.status}`}`);
    }
    recordScramUsers(p, Object.keys(creds));
  }
  const { ensureTopics } = await import('../../services/shared/kafka/topics.ts');
  const { TOPICS_FILE, topicNamesFromEnv } = await import('../../services/shared/kafka/topic-catalog.ts');
  const { createKafka } = await import('../../services/shared/kafka/client.ts');
  const { connectionFromEnv } = await import('../../services/shared/kafka/connection.ts');
  const { AclAdmin } = await import('../../services/shared/kafka/acl-admin.ts');
  const { withRetry } = await import('../../services/shared/retry.ts');
  const env = adminEnv(p, o.brokers, creds);
  const admin = createKafka(connectionFromEnv({ ...env, KAFKA_CLIENT_ID: 'local-stack' }), 'admin').admin();
  try {
    const names = o.topicNames ?? topicNamesFromEnv(process.env);
    // Retriable failures (a broker that just started and does not know its own topics yet) are retried.
    const t = await withRetry(() => ensureTopics(admin, names, Object.keys(TOPICS_FILE.topics)), { retries: 8, initialDelayMs: 250, maxDelayMs: 2000, factor: 2 });
    if (t.created.length) log(`created topics ${t.created.join(', ')}`);
    const file = loadAclFile();
    const r = await withRetry(() => applyAcls(new AclAdmin(env), aclBindings(file, names), Object.keys(file.principals)), { retries: 4, initialDelayMs: 500, maxDelayMs: 4000, factor: 2 });
    log(`ACLs of ${Object.keys(file.principals).join(', ')}: ${r.created} created, ${r.deleted} deleted, ${r.unchanged} unchanged`);
  } finally {
    admin.disconnect();
  }
  writePrincipalEnvFiles(p, { sasl: o.brokers, mtls: o.mtlsBrokers }, o.registryUrl, creds);
}

/**
 * `node --import tsx infra/local/security.ts compose`: certificates (broker SAN kafka, registry), passwords
 * and env files for docker-compose.secure.yml under .local/compose-security/ (git-ignored).
 */
async function composeInit(): Promise<void> {
  const { REPO_ROOT } = await import('../../services/shared/schemas.ts');
  const dir = join(REPO_ROOT, '.local', 'compose-security');
  const p: SecurityPaths = { dir, tls: join(dir, 'tls'), ca: join(dir, 'tls', 'ca.crt'), credentials: join(dir, 'credentials.json'), envDir: join(dir, 'env') };
  const names = principals();
  const issued = ensureCertificates(p, names, (m) => console.error(m), ['kafka', 'registry']);
  if (issued.length) console.error(`issued certificates for ${issued.join(', ')}`);
  writeFileSync(join(p.tls, 'admin-keystore.pem'), readFileSync(keyFile(p, ADMIN), 'utf8') + readFileSync(certFile(p, ADMIN), 'utf8'), { mode: 0o600 });
  const creds = ensureCredentials(p, names);
  const env = Object.entries(creds).map(([n, pw]) => `${n.toUpperCase()}_KAFKA_PASSWORD=${pw}`);
  writeFileSync(join(dir, 'compose.env'), `# docker compose --env-file for docker-compose.secure.yml; secrets: keep private\n${env.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'admin-host.env'),
    envText({ KAFKA_BROKERS: 'localhost:29092', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: p.ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: ADMIN, KAFKA_SASL_PASSWORD: creds[ADMIN]! }),
    { mode: 0o600 },
  );
  console.error(`wrote ${dir}/compose.env and admin-host.env`);
}

if (process.argv[1] && process.argv[1].endsWith('infra/local/security.ts')) {
  if (process.argv[2] !== 'compose') {
    console.error('usage: security.ts compose');
    process.exit(2);
  }
  composeInit().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
