/**
 * The local stack: KRaft Kafka (one node by default, `STACK_BROKERS=3` for a 3-node cluster) and an
 * Apicurio Registry (Confluent API under /apis/ccompat/v7), both run from artifacts on Maven Central on
 * this machine's JDKs — no Docker. The brokers' configuration and process control are in kafka-cluster.ts.
 *
 *   up     fetch artifacts if missing (mvn, cached in .cache/), format storage once, start both in the
 *          background, wait for readiness, write .local/stack.env. Idempotent: a running stack is reused.
 *   down   stop both (SIGTERM, then SIGKILL after a timeout), of the plaintext and the secured stack
 *          (LOCAL_STACK_DIR: of that one only).
 *   status print whether each is running.
 *
 * Data lives in .local/stack/ (an N-broker cluster's in .local/stack/cluster-N/) and survives restarts (the registry keeps its schemas in an H2 file
 * there, so schema ids in old messages stay resolvable).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sec from './security.ts';
import { brokerNodes, KafkaCluster, pidAlive, portOpen, readPid, spawnDetached, StackError, stopPid, type BrokerNode } from './kafka-cluster.ts';

export { KafkaCluster, StackError, portOpen } from './kafka-cluster.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const POM = join(ROOT, 'infra', 'local', 'pom.xml');
const CACHE = join(ROOT, '.cache');

export interface StackOptions {
  /** Folder holding data, logs, pids. */
  readonly dir: string;
  /** Number of Kafka nodes (STACK_BROKERS, default 1). */
  readonly brokers: number;
  /** First broker's client port; node i listens on kafkaPort + 2i. */
  readonly kafkaPort: number;
  /** First broker's controller port; node i's is controllerPort + 2i. */
  readonly controllerPort: number;
  readonly registryPort: number;
  readonly registryManagementPort: number;
  readonly readyTimeoutMs: number;
  /** STACK_SECURITY=sasl_ssl: SASL_SSL + mTLS listeners, ACLs, HTTPS registry (infra/local/security.ts). */
  readonly security?: sec.SecurityOptions;
  /** Start the brokers only (tests of the secured broker use the plaintext stack's registry). */
  readonly brokerOnly?: boolean;
}

export interface StackEndpoints {
  readonly brokers: string;
  readonly registryUrl: string;
}

export interface StackHandle extends StackEndpoints {
  /** True when this call started the processes (false: an already running stack was reused). */
  readonly started: boolean;
}

export function defaultStackOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`${name} must be a TCP port (1-65535), got "${raw}"`);
    return n;
  };
  const brokersRaw = env.STACK_BROKERS ?? '';
  const brokers = brokersRaw === '' ? 1 : Number(brokersRaw);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) throw new StackError(`STACK_BROKERS must be an integer 1-9, got "${brokersRaw}"`);
  const security = sec.securityFromEnv(env, port('LOCAL_KAFKA_PORT', 19092), (m) => {
    throw new StackError(m);
  });
  return Object.freeze({
    // A secured stack keeps its data apart: its metadata holds SCRAM credentials and ACLs.
    dir: resolve(ROOT, env.LOCAL_STACK_DIR ?? (security ? '.local/secure-stack' : '.local/stack')),
    ...(security ? { security } : {}),
    brokers,
    kafkaPort: port('LOCAL_KAFKA_PORT', 19092),
    controllerPort: port('LOCAL_KAFKA_CONTROLLER_PORT', 19093),
    registryPort: port('LOCAL_REGISTRY_PORT', 18081),
    registryManagementPort: port('LOCAL_REGISTRY_MANAGEMENT_PORT', port('LOCAL_REGISTRY_PORT', 18081) + 1),
    readyTimeoutMs: 120_000,
  });
}

/**
 * A secured broker alone, beside a plaintext stack whose registry its clients use (no second Apicurio JVM):
 * SASL_SSL (SCRAM-SHA-512) on `portBase`, its controller on `portBase + 1`, mTLS on `portBase + 2`, data in
 * `dir`. Its stack.env is written next to `dir`, so pass a folder of its own (`.local/<name>/stack`), never
 * `.local/stack`. The security tests' broker (test/security/secure-stack.ts) and the benchmark's
 * (`bench/run.ts --secure`).
 */
export function secureBrokerOptions(dir: string, portBase: number): StackOptions {
  const d = defaultStackOptions({
    STACK_SECURITY: 'sasl_ssl',
    LOCAL_STACK_DIR: dir,
    LOCAL_KAFKA_PORT: String(portBase),
    LOCAL_KAFKA_CONTROLLER_PORT: String(portBase + 1),
    LOCAL_KAFKA_MTLS_PORT: String(portBase + 2),
    LOCAL_REGISTRY_HTTPS: 'false',
  });
  return { ...d, brokerOnly: true };
}

export function stackNodes(opts: StackOptions): BrokerNode[] {
  return brokerNodes(opts.dir, opts.brokers, { port: opts.kafkaPort, controllerPort: opts.controllerPort });
}

export function endpointsOf(opts: StackOptions): StackEndpoints {
  return {
    brokers: stackNodes(opts).map((n) => `127.0.0.1:${n.port}`).join(','),
    registryUrl: `${opts.security?.registryHttps ? 'https' : 'http'}://127.0.0.1:${opts.registryPort}/apis/ccompat/v7`,
  };
}

/** Versions are pinned once, in the pom. */
function pinnedVersions(): { kafka: string; apicurio: string } {
  const pom = readFileSync(POM, 'utf8');
  const kafka = /<kafka\.version>([^<]+)</.exec(pom)?.[1];
  const apicurio = /<apicurio\.version>([^<]+)</.exec(pom)?.[1];
  if (!kafka || !apicurio) throw new StackError(`cannot read kafka.version / apicurio.version from ${POM}`);
  return { kafka, apicurio };
}

function artifactPaths() {
  const v = pinnedVersions();
  const kafkaLibs = join(CACHE, `kafka-${v.kafka}`, 'libs');
  const apicurioDir = join(CACHE, `apicurio-${v.apicurio}`);
  return { ...v, kafkaLibs, kafkaJar: join(kafkaLibs, `kafka_2.13-${v.kafka}.jar`), apicurioDir, apicurioJar: join(apicurioDir, 'quarkus-run.jar') };
}

/** Fetches Kafka's jars and the Apicurio app from Maven Central unless already cached. */
export function ensureArtifacts(log: (m: string) => void = console.error): ReturnType<typeof artifactPaths> {
  const a = artifactPaths();
  if (existsSync(a.kafkaJar) && existsSync(a.apicurioJar)) return a;
  log(`fetching Kafka ${a.kafka} and Apicurio Registry ${a.apicurio} from Maven Central (once; cached in .cache/)...`);
  const r = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies@kafka', 'dependency:unpack@apicurio'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error) throw new StackError(`could not run mvn (is Maven installed?): ${r.error.message}`);
  if (r.status !== 0 || !existsSync(a.kafkaJar) || !existsSync(a.apicurioJar)) {
    throw new StackError(`mvn failed to fetch the stack's artifacts (exit ${r.status}); see the output above`);
  }
  return a;
}

function javaMajor(javaBin: string): number | undefined {
  const release = join(dirname(dirname(javaBin)), 'release');
  if (existsSync(release)) {
    const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(release, 'utf8'));
    if (m?.[1]) return Number(m[1]);
  }
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`);
  return m?.[1] ? Number(m[1]) : undefined;
}

/**
 * Finds a java binary of at least `minMajor`: $envVar/bin/java, then $JAVA_HOME, then `java` on PATH,
 * then every JDK under /usr/lib/jvm.
 */
export function findJava(minMajor: number, envVar: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env[envVar]) candidates.push(join(env[envVar]!, 'bin', 'java'));
  if (env.JAVA_HOME) candidates.push(join(env.JAVA_HOME, 'bin', 'java'));
  const onPath = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) candidates.push(onPath);
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm').sort().reverse()) candidates.push(join('/usr/lib/jvm', d, 'bin', 'java'));
  }
  for (const c of candidates) {
    if (existsSync(c) && (javaMajor(c) ?? 0) >= minMajor) return c;
  }
  throw new StackError(
    `no Java ${minMajor}+ found (looked at ${envVar}, JAVA_HOME, PATH and /usr/lib/jvm); set ${envVar} to a JDK ${minMajor}+ home`,
  );
}

async function registryReady(url: string, ca?: string): Promise<boolean> {
  if (ca) return sec.httpsOk(`${url}/subjects`, ca);
  try {
    const r = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, pid: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!pidAlive(pid)) throw new StackError(`${what} exited during start-up; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StackError(`${what} not ready after ${timeoutMs} ms; see ${logFile}`);
}

/** The stack's brokers as a KafkaCluster (1 GB heap each; 512 MB each for more than one node). */
export function stackCluster(opts: StackOptions, log: (m: string) => void = console.error): KafkaCluster {
  const a = ensureArtifacts(log);
  const secure = opts.security ? securedSetup(opts, log) : undefined;
  return new KafkaCluster(
    { nodes: stackNodes(opts), heapMb: opts.brokers === 1 ? 1024 : 768, readyTimeoutMs: opts.readyTimeoutMs, ...(secure ? { secure: sec.secureBrokers(secure.paths, opts.security!, secure.creds) } : {}) },
    findJava(17, 'KAFKA_JAVA_HOME'),
    a,
    log,
  );
}

/** Certificates and credentials of a secured stack (created on first start, cached in <dir>/security). */
function securedSetup(opts: StackOptions, log: (m: string) => void): { paths: sec.SecurityPaths; creds: Record<string, string> } {
  const paths = sec.securityPaths(opts.dir);
  const names = sec.principals();
  const issued = sec.ensureCertificates(paths, names, log);
  if (issued.length) log(`issued certificates for ${issued.join(', ')}`);
  return { paths, creds: sec.ensureCredentials(paths, names) };
}

/** Secured stack, after the brokers answer: SCRAM users added since the format, topics, ACLs, env files. */
async function securedPostStart(opts: StackOptions, a: ReturnType<typeof artifactPaths>, formatted: boolean, log: (m: string) => void): Promise<void> {
  if (!opts.security) return;
  const { paths, creds } = securedSetup(opts, () => undefined);
  if (formatted) sec.recordScramUsers(paths, Object.keys(creds));
  const e = endpointsOf(opts);
  await sec.securedPostStart(
    paths,
    {
      brokers: e.brokers,
      mtlsBrokers: stackNodes(opts).map((n) => `127.0.0.1:${sec.mtlsPortOf(opts.security!, n.id)}`).join(','),
      registryUrl: e.registryUrl,
      java: findJava(17, 'KAFKA_JAVA_HOME'),
      classpath: join(a.kafkaLibs, '*'),
    },
    creds,
    log,
  );
}

function registryCa(opts: StackOptions): string | undefined {
  if (!opts.security?.registryHttps) return undefined;
  const p = sec.securityPaths(opts.dir);
  if (!existsSync(p.ca)) sec.ensureCertificates(p, sec.principals(), () => undefined);
  return readFileSync(p.ca, 'utf8');
}

/**
 * A Kafka cluster of its own for a test: `nodes` brokers (combined broker+controller) on the given ports,
 * in `dir` (wiped first). The caller kills, restarts and finally destroys it.
 */
export async function startTestCluster(opts: {
  dir: string;
  ports: readonly number[];
  controllerPorts: readonly number[];
  heapMb?: number;
  /** Quick-start JVM flags (see KafkaClusterOptions.fastStart); default true. */
  fastStart?: boolean;
  overrides?: Readonly<Record<string, string>>;
  log?: (m: string) => void;
}): Promise<KafkaCluster> {
  const log = opts.log ?? console.error;
  const nodes = brokerNodes(opts.dir, opts.ports.length, { port: opts.ports[0]!, controllerPort: opts.controllerPorts[0]!, ports: opts.ports, controllerPorts: opts.controllerPorts });
  const c = new KafkaCluster(
    { nodes, heapMb: opts.heapMb ?? 512, readyTimeoutMs: 180_000, fastStart: opts.fastStart ?? true, ...(opts.overrides ? { overrides: opts.overrides } : {}) },
    findJava(17, 'KAFKA_JAVA_HOME'),
    ensureArtifacts(log),
    log,
  );
  await c.destroy();
  try {
    await c.startAll();
  } catch (e) {
    await c.destroy();
    throw e;
  }
  return c;
}

/** Starts the registry of `opts` (also used by the fault tests to restart a registry they killed). */
export async function startRegistry(opts: StackOptions, a: ReturnType<typeof artifactPaths>, log: (m: string) => void): Promise<boolean> {
  const pidFile = join(opts.dir, 'registry.pid');
  const logFile = join(opts.dir, 'registry.log');
  const url = endpointsOf(opts).registryUrl;
  const ca = registryCa(opts);
  if (readPid(pidFile) !== undefined && (await registryReady(url, ca))) return false;
  if (await portOpen(opts.registryPort)) {
    throw new StackError(`port ${opts.registryPort} is taken by a process that is not this stack's registry; set LOCAL_REGISTRY_PORT`);
  }
  // Apicurio Registry 3.x is built for Java 21+.
  const java = findJava(21, 'APICURIO_JAVA_HOME');
  const db = join(opts.dir, 'registry-db', 'registry');
  log(`starting Apicurio Registry ${a.apicurio} on 127.0.0.1:${opts.registryPort}`);
  const pid = spawnDetached(
    java,
    [
      '-Xms128m',
      '-Xmx512m',
      `-Dquarkus.http.port=${opts.registryPort}`,
      '-Dquarkus.http.host=127.0.0.1',
      // Quarkus' management interface (health, metrics) listens on *:9000 by default: keep it on loopback,
      // on a port of its own, so two stacks (or anything else on 9000) do not collide.
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${opts.registryManagementPort}`,
      `-Dapicurio.datasource.url=jdbc:h2:file:${db};DB_CLOSE_ON_EXIT=FALSE`,
      '-Dapicurio.datasource.jdbc.initial-size=2',
      '-Dapicurio.datasource.jdbc.min-size=2',
      '-Dapicurio.datasource.jdbc.max-size=20',
      '-Dquarkus.log.level=WARN',
      '-Dquarkus.log.category."io.quarkus".level=INFO',
      ...(opts.security?.registryHttps ? sec.registryTlsArgs(sec.securityPaths(opts.dir), opts.registryPort) : []),
      '-jar',
      a.apicurioJar,
    ],
    a.apicurioDir,
    logFile,
    pidFile,
  );
  await waitFor('Apicurio Registry', () => registryReady(url, ca), opts.readyTimeoutMs, pid, logFile);
  return true;
}

/** The file `make` sources (with-stack): next to the stack's folder, so `.local/stack.env` for both default stacks. */
export function stackEnvFile(opts: StackOptions): string {
  return join(dirname(opts.dir), 'stack.env');
}

/**
 * stack.env's text: the endpoints, and on a secured stack its TLS settings, where each principal's
 * credentials are (`make` sources the target's own, STACK_PRINCIPAL) and `*_CREATE_TOPICS=false` (topic
 * creation is the admin's job there). No secret: the passwords stay in the principals' files.
 */
export function stackEnvText(opts: StackOptions): string {
  const e = endpointsOf(opts);
  const lines = [
    `# written by infra/local/stack.ts; source it to talk to the local stack (${opts.brokers} broker${opts.brokers === 1 ? '' : 's'}${opts.security ? ', SASL_SSL' : ''})`,
    `export KAFKA_BROKERS=${e.brokers}`,
    `export SCHEMA_REGISTRY_URL=${e.registryUrl}`,
  ];
  if (opts.security) {
    lines.push(...sec.stackEnvLines(sec.securityPaths(opts.dir)));
    if (!opts.security.registryHttps) lines.splice(lines.indexOf(`export SCHEMA_REGISTRY_CA_FILE=${sec.securityPaths(opts.dir).ca}`), 1);
    lines.push('export SCORER_CREATE_TOPICS=false DRIFT_CREATE_TOPICS=false SIMULATOR_CREATE_TOPICS=false');
  }
  return `${lines.join('\n')}\n`;
}

function writeEnvFile(opts: StackOptions): void {
  writeFileSync(stackEnvFile(opts), stackEnvText(opts));
}

/**
 * The stacks `stack.ts down` stops: the one LOCAL_STACK_DIR names, else both default ones (plaintext and
 * secured), so `make stack-down` stops whatever local stack runs without being told how it was started.
 */
export function stacksToStop(env: NodeJS.ProcessEnv = process.env): StackOptions[] {
  if (env.LOCAL_STACK_DIR) return [defaultStackOptions(env)];
  return [defaultStackOptions({ ...env, STACK_SECURITY: 'plaintext' }), defaultStackOptions({ ...env, STACK_SECURITY: 'sasl_ssl' })];
}

/** Starts (or reuses) the local broker and registry and waits until both answer. */
export async function up(opts: StackOptions = defaultStackOptions(), log: (m: string) => void = console.error): Promise<StackHandle> {
  mkdirSync(opts.dir, { recursive: true });
  const a = ensureArtifacts(log);
  // Start both concurrently: they do not depend on each other. If one fails, stop what this call started.
  const kafka = stackCluster(opts, log);
  const others = otherLayoutsRunning(opts);
  if (others.length > 0) throw new StackError(`a stack with another broker count is running (${others.join(', ')}); stop it first: make stack-down`);
  const formatted = !existsSync(join(stackNodes(opts)[0]!.dataDir, 'meta.properties'));
  const results = await Promise.allSettled([kafka.startAll(), opts.brokerOnly ? Promise.resolve(false) : startRegistry(opts, a, log)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Anything not reused was started (or half-started) by this call.
    const reused = (i: number) => results[i]!.status === 'fulfilled' && !(results[i] as PromiseFulfilledResult<boolean>).value;
    if (!reused(0)) await kafka.stopAll();
    if (!reused(1)) await stopPid(join(opts.dir, 'registry.pid'), 'Apicurio Registry', 20_000, log);
    throw failed.reason;
  }
  const [k, r] = results.map((x) => (x as PromiseFulfilledResult<boolean>).value) as [boolean, boolean];
  await securedPostStart(opts, a, formatted, log);
  writeEnvFile(opts);
  return { ...endpointsOf(opts), started: k || r };
}

/** Pid files of brokers of every layout under opts.dir (1 node: dir/kafka.pid; N: dir/cluster-N/node-i/kafka.pid). */
function allBrokerPidFiles(opts: StackOptions): { file: string; layout: number; what: string }[] {
  const out = [{ file: join(opts.dir, 'kafka.pid'), layout: 1, what: 'Kafka' }];
  if (!existsSync(opts.dir)) return out;
  for (const d of readdirSync(opts.dir)) {
    const m = /^cluster-(\d+)$/.exec(d);
    if (!m) continue;
    for (const node of readdirSync(join(opts.dir, d))) out.push({ file: join(opts.dir, d, node, 'kafka.pid'), layout: Number(m[1]), what: `Kafka ${d}/${node}` });
  }
  return out;
}

function otherLayoutsRunning(opts: StackOptions): string[] {
  return allBrokerPidFiles(opts)
    .filter((p) => p.layout !== opts.brokers && readPid(p.file) !== undefined)
    .map((p) => p.what);
}

/** Stops the registry and every broker of any layout; stopping a stopped stack is a no-op. */
export async function down(opts: StackOptions = defaultStackOptions(), log: (m: string) => void = console.error): Promise<void> {
  await Promise.all([
    stopPid(join(opts.dir, 'registry.pid'), 'Apicurio Registry', 20_000, log),
    ...allBrokerPidFiles(opts).map((p) => stopPid(p.file, p.what, 30_000, log)),
  ]);
}

export async function status(opts: StackOptions = defaultStackOptions()): Promise<{ kafka: boolean; brokers: Record<number, boolean>; registry: boolean }> {
  const brokers: Record<number, boolean> = {};
  for (const n of stackNodes(opts)) brokers[n.id] = readPid(n.pidFile) !== undefined && (await portOpen(n.port));
  return {
    kafka: Object.values(brokers).every(Boolean),
    brokers,
    registry: readPid(join(opts.dir, 'registry.pid')) !== undefined && (await registryReady(endpointsOf(opts).registryUrl, registryCa(opts))),
  };
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? 'up';
  const opts = defaultStackOptions();
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      const h = await up(opts);
      console.error(`${h.started ? 'started' : 'already running'}: KAFKA_BROKERS=${h.brokers} SCHEMA_REGISTRY_URL=${h.registryUrl} (${Date.now() - t0} ms); settings in .local/stack.env`);
      return 0;
    }
    case 'down':
      for (const o of stacksToStop()) await down(o);
      return 0;
    case 'status': {
      const s = await status(opts);
      for (const [id, up] of Object.entries(s.brokers)) console.log(`kafka broker ${id}: ${up ? 'running' : 'stopped'}`);
      console.log(`registry: ${s.registry ? 'running' : 'stopped'}`);
      return s.kafka && s.registry ? 0 : 1;
    }
    case 'fetch':
      ensureArtifacts();
      return 0;
    default:
      console.error(`usage: stack.ts up|down|status|fetch (got "${cmd}")`);
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
