/**
 * The local stack: a single-node KRaft Kafka broker and an Apicurio Registry (Confluent API under
 * /apis/ccompat/v7), both run from artifacts on Maven Central on this machine's JDKs — no Docker.
 *
 *   up     fetch artifacts if missing (mvn, cached in .cache/), format storage once, start both in the
 *          background, wait for readiness, write .local/stack.env. Idempotent: a running stack is reused.
 *   down   stop both (SIGTERM, then SIGKILL after a timeout).
 *   status print whether each is running.
 *
 * Data lives in .local/stack/ and survives restarts (the registry keeps its schemas in an H2 file
 * there, so schema ids in old messages stay resolvable).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sec from './security.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const POM = join(ROOT, 'infra', 'local', 'pom.xml');
const CACHE = join(ROOT, '.cache');

export interface StackOptions {
  /** Folder holding data, logs, pids. */
  readonly dir: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly registryPort: number;
  readonly registryManagementPort: number;
  readonly readyTimeoutMs: number;
  /** STACK_SECURITY=sasl_ssl: SASL_SSL + mTLS listeners, ACLs, HTTPS registry (infra/local/security.ts). */
  readonly security?: sec.SecurityOptions;
  /** Start the broker only (tests of the secured broker use the plaintext stack's registry). */
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

export class StackError extends Error {
  override readonly name = 'StackError';
}

export function defaultStackOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`${name} must be a TCP port (1-65535), got "${raw}"`);
    return n;
  };
  const security = sec.securityFromEnv(env, port('LOCAL_KAFKA_PORT', 19092), (m) => {
    throw new StackError(m);
  });
  return Object.freeze({
    // A secured stack keeps its data apart: its metadata holds SCRAM credentials and ACLs.
    dir: resolve(ROOT, env.LOCAL_STACK_DIR ?? (security ? '.local/secure-stack' : '.local/stack')),
    ...(security ? { security } : {}),
    kafkaPort: port('LOCAL_KAFKA_PORT', 19092),
    controllerPort: port('LOCAL_KAFKA_CONTROLLER_PORT', 19093),
    registryPort: port('LOCAL_REGISTRY_PORT', 18081),
    registryManagementPort: port('LOCAL_REGISTRY_MANAGEMENT_PORT', port('LOCAL_REGISTRY_PORT', 18081) + 1),
    readyTimeoutMs: 120_000,
  });
}

export function endpointsOf(opts: StackOptions): StackEndpoints {
  return {
    brokers: `127.0.0.1:${opts.kafkaPort}`,
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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
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

function kafkaProperties(opts: StackOptions, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${opts.controllerPort}`,
    ...(opts.security
      ? sec.securedKafkaProperties(sec.securityPaths(opts.dir), opts.kafkaPort, opts.controllerPort, opts.security)
      : [
          `listeners=PLAINTEXT://127.0.0.1:${opts.kafkaPort},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${opts.kafkaPort}`,
          'controller.listener.names=CONTROLLER',
          'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          'inter.broker.listener.name=PLAINTEXT',
        ]),
    `log.dirs=${dataDir}`,
    // Topics are created explicitly from infra/topics.json, never by accident.
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=12',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, file',
  'log4j.appender.file=org.apache.log4j.ConsoleAppender',
  'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka=INFO',
  'log4j.logger.org.apache.kafka=WARN',
  'log4j.logger.state.change.logger=WARN',
  'log4j.logger.kafka.log=WARN',
  'log4j.logger.kafka.coordinator=WARN',
  'log4j.logger.kafka.server.ReplicaFetcherManager=WARN',
  '',
].join('\n');

function spawnDetached(cmd: string, args: string[], cwd: string, logFile: string, pidFile: string): number {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new StackError(`could not start ${cmd}`);
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

async function startKafka(opts: StackOptions, a: ReturnType<typeof artifactPaths>, log: (m: string) => void): Promise<boolean> {
  const pidFile = join(opts.dir, 'kafka.pid');
  const logFile = join(opts.dir, 'kafka.log');
  const running = readPid(pidFile);
  if (running !== undefined && (await portOpen(opts.kafkaPort))) return false;
  if (await portOpen(opts.kafkaPort)) {
    throw new StackError(`port ${opts.kafkaPort} is taken by a process that is not this stack's broker; set LOCAL_KAFKA_PORT`);
  }
  const java = findJava(17, 'KAFKA_JAVA_HOME');
  const dataDir = join(opts.dir, 'kafka-data');
  const props = join(opts.dir, 'server.properties');
  writeFileSync(props, kafkaProperties(opts, dataDir));
  writeFileSync(join(opts.dir, 'log4j.properties'), LOG4J);
  const cp = join(a.kafkaLibs, '*');
  const log4j = `-Dlog4j.configuration=file:${join(opts.dir, 'log4j.properties')}`;
  const secured = opts.security ? securedSetup(opts, log) : undefined;
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const id = spawnSync(java, ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' }).stdout.trim();
    const scram = secured ? sec.scramFormatArgs(secured.creds) : [];
    const fmt = spawnSync(java, ['-cp', cp, log4j, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', props, ...scram], { encoding: 'utf8' });
    if (fmt.status !== 0) throw new StackError(`formatting Kafka storage failed: ${fmt.stderr || fmt.stdout}`);
    if (secured) sec.recordScramUsers(secured.paths, Object.keys(secured.creds));
  }
  log(`starting Kafka ${a.kafka} (KRaft) on 127.0.0.1:${opts.kafkaPort}`);
  const pid = spawnDetached(
    java,
    ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true', log4j, '-cp', cp, 'kafka.Kafka', props],
    opts.dir,
    logFile,
    pidFile,
  );
  await waitFor('Kafka', () => kafkaReady(opts.kafkaPort, logFile), opts.readyTimeoutMs, pid, logFile);
  return true;
}

/** Certificates and credentials of a secured stack (created on first start, cached in <dir>/security). */
function securedSetup(opts: StackOptions, log: (m: string) => void): { paths: sec.SecurityPaths; creds: Record<string, string> } {
  const paths = sec.securityPaths(opts.dir);
  const names = sec.principals();
  const issued = sec.ensureCertificates(paths, names, log);
  if (issued.length) log(`issued certificates for ${issued.join(', ')}`);
  return { paths, creds: sec.ensureCredentials(paths, names) };
}

/** Secured stack, after the broker answers: SCRAM users added since the format, topics, ACLs, env files. */
async function securedPostStart(opts: StackOptions, a: ReturnType<typeof artifactPaths>, log: (m: string) => void): Promise<void> {
  if (!opts.security) return;
  const { paths, creds } = securedSetup(opts, () => undefined);
  const e = endpointsOf(opts);
  await sec.securedPostStart(
    paths,
    { brokers: e.brokers, mtlsBrokers: `127.0.0.1:${opts.security.mtlsPort}`, registryUrl: e.registryUrl, java: findJava(17, 'KAFKA_JAVA_HOME'), classpath: join(a.kafkaLibs, '*') },
    creds,
    log,
  );
}

/** The broker is ready when its listener accepts connections and it has logged that it started. */
async function kafkaReady(port: number, logFile: string): Promise<boolean> {
  if (!(await portOpen(port))) return false;
  return existsSync(logFile) && readFileSync(logFile, 'utf8').includes('Kafka Server started');
}

async function startRegistry(opts: StackOptions, a: ReturnType<typeof artifactPaths>, log: (m: string) => void): Promise<boolean> {
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

function registryCa(opts: StackOptions): string | undefined {
  if (!opts.security?.registryHttps) return undefined;
  const p = sec.securityPaths(opts.dir);
  if (!existsSync(p.ca)) sec.ensureCertificates(p, sec.principals(), () => undefined);
  return readFileSync(p.ca, 'utf8');
}

function writeEnvFile(opts: StackOptions): void {
  const e = endpointsOf(opts);
  const envFile = join(dirname(opts.dir), 'stack.env');
  const secured = opts.security ? sec.stackEnvLines(sec.securityPaths(opts.dir)) : [];
  writeFileSync(envFile, [`# written by infra/local/stack.ts; source it to talk to the local stack`, `export KAFKA_BROKERS=${e.brokers}`, `export SCHEMA_REGISTRY_URL=${e.registryUrl}`, ...secured, ''].join('\n'));
}

/** Starts (or reuses) the local broker and registry and waits until both answer. */
export async function up(opts: StackOptions = defaultStackOptions(), log: (m: string) => void = console.error): Promise<StackHandle> {
  mkdirSync(opts.dir, { recursive: true });
  const a = ensureArtifacts(log);
  if (opts.security) securedSetup(opts, log);
  // Start both concurrently: they do not depend on each other. If one fails, stop what this call started.
  const results = await Promise.allSettled([startKafka(opts, a, log), opts.brokerOnly ? Promise.resolve(false) : startRegistry(opts, a, log)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Anything not reused was started (or half-started) by this call.
    const reused = (i: number) => results[i]!.status === 'fulfilled' && !(results[i] as PromiseFulfilledResult<boolean>).value;
    if (!reused(0)) await stopPid(join(opts.dir, 'kafka.pid'), 'Kafka', 30_000, log);
    if (!reused(1)) await stopPid(join(opts.dir, 'registry.pid'), 'Apicurio Registry', 20_000, log);
    throw failed.reason;
  }
  const [k, r] = results.map((x) => (x as PromiseFulfilledResult<boolean>).value) as [boolean, boolean];
  await securedPostStart(opts, a, log);
  writeEnvFile(opts);
  return { ...endpointsOf(opts), started: k || r };
}

async function stopPid(pidFile: string, what: string, timeoutMs: number, log: (m: string) => void): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return;
  }
  log(`stopping ${what} (pid ${pid})`);
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (pidAlive(pid)) {
    log(`${what} did not stop within ${timeoutMs} ms; killing it`);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(pidFile, { force: true });
}

/** Stops both processes; stopping a stopped stack is a no-op. */
export async function down(opts: StackOptions = defaultStackOptions(), log: (m: string) => void = console.error): Promise<void> {
  await Promise.all([
    stopPid(join(opts.dir, 'registry.pid'), 'Apicurio Registry', 20_000, log),
    stopPid(join(opts.dir, 'kafka.pid'), 'Kafka', 30_000, log),
  ]);
}

export async function status(opts: StackOptions = defaultStackOptions()): Promise<{ kafka: boolean; registry: boolean }> {
  return {
    kafka: readPid(join(opts.dir, 'kafka.pid')) !== undefined && (await portOpen(opts.kafkaPort)),
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
      await down(opts);
      return 0;
    case 'status': {
      const s = await status(opts);
      console.log(`kafka: ${s.kafka ? 'running' : 'stopped'}\nregistry: ${s.registry ? 'running' : 'stopped'}`);
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
