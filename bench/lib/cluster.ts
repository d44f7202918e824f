/**
 * The benchmark's side of the cluster: fresh topics per run, pre-loading applications, watching a group's
 * committed offsets, counting committed output records, and deleting what a run created. The harness's
 * clients connect with services/shared/kafka/connection.ts from the env it is opened with (on the
 * --secure broker: SASL_SSL as User:admin); contenders get their own principal's variables (topicEnv).
 */
import { randomUUID } from 'node:crypto';
import { aclBindings, applyAcls, loadAclFile } from '../../infra/acls.ts';
import { AclAdmin } from '../../services/shared/kafka/acl-admin.ts';
import type { KafkaAdmin } from '../../services/shared/kafka/admin.ts';
import { createKafka, type KafkaClient } from '../../services/shared/kafka/client.ts';
import { connectionFromEnv, type ConnectionConfig } from '../../services/shared/kafka/connection.ts';
import { kafkaErrorCodes, librdkafkaError } from '../../services/shared/kafka/errors.ts';
import { readTopic } from '../../services/shared/kafka/read-topic.ts';
import { replicationOf, topicDefinition, TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { ensureTopics } from '../../services/shared/kafka/topics.ts';
import { ServiceError } from '../../services/shared/errors.ts';
import { AvroRegistry } from '../../services/shared/registry.ts';
import { DEFAULT_RETRY, withRetry } from '../../services/shared/retry.ts';
import { produceApplications, type ProduceStats } from '../../services/simulator/producer.ts';
import { populationSource } from '../../services/simulator/source.ts';
import type { ClusterInfo } from './machine.ts';
import type { Transport } from './transport.ts';

export const PARTITIONS = 6;
export const STREAM_ROLES = ['applications', 'decisions', 'scoringLog', 'deadLetters'] as const;
/** Seed of the benchmark's applications: every contender and every run sees the same ones. */
export const DATA_SEED = 20_240_601;

export type TopicSet = Readonly<Record<string, string>> & { applications: string; decisions: string; scoringLog: string; deadLetters: string };

/**
 * Broker answers that a later ask may not get: a group coordinator loading or moving, a timeout, a topic
 * just created that the broker asked does not know yet or whose leader is being elected.
 */
const TRANSIENT = new Set(['NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'REQUEST_TIMED_OUT', '_TIMED_OUT', '_TRANSPORT', 'UNKNOWN_TOPIC_OR_PART', 'LEADER_NOT_AVAILABLE']);

/** A Kafka error with the retriable flag withRetry reads (librdkafka's own flag, or a transient broker answer). */
function retriable(what: string, e: unknown): ServiceError {
  const flag = Boolean(librdkafkaError(e)?.isRetriable) || kafkaErrorCodes(e).some((c) => TRANSIENT.has(c));
  return new ServiceError('KAFKA_UNAVAILABLE', `${what}: ${(e as Error)?.message ?? String(e)}`, flag, { codes: kafkaErrorCodes(e) }, { cause: e });
}

/** A secured cluster: the harness is its super user; contenders connect as their own principal. */
export interface ClusterSecurity {
  readonly transport: Exclude<Transport, 'plaintext'>;
  /** The connection variables (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*) of `principal`. */
  principalEnv(principal: string): Record<string, string>;
  /** The harness's own connection variables (a super user: it manages the ACLs). */
  readonly adminEnv: Record<string, string>;
}

export class BenchCluster {
  readonly runId = randomUUID().slice(0, 8);
  private readonly created = new Set<string>();

  private constructor(
    readonly conn: ConnectionConfig,
    readonly kafka: KafkaClient,
    readonly admin: KafkaAdmin,
    readonly registry: AvroRegistry,
    readonly security?: ClusterSecurity,
  ) {}

  /** `env` in the services' variables (connection.ts); `security` when it is the --secure broker. */
  static async open(env: NodeJS.ProcessEnv = process.env, security?: ClusterSecurity): Promise<BenchCluster> {
    const conn = connectionFromEnv(env);
    const kafka = createKafka(conn, 'bench');
    const admin = kafka.admin();
    return new BenchCluster(conn, kafka, admin, new AvroRegistry(conn.registry), security);
  }

  get transport(): Transport {
    return this.security?.transport ?? 'plaintext';
  }

  /** Unique names for every topic role (so a contender's own defaults never touch shared topics). */
  topics(label: string, applications?: string): TopicSet {
    const names: Record<string, string> = {};
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) names[role] = `bench-${this.runId}-${label}-${def.name}`;
    if (applications) names.applications = applications;
    return names as TopicSet;
  }

  /**
   * Environment variables of a contender: the brokers (on a secured cluster with `principal`'s TLS and SASL
   * settings; a contender without a principal cannot run there), the registry, and `topics` the way every
   * service reads them (TOPIC_*).
   */
  topicEnv(topics: TopicSet, principal?: string): Record<string, string> {
    if (this.security && !principal) throw new Error(`a contender without a principal cannot run on the ${this.security.transport} cluster`);
    const env: Record<string, string> = {
      KAFKA_BROKERS: this.conn.brokers.join(','),
      ...(this.security && principal ? this.security.principalEnv(principal) : {}),
      SCHEMA_REGISTRY_URL: this.conn.registry.url,
    };
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) if (topics[role]) env[def.env] = topics[role]!;
    return env;
  }

  /**
   * Secured cluster: reconciles infra/acls.json's ACLs to `topics` and the group variables in `groups`
   * (e.g. SCORER_GROUP_ID), as the admin does before a service starts. A no-op on a plaintext cluster.
   */
  async authorize(topics: TopicSet, groups: Record<string, string>): Promise<void> {
    if (!this.security) return;
    const file = loadAclFile();
    await applyAcls(new AclAdmin(this.security.adminEnv), aclBindings(file, topics, groups), Object.keys(file.principals));
  }

  async create(topics: TopicSet, roles: readonly string[]): Promise<void> {
    // TOPIC_SETUP_FAILED is retriable: a busy broker sometimes reports a just-created topic as unknown.
    await withRetry(() => ensureTopics(this.admin, topics, roles, { partitions: PARTITIONS }), { ...DEFAULT_RETRY, retries: 5, initialDelayMs: 500 });
    for (const r of roles) this.created.add(topics[r]!);
  }

  /**
   * The replication a topic of the run gets on this cluster, read back from the cluster: a probe topic is
   * created like the input topic (infra/topics.json's applications role: the cluster's defaults unless the
   * role pins them) and described. `brokers`: the brokers holding its replicas (with 6 partitions, every
   * broker of a cluster of up to 6 brokers). min.insync.replicas is the role's if it pins one, else the
   * broker's default (which this client cannot read: no DescribeConfigs in the Node binding).
   */
  async describe(): Promise<ClusterInfo> {
    const probe = `bench-${this.runId}-replication-probe`;
    await this.createRaw(probe);
    try {
      const partitions = (await withRetry(() => this.admin.describeTopics([probe]).catch((e: unknown) => Promise.reject(retriable(`describe ${probe}`, e))), { ...DEFAULT_RETRY, retries: 5 })).get(probe) ?? [];
      const brokers = new Set(partitions.flatMap((p) => p.replicas));
      const pinned = replicationOf(topicDefinition('applications')).config['min.insync.replicas'];
      return { brokers: brokers.size, replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)), minInsyncReplicas: pinned === undefined ? 'broker default' : Number(pinned) };
    } finally {
      await this.cleanup([probe]);
    }
  }

  /** A topic of PARTITIONS partitions replicated like the input topic (infra/topics.json's applications role). */
  async createRaw(topic: string): Promise<void> {
    const { replicationFactor, config } = replicationOf(topicDefinition('applications'));
    // Retriable: fewer brokers alive than the cluster's default replication factor (a broker restarting).
    await withRetry(() => this.admin.createTopics([{ topic, numPartitions: PARTITIONS, replicationFactor, config }]).catch((e: unknown) => Promise.reject(retriable(`create ${topic}`, e))), { ...DEFAULT_RETRY, retries: 5, initialDelayMs: 500 });
    this.created.add(topic);
  }

  /** Deletes the given topics (default: everything this run created, plus any topic named after the run). */
  async cleanup(only?: readonly string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const mine = only ?? [...existing].filter((t) => t.startsWith(`bench-${this.runId}-`) || this.created.has(t));
    const doomed = mine.filter((t) => existing.has(t));
    if (doomed.length) await this.admin.deleteTopics(doomed).catch(() => undefined);
    for (const t of doomed) this.created.delete(t);
  }

  /** Produces applications 0..n-1 of the benchmark's data set (Avro, registered schema) into `topic`. */
  async preload(
    topic: string,
    n: number,
    opts: { invalidShare?: number; ratePerSec?: number; clock?: (i: number) => number; signal?: AbortSignal } = {},
  ): Promise<ProduceStats> {
    const schemaId = await this.registry.registerValueSchema(topic, 'loan-application');
    await this.registry.warm(schemaId);
    const producer = this.kafka.producer();
    await producer.connect();
    try {
      const source = populationSource({ seed: DATA_SEED, runId: 'bench', ...(opts.clock ? { clock: opts.clock } : {}) });
      return await produceApplications(producer, this.registry, schemaId, source, {
        topic,
        count: n,
        invalidShare: opts.invalidShare ?? 0,
        ...(opts.ratePerSec ? { ratePerSec: opts.ratePerSec } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } finally {
      await producer.disconnect();
    }
  }

  /**
   * The group's committed offsets on `topic`, summed (0 before the first commit). A retriable error
   * (NOT_COORDINATOR while a fresh broker loads the group's offsets partition, for one) is retried with the
   * shared backoff (about 10 s in all): the contender is not at fault, and the poll must not end its run.
   */
  async committed(groupId: string, topic: string): Promise<number> {
    const r = await withRetry(() => this.admin.groupOffsets(groupId, [topic]).catch((e: unknown) => Promise.reject(retriable(`offsets of group ${groupId}`, e))), { ...DEFAULT_RETRY, retries: 8, maxDelayMs: 2000 });
    return r.reduce((s, p) => s + Math.max(0, p.offset), 0);
  }

  async endOffsets(topic: string): Promise<number> {
    return (await this.admin.topicOffsets(topic)).reduce((s, p) => s + p.high, 0);
  }

  /**
   * Counts the committed records of `topic` (read_committed, so aborted transactions do not count) by
   * reading it to the end of every partition. Returns the count and the number of distinct keys.
   */
  async count(topic: string, timeoutMs = 120_000): Promise<{ records: number; distinctKeys: number }> {
    const keys = new Set<string>();
    let records = 0;
    await readTopic(this.kafka, topic, {
      timeoutMs,
      onMessage: (m) => {
        records++;
        if (m.key) keys.add(m.key.toString());
      },
    });
    return { records, distinctKeys: keys.size };
  }

  close(): Promise<void> {
    this.admin.disconnect();
    return Promise.resolve();
  }
}
