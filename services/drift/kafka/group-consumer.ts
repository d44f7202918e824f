/**
 * One kafkajs consumer group member with the lifecycle the drift components share: start, restart from the
 * committed offsets after a failure (a fresh consumer: in-memory state must be rebuilt by the owner, which
 * `onJoin` tells it), and an idempotent stop. Built on the shared consumer factory and client supervisor
 * (services/shared/kafka/): restarts are counted, and a consumer not back within the recovery deadline
 * makes the service exit. Group events are forwarded as instrumentation events.
 */
import type { Consumer, EachBatchPayload, Kafka, PartitionAssigner } from 'kafkajs';
import { errorCode, isRetriable } from '../../shared/errors.ts';
import { createGroupConsumer } from '../../shared/kafka/legacy-consumer.ts';
import { ClientSupervisor, StaleSessionError, type SessionContext } from '../../shared/kafka/supervisor.ts';
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
  /** Exit-worthy if the consumer is not back within this long (KAFKA_RECOVERY_DEADLINE). */
  readonly recoveryDeadlineMs?: number;
}

export class GroupConsumer {
  private readonly supervisor: ClientSupervisor<Consumer>;
  private stopped = false;
  private _joined = false;

  constructor(private readonly o: GroupConsumerOptions) {
    this.supervisor = new ClientSupervisor<Consumer>({
      name: `drift-${o.component}`,
      open: (ctx) => this.open(ctx),
      close: async (c) => {
        this._joined = false;
        await c.disconnect().catch(() => undefined);
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
  get instance(): Consumer | undefined {
    return this.supervisor.current;
  }
  /** Liveness: why this component's consumer is not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.stopped ? undefined : this.supervisor.deadReason;
  }

  async start(): Promise<void> {
    await this.supervisor.start();
  }

  private async open(ctx: SessionContext): Promise<Consumer> {
    const o = this.o;
    const c = createGroupConsumer(
      o.kafka,
      {
        groupId: o.groupId,
        sessionTimeoutMs: o.sessionTimeoutMs,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        ...(o.maxBytesPerPartition ? { maxBytesPerPartition: o.maxBytesPerPartition, maxBytes: o.maxBytesPerPartition * 8 } : {}),
        ...(o.assigner ? { assigner: o.assigner } : {}),
      },
      {
        keepRunning: () => !this.stopped && ctx.current,
        onJoin: ({ memberId, assignment }) => {
          this._joined = true;
          ctx.healthy();
          o.onJoin(assignment);
          o.events.emit('consumer.joined', { component: o.component, memberId, partitions: assignment });
        },
        onRebalancing: () => {
          this._joined = false;
          o.events.emit('consumer.rebalancing', { component: o.component });
        },
        onCrash: ({ error, restart }) => {
          this._joined = false;
          o.events.emit('consumer.crashed', { component: o.component, error: error.message, restart });
        },
        onDead: (error) => ctx.fail('consumer', error),
      },
    );
    const onEnd = o.onBatchEnd;
    if (onEnd) c.on(c.events.END_BATCH_PROCESS, (e) => onEnd(e.payload.topic, e.payload.partition, Number(e.payload.lastOffset)));
    try {
      await c.connect();
      await c.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning });
      await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => (ctx.current ? o.eachBatch(p) : Promise.reject(new StaleSessionError(o.component))) });
    } catch (e) {
      await c.disconnect().catch(() => undefined);
      throw e;
    }
    return c;
  }

  /** Replaces the consumer with a fresh one (which resumes from the committed offsets). Safe to call from inside eachBatch. */
  restart(cause: unknown, client = 'consumer'): void {
    if (this.stopped) return;
    this._joined = false;
    this.o.events.emit('error', { component: this.o.component, code: errorCode(cause), message: `restarting the consumer: ${(cause as Error)?.message ?? String(cause)}`, retriable: isRetriable(cause) });
    // Let the failing eachBatch return before its consumer is disconnected.
    setTimeout(() => this.supervisor.fail(client, cause), 0);
  }

  get isRestarting(): boolean {
    return this.supervisor.state === 'recovering';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this._joined = false;
    await this.supervisor.stop();
  }
}
