/**
 * Local KRaft Kafka brokers run from the Maven Central jars on this machine's JDK: one node, or N nodes
 * that each are broker AND controller (a combined N-voter quorum; with 3 nodes any one can die and the
 * quorum, the partitions' leadership and `min.insync.replicas=2` writes carry on).
 *
 * One function writes a node's server.properties (`brokerConfig`): listeners are a list of
 * `ListenerSpec`s and everything else a key -> value map, so a secured listener (TLS, SASL) or an ACL
 * authorizer is one entry more there, for every node alike.
 *
 * `KafkaCluster` is the process control the stack and the fault tests share: start all nodes (format the
 * storage once, with one cluster id), kill -9 / SIGTERM / restart a single node, wait until a restarted
 * node serves again, stop all.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export class StackError extends Error {
  override readonly name = 'StackError';
}

export interface KafkaArtifacts {
  /** Folder of Kafka's jars (the class path). */
  readonly kafkaLibs: string;
  readonly kafka: string;
}

/** One node of a local cluster: its ports and its files. */
export interface BrokerNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  /** Folder with server.properties and log4j.properties. */
  readonly home: string;
  readonly dataDir: string;
  readonly pidFile: string;
  readonly logFile: string;
}

/** A listener of a node: `name://host:port`, its security protocol, and whether clients are told about it. */
export interface ListenerSpec {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: string;
  /** Listed in advertised.listeners (the controller listener is not). */
  readonly advertised: boolean;
}

export interface BrokerConfig {
  readonly listeners: ListenerSpec[];
  readonly properties: Map<string, string>;
}

export interface KafkaClusterOptions {
  readonly nodes: readonly BrokerNode[];
  /** Max heap of each node's JVM, MB. */
  readonly heapMb: number;
  readonly readyTimeoutMs: number;
  /** JVM flags for a quick start over peak throughput (C1 only, serial GC): for short-lived test clusters. */
  readonly fastStart?: boolean;
  /** Extra server.properties entries for every node (tests tune timeouts with it). Win over the defaults. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** A secured cluster (infra/local/security.ts): rewrites listeners and settings, adds format arguments. */
  readonly secure?: SecureBrokers;
}

/** How a secured cluster changes each node's configuration and its storage format (SCRAM credentials). */
export interface SecureBrokers {
  configure(node: BrokerNode, nodes: readonly BrokerNode[], config: BrokerConfig): void;
  readonly formatArgs: readonly string[];
}

/**
 * Node files for a cluster of `count` nodes under `dir`. One node keeps the single-broker stack's historic
 * layout (dir/kafka-data, dir/kafka.pid, dir/kafka.log); N nodes live in dir/cluster-N/node-<id>/.
 * Ports: node i (0-based) listens on `port + 2i` and its controller on `controllerPort + 2i` unless
 * `ports` / `controllerPorts` list them.
 */
export function brokerNodes(
  dir: string,
  count: number,
  ports: { port: number; controllerPort: number; ports?: readonly number[]; controllerPorts?: readonly number[] },
): BrokerNode[] {
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new StackError(`STACK_BROKERS must be an integer 1-9, got ${count}`);
  const nodes: BrokerNode[] = [];
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    const home = count === 1 ? dir : join(dir, `cluster-${count}`, `node-${id}`);
    nodes.push({
      id,
      port: ports.ports?.[i] ?? ports.port + 2 * i,
      controllerPort: ports.controllerPorts?.[i] ?? ports.controllerPort + 2 * i,
      home,
      dataDir: join(home, 'kafka-data'),
      pidFile: join(home, 'kafka.pid'),
      logFile: join(home, 'kafka.log'),
    });
  }
  const all = nodes.flatMap((n) => [n.port, n.controllerPort]);
  const dup = all.find((p, i) => all.indexOf(p) !== i);
  if (dup !== undefined) throw new StackError(`port ${dup} is used twice by the ${count}-broker layout; set LOCAL_KAFKA_PORT / LOCAL_KAFKA_CONTROLLER_PORT apart`);
  for (const p of all) if (p < 1 || p > 65535) throw new StackError(`broker port ${p} is outside 1-65535`);
  return nodes;
}

/** Replication of the cluster's internal topics and the default for new topics: min(3, nodes). */
export function internalReplication(nodeCount: number): { replicationFactor: number; minInsync: number } {
  const replicationFactor = Math.min(3, nodeCount);
  return { replicationFactor, minInsync: Math.max(1, Math.min(2, replicationFactor - 1)) };
}

/**
 * The one place a node's configuration is decided. Add listeners to `listeners` (and their protocol to
 * the map, which is derived from it) and settings to `properties`.
 */
export function brokerConfig(node: BrokerNode, nodes: readonly BrokerNode[], overrides: Readonly<Record<string, string>> = {}): BrokerConfig {
  const listeners: ListenerSpec[] = [
    { name: 'PLAINTEXT', host: '127.0.0.1', port: node.port, protocol: 'PLAINTEXT', advertised: true },
    { name: 'CONTROLLER', host: '127.0.0.1', port: node.controllerPort, protocol: 'PLAINTEXT', advertised: false },
  ];
  const repl = internalReplication(nodes.length);
  const properties = new Map<string, string>([
    ['process.roles', 'broker,controller'],
    ['node.id', String(node.id)],
    ['controller.quorum.voters', nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['log.dirs', node.dataDir],
    // Topics are created explicitly from infra/topics.json, never by accident.
    ['auto.create.topics.enable', 'false'],
    ['num.partitions', '1'],
    ['default.replication.factor', String(repl.replicationFactor)],
    ['offsets.topic.replication.factor', String(repl.replicationFactor)],
    ['offsets.topic.num.partitions', '12'],
    ['transaction.state.log.replication.factor', String(repl.replicationFactor)],
    ['transaction.state.log.min.isr', String(repl.minInsync)],
    // New topics without a pinned value in infra/topics.json take these (services/shared/kafka/topic-catalog.ts).
    ['min.insync.replicas', String(repl.minInsync)],
    ['transaction.state.log.num.partitions', '12'],
    ['group.initial.rebalance.delay.ms', '0'],
    ['log.retention.hours', '168'],
  ]);
  for (const [k, v] of Object.entries(overrides)) properties.set(k, v);
  return { listeners, properties };
}

export function renderBrokerConfig(c: BrokerConfig): string {
  const lines = [
    `listeners=${c.listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(',')}`,
    `advertised.listeners=${c.listeners.filter((l) => l.advertised).map((l) => `${l.name}://${l.host}:${l.port}`).join(',')}`,
    `listener.security.protocol.map=${c.listeners.map((l) => `${l.name}:${l.protocol}`).join(',')}`,
    ...[...c.properties].map(([k, v]) => `${k}=${v}`),
    '',
  ];
  return lines.join('\n');
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

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(file: string): number | undefined {
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

export function spawnDetached(cmd: string, args: string[], cwd: string, logFile: string, pidFile: string): number {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new StackError(`could not start ${cmd}`);
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`. A missing or dead pid is a no-op. */
export async function stopPid(pidFile: string, what: string, timeoutMs: number, log: (m: string) => void): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return;
  }
  log(`stopping ${what} (pid ${pid})`);
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (pidAlive(pid)) {
    log(`${what} did not stop within ${timeoutMs} ms; killing it`);
    signalGroup(pid, 'SIGKILL');
    while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => res({ status, output }));
    child.on('error', (e) => res({ status: -1, output: e.message }));
  });
}

export class KafkaCluster {
  /** Byte offset of each node's log at its last start: "Kafka Server started" must come after it. */
  private readonly logOffsets = new Map<number, number>();

  constructor(
    private readonly opts: KafkaClusterOptions,
    private readonly java: string,
    private readonly artifacts: KafkaArtifacts,
    private readonly log: (m: string) => void = console.error,
  ) {}

  get nodes(): readonly BrokerNode[] {
    return this.opts.nodes;
  }

  /** Bootstrap list of all nodes, "127.0.0.1:p1,127.0.0.1:p2,...". */
  get brokers(): string {
    return this.opts.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  node(id: number): BrokerNode {
    const n = this.opts.nodes.find((x) => x.id === id);
    if (!n) throw new StackError(`no broker ${id} (nodes ${this.opts.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  pid(id: number): number | undefined {
    return readPid(this.node(id).pidFile);
  }

  async running(id: number): Promise<boolean> {
    return this.pid(id) !== undefined && (await portOpen(this.node(id).port));
  }

  /**
   * Starts every node that is not running, formatting storage that was never formatted (with one cluster
   * id for all), and waits until all serve. Returns whether any node was started by this call.
   */
  async startAll(): Promise<boolean> {
    const toStart: BrokerNode[] = [];
    for (const n of this.opts.nodes) {
      if (await this.running(n.id)) continue;
      if (await portOpen(n.port)) throw new StackError(`port ${n.port} is taken by a process that is not this stack's broker ${n.id}; set LOCAL_KAFKA_PORT (or stop the other stack)`);
      toStart.push(n);
    }
    if (toStart.length === 0) return false;
    await this.format(toStart);
    for (const n of toStart) this.spawnNode(n);
    await Promise.all(toStart.map((n) => this.waitReady(n.id)));
    return true;
  }

  private async format(nodes: readonly BrokerNode[]): Promise<void> {
    const unformatted = nodes.filter((n) => !existsSync(join(n.dataDir, 'meta.properties')));
    if (unformatted.length === 0) return;
    if (unformatted.length !== nodes.length || nodes.length !== this.opts.nodes.length) {
      // Some nodes have storage, some not: their cluster ids would differ. Reuse the existing one.
      const other = this.opts.nodes.find((n) => existsSync(join(n.dataDir, 'meta.properties')));
      if (other) return this.formatAll(unformatted, this.clusterIdOf(other));
    }
    return this.formatAll(unformatted, clusterId());
  }

  private clusterIdOf(n: BrokerNode): string {
    const m = /cluster\.id=(\S+)/.exec(readFileSync(join(n.dataDir, 'meta.properties'), 'utf8'));
    if (!m?.[1]) throw new StackError(`no cluster.id in ${join(n.dataDir, 'meta.properties')}`);
    return m[1];
  }

  private async formatAll(nodes: readonly BrokerNode[], id: string): Promise<void> {
    const results = await Promise.all(
      nodes.map((n) => {
        this.writeConfig(n);
        return runAsync(this.java, ['-cp', join(this.artifacts.kafkaLibs, '*'), this.log4jArg(n), 'kafka.tools.StorageTool', 'format', '-t', id, '-c', join(n.home, 'server.properties'), ...(this.opts.secure?.formatArgs ?? [])]);
      }),
    );
    results.forEach((r, i) => {
      if (r.status !== 0) throw new StackError(`formatting Kafka storage of broker ${nodes[i]!.id} failed: ${r.output}`);
    });
  }

  private log4jArg(n: BrokerNode): string {
    return `-Dlog4j.configuration=file:${join(n.home, 'log4j.properties')}`;
  }

  private writeConfig(n: BrokerNode): void {
    mkdirSync(n.home, { recursive: true });
    const config = brokerConfig(n, this.opts.nodes, this.opts.overrides);
    this.opts.secure?.configure(n, this.opts.nodes, config);
    writeFileSync(join(n.home, 'server.properties'), renderBrokerConfig(config));
    writeFileSync(join(n.home, 'log4j.properties'), LOG4J);
  }

  private spawnNode(n: BrokerNode): number {
    this.writeConfig(n);
    this.logOffsets.set(n.id, existsSync(n.logFile) ? statSync(n.logFile).size : 0);
    this.log(`starting Kafka ${this.artifacts.kafka} (KRaft) broker ${n.id} on 127.0.0.1:${n.port}`);
    return spawnDetached(
      this.java,
      [
        `-Xms${Math.min(256, this.opts.heapMb)}m`,
        `-Xmx${this.opts.heapMb}m`,
        ...(this.opts.fastStart ? ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k'] : ['-XX:+UseG1GC']),
        '-Djava.awt.headless=true', this.log4jArg(n), '-cp', join(this.artifacts.kafkaLibs, '*'), 'kafka.Kafka', join(n.home, 'server.properties')],
      n.home,
      n.logFile,
      n.pidFile,
    );
  }

  /** A node is ready when its listener accepts connections and it logged "Kafka Server started" since its last start. */
  async ready(id: number): Promise<boolean> {
    const n = this.node(id);
    if (!(await portOpen(n.port))) return false;
    if (!existsSync(n.logFile)) return false;
    const text = readFileSync(n.logFile, 'utf8');
    return text.slice(this.logOffsets.get(id) ?? 0).includes('Kafka Server started');
  }

  /** The lines a node logged since its last start that say what went wrong (the last 15 otherwise): the log may be deleted with the cluster. */
  private logTail(id: number): string {
    const n = this.node(id);
    if (!existsSync(n.logFile)) return '(no log)';
    const lines = readFileSync(n.logFile, 'utf8').slice(this.logOffsets.get(id) ?? 0).split('\n').filter(Boolean);
    const bad = lines.filter((l) => /ERROR|FATAL|Exception/.test(l));
    return (bad.length ? bad.slice(0, 15) : lines.slice(-15)).join('\n');
  }

  async waitReady(id: number, timeoutMs = this.opts.readyTimeoutMs): Promise<void> {
    const n = this.node(id);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ready(id)) return;
      if (this.pid(id) === undefined) throw new StackError(`Kafka broker ${id} exited during start-up; see ${n.logFile}; its last lines:\n${this.logTail(id)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new StackError(`Kafka broker ${id} not ready after ${timeoutMs} ms; see ${n.logFile}`);
  }

  /** Sends `signal` to a node (default SIGKILL, i.e. kill -9) and, for SIGKILL/SIGTERM, waits until it is gone. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 60_000): Promise<void> {
    const pid = this.pid(id);
    if (pid === undefined) return;
    signalGroup(pid, signal);
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM') return;
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid)) {
      if (Date.now() > deadline) {
        signalGroup(pid, 'SIGKILL');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    rmSync(this.node(id).pidFile, { force: true });
  }

  /** Starts a stopped node (same storage, same ports) and waits until it serves. */
  async start(id: number): Promise<void> {
    if (await this.running(id)) return;
    const n = this.node(id);
    this.spawnNode(n);
    await this.waitReady(id);
  }

  /** Graceful restart (SIGTERM: controlled shutdown moves leadership away first), then start. */
  async restart(id: number): Promise<void> {
    await this.kill(id, 'SIGTERM');
    await this.start(id);
  }

  /** Stops all nodes (SIGTERM, SIGKILL after 30 s). Idempotent. */
  async stopAll(): Promise<void> {
    await Promise.all(this.opts.nodes.map((n) => stopPid(n.pidFile, `Kafka broker ${n.id}`, 30_000, this.log)));
  }

  /** Stops all nodes and deletes their files (for clusters a test made in a temporary folder). */
  async destroy(): Promise<void> {
    await this.stopAll();
    for (const n of this.opts.nodes) rmSync(n.home, { recursive: true, force: true });
  }
}
