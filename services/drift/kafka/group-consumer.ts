/**
 * One consumer group member with the lifecycle the drift components share: start, replace the session after
 * a failure (a fresh member resumes from the committed offsets: in-memory state must be rebuilt by the
 * owner, which `onJoin` tells it), and an idempotent stop. Built on the Kafka adapter's group consumer
 * (services/shared/kafka/consumer.ts) and the shared client supervisor: replacements are counted, and a
 * member not back within the recovery deadline (KAFKA_RECOVERY_DEADLINE) makes the service exit. Group
 * events are forwarded as instrumentation events.
 *
 * Rebalances are eager with librdkafka's `range` assignor: partition p of topics with equal partition counts
 * goes to the same member (the instance's join of scoring-log and loan-outcomes relies on it; copartition.ts
 * checks every assignment). Every assignment and every revocation is a new generation for the owner
 * (`onJoin`, with `{}` on a revocation): a batch or a commit of the previous one is refused (fences).
 */
import { errorCode, isRetriable } from '../../shared/errors.ts';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import type { ConsumerBatch, GroupConsumer as AdapterConsumer, TopicPartition } from '../../shared/kafka/consumer.ts';
import { ClientSupervisor, type SessionContext } from '../../shared/kafka/supervisor.ts';
import type { DriftComponent, DriftInstrumentation } from '../events.ts';

export type { AdapterConsumer };

export interface GroupConsumerOptions {
  readonly kafka: KafkaClient;
  readonly component: DriftComponent;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition?: number;
  /** Records per batch (across the assigned partitions). */
  readonly maxBatchMessages?: number;
  readonly events: DriftInstrumentation;
  /** Called on every assignment (and with `{}` on every revocation); owners drop state of the previous generation here. */
  readonly onJoin: (assignment: Record<string, number[]>) => void;
  /** One batch of records across the assigned partitions, with the consumer that fetched it (for its commit). */
  readonly eachBatch: (batch: ConsumerBatch, consumer: AdapterConsumer) => Promise<void>;
  readonly restartDelayMs?: number;
  /** Exit-worthy if the consumer is not back within this long (KAFKA_RECOVERY_DEADLINE). */
  readonly recoveryDeadlineMs?: number;
}

/** Default records per batch: large enough to amortize a transaction, small enough to keep batches short. */
export const DRIFT_BATCH_MESSAGES = 5000;

export function assignmentRecord(parts: readonly TopicPartition[]): Record<string, number[]> {
  const a: Record<string, number[]> = {};
  for (const p of parts) (a[p.topic] ??= []).push(p.partition);
  for (const list of Object.values(a)) list.sort((x, y) => x - y);
  return a;
}

export class GroupConsumer {
  private readonly supervisor: ClientSupervisor<AdapterConsumer>;
  private stopped = false;
  private _joined = false;
  /** Assignments seen (a rebalance the owner waits for after a fenced commit shows here). */
  private joins = 0;
  private rebalanceWait?: NodeJS.Timeout;

  constructor(private readonly o: GroupConsumerOptions) {
    this.supervisor = new ClientSupervisor<AdapterConsumer>({
      name: `drift-${o.component}`,
      open: (ctx) => this.open(ctx),
      close: async (c) => {
        this._joined = false;
        await c.disconnect();
        // In-memory state of the lost generation must go: the owner rebuilds it from the committed checkpoints.
        if (!this.stopped) this.o.onJoin({});
      },
      deadlineMs: o.recoveryDeadlineMs ?? 5 * 60_000,
      initialBackoffMs: o.restartDelayMs ?? 500,
      maxBackoffMs: 10_000,
      onRestart: (e) => o.events.emit('kafka.client.restart', { component: o.component, ...e }),
      onRecovered: (e) => o.events.emit('kafka.client.recovered', { component: o.component, ...e }),
      onOpenFailed: (e) => o.events.emit('error', { component: o.component, code: 'KAFKA_UNAVAILABLE', message: `reopening the consumer failed: ${e.error}`, retriable: true }),
      onGiveUp: (e) => o.events.emit('kafka.client.gave-up', { component: o.component, ...e }),
    });
  }

  get joined(): boolean {
    return this._joined && !this.isRestarting && !this.stopped;
  }
  /** The current member (undefined while it is being replaced). */
  get instance(): AdapterConsumer | undefined {
    return this.supervisor.current;
  }
  /** Liveness: why this component's consumer is not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.stopped ? undefined : this.supervisor.deadReason;
  }

  async start(): Promise<void> {
    await this.supervisor.start();
  }

  private async open(ctx: SessionContext): Promise<AdapterConsumer> {
    const o = this.o;
    const bytes = o.maxBytesPerPartition;
    const c = o.kafka.consumer(
      {
        groupId: o.groupId,
        topics: [...o.topics],
        fromBeginning: o.fromBeginning,
        sessionTimeoutMs: o.sessionTimeoutMs,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        maxBatchMessages: o.maxBatchMessages ?? DRIFT_BATCH_MESSAGES,
        // Small fetches also mean a small prefetch queue (like kafkajs's maxBytes = 8 partitions' worth).
        ...(bytes ? { maxBytesPerPartition: bytes, queuedMaxKBytes: Math.max(64, Math.ceil((bytes * 8) / 1024)) } : {}),
      },
      {
        onAssigned: (parts) => {
          if (!ctx.current || this.stopped) return;
          this._joined = true;
          this.joins++;
          ctx.healthy();
          const assignment = assignmentRecord(parts);
          o.onJoin(assignment);
          o.events.emit('consumer.joined', { component: o.component, memberId: o.kafka.clientId, partitions: assignment });
        },
        onRevoked: () => {
          if (!ctx.current || this.stopped) return;
          this._joined = false;
          o.onJoin({});
          o.events.emit('consumer.rebalancing', { component: o.component });
        },
        onFatal: (error) => {
          if (!ctx.current) return;
          this._joined = false;
          o.events.emit('consumer.crashed', { component: o.component, error: error.message, restart: false });
          ctx.fail('consumer', error);
        },
        onBatchFailed: (error) => {
          o.events.emit('error', { component: o.component, code: errorCode(error), message: `batch failed, read again: ${(error as Error)?.message ?? String(error)}`, retriable: true });
        },
      },
    );
    try {
      await c.connect();
      c.run((batch) => (ctx.current && !this.stopped ? o.eachBatch(batch, c) : Promise.resolve()));
    } catch (e) {
      await c.disconnect();
      throw e;
    }
    return c;
  }

  /** Replaces the member with a fresh one (which resumes from the committed offsets). Safe to call from inside eachBatch. */
  restart(cause: unknown, client = 'consumer'): void {
    if (this.stopped) return;
    this._joined = false;
    this.clearRebalanceWait();
    this.o.events.emit('error', { component: this.o.component, code: errorCode(cause), message: `restarting the consumer: ${(cause as Error)?.message ?? String(cause)}`, retriable: isRetriable(cause) });
    // Synchronous: the session is marked stale at once (its batches are no longer handed out); closing it
    // waits for the running batch, which only has to return.
    this.supervisor.fail(client, cause);
  }

  /**
   * A commit was refused because this member no longer owns what it fetched (KIP-447): the group is
   * rebalancing, and the owner's next `onJoin` rebuilds its state from the committed checkpoints. If no
   * assignment follows within `graceMs`, the member is replaced (which re-reads from the committed offsets).
   */
  expectRebalance(cause: unknown, graceMs = this.o.sessionTimeoutMs + 10_000): void {
    if (this.stopped || this.rebalanceWait) return;
    const joins = this.joins;
    this.rebalanceWait = setTimeout(() => {
      this.rebalanceWait = undefined;
      if (this.joins === joins && !this.stopped && !this.isRestarting) this.restart(cause);
    }, graceMs);
    this.rebalanceWait.unref();
  }

  private clearRebalanceWait(): void {
    if (this.rebalanceWait) clearTimeout(this.rebalanceWait);
    this.rebalanceWait = undefined;
  }

  get isRestarting(): boolean {
    return this.supervisor.state === 'recovering';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this._joined = false;
    this.clearRebalanceWait();
    await this.supervisor.stop();
  }
}
