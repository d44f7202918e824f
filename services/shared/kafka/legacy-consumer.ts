/**
 * The one consumer factory: the consumer-group settings every service uses (read_committed, no topic
 * auto-creation, a rebalance timeout of at least a minute), and the group events mapped to plain
 * callbacks. A crash kafkajs does not restart itself (restart:false) is reported as `onDead`, for the
 * client supervisor (supervisor.ts) to replace the consumer.
 */
import type { Consumer, ConsumerConfig, Kafka, PartitionAssigner } from 'kafkajs';

export interface GroupConsumerSettings {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition?: number;
  /** Defaults to kafkajs' 10 MiB; the drift monitor bounds it to 8 × maxBytesPerPartition. */
  readonly maxBytes?: number;
  readonly assigner?: PartitionAssigner;
}

export interface GroupConsumerHooks {
  readonly onJoin?: (e: { memberId: string; assignment: Record<string, number[]> }) => void;
  readonly onRebalancing?: () => void;
  readonly onCrash?: (e: { error: Error; restart: boolean }) => void;
  /** A crash kafkajs gave up on: the consumer is stopped for good and must be replaced. */
  readonly onDead?: (error: Error) => void;
  /** While this says true, kafkajs restarts itself after retriable crashes. */
  readonly keepRunning?: () => boolean;
}

export function consumerConfig(s: GroupConsumerSettings, keepRunning: () => boolean = () => true): ConsumerConfig {
  return {
    groupId: s.groupId,
    sessionTimeout: s.sessionTimeoutMs,
    heartbeatInterval: s.heartbeatIntervalMs,
    rebalanceTimeout: Math.max(60_000, s.sessionTimeoutMs * 2),
    readUncommitted: false,
    allowAutoTopicCreation: false,
    ...(s.maxBytesPerPartition ? { maxBytesPerPartition: s.maxBytesPerPartition } : {}),
    ...(s.maxBytes ? { maxBytes: s.maxBytes } : {}),
    ...(s.assigner ? { partitionAssigners: [s.assigner] } : {}),
    // kafkajs consults restartOnFailure only for retriable crashes; the others end in onDead.
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 30_000, restartOnFailure: async () => keepRunning() },
  };
}

export function createGroupConsumer(kafka: Kafka, s: GroupConsumerSettings, hooks: GroupConsumerHooks = {}): Consumer {
  const c = kafka.consumer(consumerConfig(s, hooks.keepRunning));
  c.on(c.events.GROUP_JOIN, (e) => hooks.onJoin?.({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment as Record<string, number[]> }));
  c.on(c.events.REBALANCING, () => hooks.onRebalancing?.());
  c.on(c.events.CRASH, (e) => {
    hooks.onCrash?.({ error: e.payload.error, restart: e.payload.restart });
    if (!e.payload.restart) hooks.onDead?.(e.payload.error);
  });
  return c;
}
