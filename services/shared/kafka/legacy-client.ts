/**
 * The Kafka adapter: the only module that constructs kafkajs clients. kafkajs is no longer actively
 * maintained; keeping construction here lets a librdkafka-based client replace it behind the same seams.
 */
import { createRequire } from 'node:module';
import type { KafkaConfig, LogEntry, Producer, ProducerConfig } from 'kafkajs';
import { Kafka, logLevel, Partitioners } from './kafkajs.ts';
import type { ConnectionConfig } from './connection.ts';

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type KafkaLog = (level: KafkaLogLevel, msg: string, extra: Record<string, unknown>) => void;

/**
 * Retry settings for idempotent (and transactional) producers: such a producer must not give up on a send
 * it may already have written, so retries are unbounded (kafkajs warns when they are limited).
 */
export function idempotentRetry(initialRetryTime: number): { retries: number; initialRetryTime: number; maxRetryTime: number } {
  return { retries: Number.MAX_SAFE_INTEGER, initialRetryTime, maxRetryTime: 10_000 };
}

const require = createRequire(import.meta.url);
const { errorCodes } = require('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; message: string }[] };
const messageOf = (type: string) => errorCodes.find((e) => e.type === type)?.message ?? type;

/** Broker answers that are normal operation, retried by kafkajs: debug, not error. */
const ROUTINE = new Set(
  [
    'CONCURRENT_TRANSACTIONS',
    'UNSTABLE_OFFSET_COMMIT',
    'REBALANCE_IN_PROGRESS',
    'GROUP_LOAD_IN_PROGRESS',
    'NOT_COORDINATOR_FOR_GROUP',
    'GROUP_COORDINATOR_NOT_AVAILABLE',
    'LEADER_NOT_AVAILABLE',
    'NOT_LEADER_FOR_PARTITION',
  ].map(messageOf),
);
/** Answers that mean this instance lost its partitions (the services handle and log them): warn. */
const FENCED = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'].map(messageOf));

/**
 * The level a kafkajs log line is logged at. Error level means something is wrong: broker answers that are
 * routine retries are debug; kafkajs' own crash and restart lines are warnings (the client supervisor takes
 * over and logs at error/fatal only if it cannot recover).
 */
export function kafkajsLogLevel(level: KafkaLogLevel, message: string, extra: Record<string, unknown>): KafkaLogLevel {
  if (level !== 'error') return level;
  // kafkajs puts the broker's answer in `error` (connection lines) or after a prefix in the message (producer lines).
  const err = typeof extra.error === 'string' ? extra.error : message.replace(/^Failed to send messages: /, '');
  if (ROUTINE.has(err)) return 'debug';
  if (FENCED.has(err)) return 'warn';
  if (/^(Crash: |Restarting the consumer)/.test(message)) return 'warn';
  return level;
}

/** kafkajs 2 warns at every start that its default partitioner changed unless one is chosen: choose it. */
class ExplicitPartitionerKafka extends Kafka {
  override producer(config: ProducerConfig = {}): Producer {
    return super.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config });
  }
}

export function createKafkaJs(conn: ConnectionConfig, clientIdSuffix: string, log?: KafkaLog): Kafka {
  const config: KafkaConfig = {
    clientId: `${conn.clientId}-${clientIdSuffix}`,
    brokers: [...conn.brokers],
    connectionTimeout: conn.connectionTimeoutMs,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (!log) return;
      const { message, timestamp: _ts, logger: _logger, ...extra } = entry.log as { message: string; timestamp?: string; logger?: string } & Record<string, unknown>;
      const level = entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : entry.level === logLevel.INFO ? 'info' : 'debug';
      log(kafkajsLogLevel(level, message, extra), `kafkajs ${entry.namespace}: ${message}`, extra);
    },
  };
  if (conn.ssl) config.ssl = Object.keys(conn.ssl).length ? { ...conn.ssl } : true;
  if (conn.sasl) config.sasl = { ...conn.sasl } as KafkaConfig['sasl'];
  return new ExplicitPartitionerKafka(config);
}
