/**
 * A replacement for kafkajs 2.2.4's producer/sendMessages that never sends an acknowledged batch again.
 *
 * The original keeps the responses of one send per broker object (`responsePerBroker`) and, on a retry
 * after a leader change, regroups every partition by its new leader and sends to each broker that has no
 * response yet. A partition whose batch was already acknowledged is sent again when its leader moved, or
 * when kafkajs replaced the broker object (a closed connection); its sequence number was advanced on the
 * first success, so the broker appends it as new records. In a transaction these duplicates commit with
 * the rest: measured on the 3-broker test (leader kill -9 and a rolling restart under load), 1,162 of
 * 23,015 decisions were written two or three times, with identical content. And a partition whose new
 * leader already answered for other partitions is not sent at all.
 *
 * Here the messages are grouped into partitions once, success is tracked per (topic, partition), and a
 * retry sends exactly the partitions not acknowledged yet, to their current leaders. A request that fails
 * reverts its sequence numbers (as the original does), so its batches are re-sent with the same sequence
 * and a broker that did append them deduplicates them (idempotent producer).
 *
 * Installed into the CommonJS module cache before kafkajs loads (kafkajs-patch.ts), for 2.2.4 only.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface Message {
  readonly key?: unknown;
  readonly value: unknown;
}
interface PartitionEntry {
  partition: number;
  messages: Message[];
  firstSequence?: number;
}
interface TopicData {
  topic: string;
  partitions: PartitionEntry[];
}
interface ResponsePartition {
  topicName: string;
  partition: number;
  [k: string]: unknown;
}
interface Broker {
  produce(args: Record<string, unknown>): Promise<unknown>;
}
export interface SendDeps {
  logger: { debug(m: string, x?: object): void; error(m: string, x?: object): void };
  cluster: {
    refreshMetadataIfNecessary(): Promise<void>;
    refreshMetadata(): Promise<void>;
    findTopicPartitionMetadata(topic: string): unknown[];
    findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
    findBroker(a: { nodeId: string }): Promise<Broker>;
    addMultipleTargetTopics(topics: string[]): Promise<void>;
    isConnected(): boolean;
    connect(): Promise<void>;
    removeBroker(a: { host: string; port: number }): void;
  };
  partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: Message }) => number;
  eosManager: {
    acquireBrokerLock(b: Broker): Promise<void>;
    releaseBrokerLock(b: Broker): Promise<void>;
    isTransactional(): boolean;
    addPartitionsToTransaction(t: TopicData[]): Promise<void>;
    getSequence(topic: string, partition: number): number;
    updateSequence(topic: string, partition: number, increment: number): void;
    getTransactionalId(): string;
    getProducerId(): unknown;
    getProducerEpoch(): number;
  };
  retrier: <T>(fn: (bail: (e: Error) => never, retryCount: number, retryTime: number) => Promise<T>) => Promise<T>;
}
export interface SendArgs {
  acks: number;
  timeout?: number;
  compression?: number;
  topicMessages: { topic: string; messages: Message[] }[];
}

type Grouper = (a: { topic: string; partitionMetadata: unknown[]; messages: Message[]; partitioner: SendDeps['partitioner'] }) => Record<number, Message[]>;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The factory kafkajs' messageProducer calls: `createSendMessages(deps)(args)`. */
export function createSendMessages({ logger, cluster, partitioner, eosManager, retrier }: SendDeps, group: Grouper = defaultGrouper()) {
  const { KafkaJSMetadataNotLoaded } = require('kafkajs/src/errors.js') as { KafkaJSMetadataNotLoaded: new (m: string) => Error };
  const { staleMetadata } = require('kafkajs/src/protocol/error.js') as { staleMetadata: (e: unknown) => boolean };
  const responseSerializer = require('kafkajs/src/producer/responseSerializer.js') as (r: unknown) => ResponsePartition[];

  return async ({ acks, timeout, compression, topicMessages }: SendArgs): Promise<ResponsePartition[]> => {
    /** Messages per partition, per topic: decided once, so a retry resends the same batches. */
    const grouped = new Map<string, Record<number, Message[]>>();
    /** Acknowledged (topic, partition) batches and their responses: never sent again. */
    const acked = new Map<string, ResponsePartition | null>();

    const requests = async (): Promise<Promise<void>[]> => {
      await cluster.refreshMetadataIfNecessary();
      const perLeader = new Map<string, TopicData[]>();
      for (const { topic, messages } of topicMessages) {
        if (!grouped.has(topic)) {
          const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
          if (partitionMetadata.length === 0) {
            logger.debug('Producing to topic without metadata', { topic });
            throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata');
          }
          grouped.set(topic, group({ topic, partitionMetadata, messages, partitioner }));
        }
        const perPartition = grouped.get(topic)!;
        const pending = Object.keys(perPartition)
          .map(Number)
          .filter((p) => !acked.has(partitionKey(topic, p)));
        if (pending.length === 0) continue;
        const byLeader = cluster.findLeaderForPartitions(topic, pending);
        for (const [nodeId, partitions] of Object.entries(byLeader)) {
          const list = perLeader.get(nodeId) ?? [];
          list.push({ topic, partitions: partitions.map((p) => ({ partition: Number(p), messages: perPartition[Number(p)]! })) });
          perLeader.set(nodeId, list);
        }
      }
      return [...perLeader].map(async ([nodeId, topicData]) => {
        const broker = await cluster.findBroker({ nodeId });
        await eosManager.acquireBrokerLock(broker);
        try {
          if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) {
              entry.firstSequence = eosManager.getSequence(topic, entry.partition);
              eosManager.updateSequence(topic, entry.partition, entry.messages.length);
            }
          }
          let response: unknown;
          try {
            response = await broker.produce({
              transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              timeout,
              compression,
              topicData,
            });
          } catch (e) {
            for (const { topic, partitions } of topicData) for (const entry of partitions) eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
            throw e;
          }
          if (acks === 0) {
            for (const { topic, partitions } of topicData) for (const entry of partitions) acked.set(partitionKey(topic, entry.partition), null);
          } else {
            for (const r of responseSerializer(response)) acked.set(partitionKey(r.topicName, r.partition), r);
          }
        } finally {
          await eosManager.releaseBrokerLock(broker);
        }
      });
    };

    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        // allSettled: a failed request must not leave a sibling request running into the next attempt.
        const results = await Promise.allSettled(await requests());
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        return [...acked.values()].filter((r): r is ResponsePartition => r !== null);
      } catch (err) {
        const e = err as Error & { host?: string; port?: number; retriable?: boolean };
        if (e.name === 'KafkaJSConnectionClosedError') cluster.removeBroker({ host: e.host!, port: e.port! });
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, { retryCount, retryTime });
          await cluster.connect();
          await cluster.refreshMetadata();
          throw e;
        }
        if (staleMetadata(e) || e.name === 'KafkaJSMetadataNotLoaded' || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError' || (e.name === 'KafkaJSProtocolError' && e.retriable)) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime });
          await cluster.refreshMetadata();
          throw e;
        }
        logger.error(`${e.message}`, { retryCount, retryTime });
        if (e.retriable) throw e;
        return bail(e);
      }
    });
  };
}

function defaultGrouper(): Grouper {
  return require('kafkajs/src/producer/groupMessagesPerPartition.js') as Grouper;
}
