/**
 * The few admin operations the project uses, as promises over the binding's AdminClient: topics
 * (list, describe, create, delete), offsets (a topic's low/high watermarks, a group's committed offsets
 * with their metadata) and groups. ACLs: acl-admin.ts.
 */
import type { ConnectionConfig } from './connection.ts';
import { kafkaErrorCodes } from './errors.ts';
import { AdminClient, attachLog, baseConfig, call, ERR, KafkaConsumer, Producer, type KafkaLog, type LibrdKafkaError, type NativeAdmin, type NativeConsumer, type NativeOffset, type NativeProducer } from './native.ts';

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  /** -1: the cluster's default.replication.factor (KIP-464). */
  readonly replicationFactor: number;
  readonly config?: Readonly<Record<string, string>>;
}

export interface PartitionInfo {
  readonly partition: number;
  readonly leader: number | null;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when the group has no offset for the partition. */
  readonly offset: number;
  readonly metadata?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Answers while a group's coordinator loads or moves: asked again. */
const COORDINATOR_MOVING: ReadonlySet<string> = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', '_WAIT_COORD']);

/**
 * A per-topic or per-group error of an admin result ({ code, message }, without the binding's Error shape)
 * as a LibrdKafkaError, so errors.ts reads its code (kafkaErrorCodes) like any other.
 */
function resultError(e: { code: number; message?: string }, what: string): LibrdKafkaError {
  if ('errno' in e) return e as LibrdKafkaError;
  return Object.assign(new Error(`${what}: ${e.message ?? `error ${e.code}`}`), { code: e.code, errno: e.code, origin: 'kafka' }) as unknown as LibrdKafkaError;
}

export class KafkaAdmin {
  private readonly native: NativeAdmin;
  private readonly config: ReturnType<typeof baseConfig>;
  /** Non-joining consumers reading committed offsets, per group. */
  private readonly readers = new Map<string, Promise<NativeConsumer>>();
  private metadata?: Promise<NativeProducer>;
  private closed = false;

  constructor(conn: ConnectionConfig, clientId: string, log?: KafkaLog) {
    this.config = baseConfig(conn, clientId);
    this.native = AdminClient.create(this.config);
    const events = (this.native as unknown as { on?: (event: string, l: (...a: never[]) => void) => void });
    if (typeof events.on === 'function') attachLog(events as never, 'admin', log);
  }

  async listTopics(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    return call<string[]>((cb) => this.native.listTopics({ timeout: timeoutMs }, cb));
  }

  /** Partitions of `topics` with leader, replicas and in-sync replicas (broker ids). Throws for an unknown topic. */
  async describeTopics(topics: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Map<string, PartitionInfo[]>> {
    const r = await call<{ name: string; partitions: { partition: number; leader: { id: number } | null; replicas: { id: number }[]; isr: { id: number }[] }[]; error?: LibrdKafkaError }[]>((cb) =>
      this.native.describeTopics([...topics], { timeout: timeoutMs }, cb as never),
    );
    const out = new Map<string, PartitionInfo[]>();
    for (const t of r) {
      if (t.error && t.error.code !== 0) throw resultError(t.error, `topic ${t.name}`);
      out.set(t.name, t.partitions.map((p) => ({ partition: p.partition, leader: p.leader?.id ?? null, replicas: p.replicas.map((n) => n.id), isr: p.isr.map((n) => n.id) })).sort((a, b) => a.partition - b.partition));
    }
    return out;
  }

  /** Creates the topics that do not exist; an existing one is left as it is. Returns those created. */
  async createTopics(specs: readonly TopicSpec[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    const created: string[] = [];
    for (const s of specs) {
      try {
        await call((cb) => this.native.createTopic({ topic: s.topic, num_partitions: s.numPartitions, replication_factor: s.replicationFactor, config: { ...(s.config ?? {}) } }, timeoutMs, (err) => cb(err, undefined)));
        created.push(s.topic);
      } catch (e) {
        if ((e as LibrdKafkaError).code !== ERR.TOPIC_ALREADY_EXISTS) throw e;
      }
    }
    return created;
  }

  async deleteTopics(topics: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    for (const t of topics) {
      await call((cb) => this.native.deleteTopic(t, timeoutMs, (err) => cb(err, undefined))).catch((e: LibrdKafkaError) => {
        if (e.code !== ERR.UNKNOWN_TOPIC_OR_PART) throw e;
      });
    }
  }

  /**
   * Low and high watermarks of every partition of `topic`; high is the last stable offset (the end a
   * read_committed reader can reach; the log end when no transaction is open).
   *
   * Asked through a plain client that joins no group and produces nothing (librdkafka's
   * query_watermark_offsets: a ListOffsets to each partition's leader, queued on that broker's connection
   * like any request, so it needs no ACL beyond the topic's Describe), not the AdminClient's listOffsets:
   * while a partition's leader is down, that call re-dials the dead broker without backoff (367,911 refused
   * connects in 30 s on the 3-broker test), which starved the 2-core machine's brokers and stretched a
   * leader kill's stall from 2 s to 42-70 s. One partition at a time: each query holds a libuv pool
   * thread while it waits, and the service's polls need those threads.
   */
  async topicOffsets(topic: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<PartitionOffsets[]> {
    const deadline = Date.now() + timeoutMs;
    const client = await this.metadataClient();
    const parts = await this.partitionsOf(topic, timeoutMs);
    const out: PartitionOffsets[] = [];
    for (const p of parts) {
      const w = await call<{ highOffset: number; lowOffset: number }>((cb) => client.queryWatermarkOffsets(topic, p, Math.max(1000, deadline - Date.now()), cb));
      out.push({ partition: p, low: w.lowOffset, high: w.highOffset });
    }
    return out;
  }

  /**
   * A group's committed offsets for the partitions of `topics` (stable: waits out open transactions).
   *
   * Read through a consumer of that group that never joins it (librdkafka's `committed()`, an OffsetFetch
   * to the group's coordinator), not the AdminClient's listConsumerGroupOffsets: the binding (1.10.1)
   * crashes the process (SIGSEGV) in that call while a fresh cluster's group coordinator is not available
   * yet. One reader per group is kept until disconnect().
   */
  async groupOffsets(groupId: string, topics: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommittedOffset[]> {
    const partitions = (await Promise.all(topics.map(async (topic) => (await this.partitionsOf(topic, timeoutMs)).map((partition) => ({ topic, partition }))))).flat();
    if (partitions.length === 0) return [];
    const reader = await this.offsetReader(groupId);
    const deadline = Date.now() + timeoutMs;
    let r: NativeOffset[];
    for (let wait = 100; ; wait = Math.min(2000, wait * 2)) {
      try {
        r = await call<NativeOffset[]>((cb) => reader.committed(partitions, Math.max(1000, deadline - Date.now()), cb));
        const failed = r.find((p) => p.error && p.error.code !== 0);
        if (failed?.error) throw failed.error;
        break;
      } catch (e) {
        // The group's coordinator is loading or moving (a fresh cluster creates __consumer_offsets now): ask again.
        if (!kafkaErrorCodes(e).some((c) => COORDINATOR_MOVING.has(c)) || Date.now() + wait > deadline) throw e;
        await new Promise((res) => setTimeout(res, wait));
      }
    }
    return r.map((p) => ({ topic: p.topic, partition: p.partition, offset: typeof p.offset === 'number' && p.offset >= 0 ? p.offset : -1, ...(p.metadata ? { metadata: p.metadata } : {}) }));
  }

  /**
   * The partition numbers of `topic` from a metadata request of the plain client (to any broker it is
   * connected to), not the AdminClient's describeTopics, which re-dials a dead broker without backoff like
   * its listOffsets (above). Throws for a topic the cluster does not know.
   */
  private async partitionsOf(topic: string, timeoutMs: number): Promise<number[]> {
    const client = await this.metadataClient();
    const md = await call<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) => client.getMetadata({ topic, timeout: timeoutMs }, cb as never));
    const parts = md.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (parts.length === 0) throw Object.assign(new Error(`topic ${topic}: Broker: Unknown topic or partition`), { code: ERR.UNKNOWN_TOPIC_OR_PART });
    return parts.map((p) => p.id).sort((a, b) => a - b);
  }

  /** A producer handle that never produces: metadata and watermarks without a group (so without a group ACL). */
  private metadataClient(): Promise<NativeProducer> {
    if (!this.metadata) {
      const p = new Producer({ ...this.config }, {});
      const ready = call((cb) => p.connect({ timeout: 30_000 }, (err) => cb(err, undefined))).then(() => p);
      // A failed connect is forgotten so the next call tries again.
      ready.catch(() => this.metadata === ready && (this.metadata = undefined));
      this.metadata = ready;
    }
    return this.metadata;
  }

  /** A connected consumer of group `groupId` that never subscribes (so never joins); one per group, kept until disconnect(). */
  private offsetReader(groupId: string): Promise<NativeConsumer> {
    const known = this.readers.get(groupId);
    if (known) return known;
    const c = new KafkaConsumer({ ...this.config, 'group.id': groupId, 'enable.auto.commit': false, 'enable.auto.offset.store': false, 'isolation.level': 'read_committed' } as never, {});
    const ready = call((cb) => c.connect({ timeout: 30_000 }, (err) => cb(err, undefined))).then(() => c);
    // Concurrent callers share one connect; a failed one is forgotten so the next call tries again.
    ready.catch(() => this.readers.get(groupId) === ready && this.readers.delete(groupId));
    this.readers.set(groupId, ready);
    return ready;
  }

  async deleteGroups(groups: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await call((cb) => this.native.deleteGroups([...groups], { timeout: timeoutMs }, (err) => cb(err, undefined)));
  }

  /** Idempotent. */
  disconnect(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.disconnect();
    for (const r of this.readers.values()) void r.then((c) => c.disconnect(), () => undefined);
    void this.metadata?.then((p) => p.disconnect(), () => undefined);
    this.metadata = undefined;
    this.readers.clear();
  }
}
