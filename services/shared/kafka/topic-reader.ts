/**
 * The one supervised reader of a whole topic, for a process that must see every record of it (the
 * compacted model-updates topic, read by every scorer and drift monitor): a throwaway consumer group per
 * session, from the beginning, never committing.
 *
 * Sessions run under the shared client supervisor (supervisor.ts): when the consumer fails for good (a fatal
 * client error) the session is replaced with backoff, the new one reads the topic from the beginning again and records already delivered are
 * skipped, so `onMessage` sees each record once, in order per partition, across recoveries. While a
 * session is down `deadReason` says why (for /health); past the deadline `onGiveUp` fires (the service
 * exits non-zero).
 *
 * `start` returns once every record that existed when it was called was delivered; those records are
 * delivered with `initial: true`. `sync` waits for every record that exists when it is called.
 */
import { randomUUID } from 'node:crypto';
import { pollUntil } from '../retry.ts';
import type { KafkaClient } from './client.ts';
import type { GroupConsumer } from './consumer.ts';
import { ClientSupervisor, type SessionContext, type SupervisorOptions } from './supervisor.ts';

export interface TopicRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Existed when start() was called: part of the initial catch-up. */
  readonly initial: boolean;
}

export interface TopicReaderOptions {
  readonly kafka: KafkaClient;
  readonly topic: string;
  /** Each session's throwaway group is `<groupPrefix>-<uuid>` (ACLs grant the prefix). */
  readonly groupPrefix: string;
  /** For logs and liveness, e.g. "scorer model-updates". */
  readonly name: string;
  /** Not healthy again within this long after a failure: give up (KAFKA_RECOVERY_DEADLINE). */
  readonly deadlineMs: number;
  /** Awaited: the next record of the partition waits for it. */
  readonly onMessage: (r: TopicRecord) => Promise<void>;
  readonly hooks?: Pick<SupervisorOptions<unknown>, 'onRestart' | 'onRecovered' | 'onOpenFailed' | 'onGiveUp'>;
}

type EndOffsets = ReadonlyMap<number, { readonly low: bigint; readonly high: bigint }>;

/** Whether `delivered` (next offset per partition) has reached every non-empty partition's end. Pure. */
export function reachedEnds(ends: EndOffsets, delivered: ReadonlyMap<number, bigint>): boolean {
  for (const [partition, { low, high }] of ends) if (high > low && (delivered.get(partition) ?? low) < high) return false;
  return true;
}

export class TopicReader {
  private readonly supervisor: ClientSupervisor<GroupConsumer>;
  /** Next offset to deliver per partition, across sessions. */
  private readonly delivered = new Map<number, bigint>();
  private initialEnds: EndOffsets = new Map();
  private stopped = false;

  constructor(private readonly o: TopicReaderOptions) {
    this.supervisor = new ClientSupervisor<GroupConsumer>({
      name: o.name,
      open: (ctx) => this.open(ctx),
      close: (c) => c.disconnect().catch(() => undefined),
      deadlineMs: o.deadlineMs,
      maxBackoffMs: 10_000,
      ...o.hooks,
    });
  }

  /** Liveness: why the reader is not alive (its consumer is dead and being replaced, or it gave up). */
  get deadReason(): string | undefined {
    return this.stopped ? undefined : this.supervisor.deadReason;
  }

  /** Opens the first session and resolves once the records that exist now were delivered. */
  async start(catchUpTimeoutMs = 60_000): Promise<void> {
    this.initialEnds = await this.ends();
    await this.supervisor.start();
    if (!(await this.waitFor(this.initialEnds, catchUpTimeoutMs))) throw new Error(`${this.o.topic}: catch-up took over ${catchUpTimeoutMs} ms`);
  }

  /** Resolves true once every record that exists now was delivered; false after `timeoutMs`. */
  async sync(timeoutMs = 10_000): Promise<boolean> {
    return this.waitFor(await this.ends(), timeoutMs);
  }

  private async ends(): Promise<EndOffsets> {
    const admin = this.o.kafka.admin();
    try {
      const offsets = await admin.topicOffsets(this.o.topic);
      return new Map(offsets.map((e) => [e.partition, { low: BigInt(e.low), high: BigInt(e.high) }]));
    } finally {
      admin.disconnect();
    }
  }

  private async waitFor(ends: EndOffsets, timeoutMs: number): Promise<boolean> {
    await pollUntil(async () => this.stopped || reachedEnds(ends, this.delivered), timeoutMs, 50);
    return reachedEnds(ends, this.delivered);
  }

  private async open(ctx: SessionContext): Promise<GroupConsumer> {
    const c = this.o.kafka.consumer(
      { groupId: `${this.o.groupPrefix}-${randomUUID()}`, topics: [this.o.topic], fromBeginning: true, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, maxBatchMessages: 500 },
      { onAssigned: () => ctx.healthy(), onFatal: (e) => ctx.fail('consumer', e) },
    );
    try {
      await c.connect();
      c.run(async (batch) => {
        if (!ctx.current || this.stopped) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < (this.delivered.get(m.partition) ?? 0n)) continue; // delivered by an earlier session
          const initialEnd = this.initialEnds.get(m.partition)?.high ?? 0n;
          await this.o.onMessage({ partition: m.partition, offset, key: m.key, value: m.value, initial: offset < initialEnd });
          this.delivered.set(m.partition, offset + 1n);
        }
      });
    } catch (e) {
      await c.disconnect();
      throw e;
    }
    return c;
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.supervisor.stop();
  }
}
