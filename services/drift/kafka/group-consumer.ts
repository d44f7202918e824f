/**
 * One kafkajs consumer group member with the lifecycle the drift components share: start, restart from the
 * committed offsets after a failure (a fresh consumer: in-memory state must be rebuilt by the owner, which
 * `onJoin` tells it), and an idempotent stop. Group events are forwarded as instrumentation events.
 */
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, PartitionAssigner } from 'kafkajs';
import { errorCode, isRetriable } from '../../shared/errors.ts';
import type { DriftComponent, DriftInstrumentation } from '../events.ts';

export interface GroupConsumerOptions {
  readonly kafka: Kafka;
  readonly component: DriftComponent;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition?: number;
  readonly assigner?: PartitionAssigner;
  readonly events: DriftInstrumentation;
  /** Called on every (re)join with the new assignment; owners drop state of the previous generation here. */
  readonly onJoin: (assignment: Record<string, number[]>) => void;
  readonly eachBatch: (p: EachBatchPayload) => Promise<void>;
  /** Every processed fetch, including those holding only transaction markers: the position reached. */
  readonly onBatchEnd?: (topic: string, partition: number, lastOffset: number) => void;
  readonly restartDelayMs?: number;
}

export class GroupConsumer {
  private consumer?: Consumer;
  private stopped = false;
  private restarting?: Promise<void>;
  private _joined = false;

  constructor(private readonly o: GroupConsumerOptions) {}

  get joined(): boolean {
    return this._joined && !this.restarting && !this.stopped;
  }
  get instance(): Consumer | undefined {
    return this.consumer;
  }

  async start(): Promise<void> {
    const o = this.o;
    const config: ConsumerConfig = {
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs * 2),
      readUncommitted: false,
      allowAutoTopicCreation: false,
      ...(o.maxBytesPerPartition ? { maxBytesPerPartition: o.maxBytesPerPartition, maxBytes: o.maxBytesPerPartition * 8 } : {}),
      ...(o.assigner ? { partitionAssigners: [o.assigner] } : {}),
    };
    const c = o.kafka.consumer(config);
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      this._joined = true;
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      o.onJoin(assignment);
      o.events.emit('consumer.joined', { component: o.component, memberId: e.payload.memberId, partitions: assignment });
    });
    c.on(c.events.REBALANCING, () => {
      this._joined = false;
      o.events.emit('consumer.rebalancing', { component: o.component });
    });
    c.on(c.events.CRASH, (e) => {
      this._joined = false;
      o.events.emit('consumer.crashed', { component: o.component, error: e.payload.error.message, restart: e.payload.restart });
      if (!e.payload.restart) this.restart(e.payload.error);
    });
    const onEnd = o.onBatchEnd;
    if (onEnd) c.on(c.events.END_BATCH_PROCESS, (e) => onEnd(e.payload.topic, e.payload.partition, Number(e.payload.lastOffset)));
    await c.connect();
    await c.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning });
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => o.eachBatch(p) });
  }

  /** Replaces the consumer with a fresh one (which resumes from the committed offsets). Safe to call from inside eachBatch. */
  restart(cause: unknown): void {
    if (this.stopped || this.restarting) return;
    this._joined = false;
    this.o.events.emit('error', { component: this.o.component, code: errorCode(cause), message: `restarting the consumer: ${(cause as Error)?.message ?? String(cause)}`, retriable: isRetriable(cause) });
    this.restarting = (async () => {
      await new Promise((r) => setTimeout(r, 0));
      await this.consumer?.disconnect().catch(() => undefined);
      this.o.onJoin({});
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          await this.start();
          return;
        } catch (e) {
          this.o.events.emit('error', { component: this.o.component, code: errorCode(e), message: (e as Error).message, retriable: isRetriable(e) });
          await this.consumer?.disconnect().catch(() => undefined);
          await new Promise((r) => setTimeout(r, Math.min(10_000, (this.o.restartDelayMs ?? 500) * 2 ** attempt)));
        }
      }
    })().finally(() => (this.restarting = undefined));
  }

  get isRestarting(): boolean {
    return this.restarting !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this._joined = false;
    await this.restarting?.catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** Splits messages into sends of at most `maxBytes` of values each (the broker limits one record batch to about 1 MB). */
export function chunkBySize<M extends { value: Buffer | null }>(messages: readonly M[], maxBytes = 512 * 1024): M[][] {
  const out: M[][] = [];
  let cur: M[] = [];
  let size = 0;
  for (const m of messages) {
    const n = (m.value?.length ?? 0) + 64;
    if (cur.length && size + n > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += n;
  }
  if (cur.length) out.push(cur);
  return out;
}
