/**
 * The Kafka adapter: the only module that constructs kafkajs clients. kafkajs is no longer actively
 * maintained; keeping construction here lets a librdkafka-based client replace it behind the same seams.
 */
// Must stay the first import: it replaces a kafkajs internal before kafkajs is loaded.
import './kafkajs-patch.ts';
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { ConnectionConfig } from './connection.ts';

export type KafkaLog = (level: 'error' | 'warn' | 'info' | 'debug', msg: string, extra: Record<string, unknown>) => void;

/**
 * Retry settings for idempotent (and transactional) producers: such a producer must not give up on a send
 * it may already have written, so retries are unbounded (kafkajs warns when they are limited).
 */
export function idempotentRetry(initialRetryTime: number): { retries: number; initialRetryTime: number; maxRetryTime: number } {
  return { retries: Number.MAX_SAFE_INTEGER, initialRetryTime, maxRetryTime: 10_000 };
}

export function createKafka(conn: ConnectionConfig, clientIdSuffix: string, log?: KafkaLog): Kafka {
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
      log(level, `kafkajs ${entry.namespace}: ${message}`, extra);
    },
  };
  if (conn.ssl) config.ssl = Object.keys(conn.ssl).length ? { ...conn.ssl } : true;
  if (conn.sasl) config.sasl = { ...conn.sasl } as KafkaConfig['sasl'];
  return new Kafka(config);
}
