/**
 * The one module that imports the Kafka client package: @confluentinc/kafka-javascript, Confluent's Node
 * binding of librdkafka (lint: no-restricted-imports outside services/shared/kafka). Everything else in the
 * project uses the adapter's own types (consumer.ts, producers.ts, admin.ts).
 *
 * The binding's native (node-rdkafka style) API is used, not its KafkaJS-compatible layer: that layer drops
 * the metadata of transactional offsets (the drift monitor keeps its window checkpoints there) and cannot
 * report group events; the native API passes both through and moves fewer objects per record.
 *
 * This module turns a ConnectionConfig into librdkafka properties (TLS, SASL, client id, timeouts) and
 * librdkafka's log and error events into the services' logger levels.
 */
import rdkafka from '@confluentinc/kafka-javascript';
import type { GlobalConfig, LibrdKafkaError } from '@confluentinc/kafka-javascript';
import type { ConnectionConfig } from './connection.ts';

export const { KafkaConsumer, Producer, AdminClient, CODES } = rdkafka;
export type NativeConsumer = InstanceType<typeof KafkaConsumer>;
export type NativeProducer = InstanceType<typeof Producer>;
export type NativeAdmin = ReturnType<typeof AdminClient.create>;
export type { LibrdKafkaError, Message as NativeMessage, TopicPartition as NativeTopicPartition, TopicPartitionOffsetAndMetadata as NativeOffset } from '@confluentinc/kafka-javascript';

export const LIBRDKAFKA_VERSION: string = rdkafka.librdkafkaVersion;

/**
 * The binding runs its blocking calls (each consumer's poll, every transaction step, admin requests) on
 * Node's libuv thread pool. A service has several consumers polling at once (the drift monitor four, the
 * scorer two) plus transactions and admin calls; with Node's default of 4 threads they queued behind each
 * other until a commit or a join timed out: the secured test's scorer never finished starting, a drift
 * instance stopped counting, and a benchmark's scorer sat silent after creating its topics without ever
 * joining its group (2026-12-07). The pool is sized when the process starts, so UV_THREADPOOL_SIZE is set
 * by whatever launches a service (Makefile, Dockerfile, Helm chart), and a service refuses to start below
 * this instead of hanging at random.
 */
export const MIN_THREADPOOL_SIZE = 8;

/** Why the libuv thread pool is too small for the Kafka client (undefined when it is not). */
export function threadpoolProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.UV_THREADPOOL_SIZE;
  const size = raw === undefined || raw === '' ? 4 : Number(raw);
  if (Number.isInteger(size) && size >= MIN_THREADPOOL_SIZE) return undefined;
  return `UV_THREADPOOL_SIZE is ${raw ? JSON.stringify(raw) : 'unset (4)'}: the Kafka client's blocking calls run on these threads and fewer than ${MIN_THREADPOOL_SIZE} can stall a start-up or a commit for good; set UV_THREADPOOL_SIZE=16 where the service is launched (it is read once, when the process starts)`;
}

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type KafkaLog = (level: KafkaLogLevel, msg: string, extra: Record<string, unknown>) => void;

/**
 * librdkafka's error code names by number (ERR_ILLEGAL_GENERATION, ERR__TRANSPORT, ...). A few codes have a
 * current and an older alias (16: NOT_COORDINATOR and NOT_COORDINATOR_FOR_GROUP); the first, current one wins.
 */
const CODE_NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(CODES.ERRORS as Record<string, number>)) if (!CODE_NAMES.has(code)) CODE_NAMES.set(code, name);

/** The stable name of a librdkafka error code, without the ERR_ prefix (a metric label): ILLEGAL_GENERATION, _TRANSPORT. */
export function codeName(code: number | undefined): string {
  if (code === undefined) return 'UNKNOWN';
  return (CODE_NAMES.get(code) ?? `CODE_${code}`).replace(/^ERR_/, '');
}

export const ERR = {
  ASSIGN_PARTITIONS: CODES.ERRORS.ERR__ASSIGN_PARTITIONS as number,
  REVOKE_PARTITIONS: CODES.ERRORS.ERR__REVOKE_PARTITIONS as number,
  QUEUE_FULL: CODES.ERRORS.ERR__QUEUE_FULL as number,
  PARTITION_EOF: CODES.ERRORS.ERR__PARTITION_EOF as number,
  TIMED_OUT: CODES.ERRORS.ERR__TIMED_OUT as number,
  UNKNOWN_TOPIC_OR_PART: CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART as number,
  TOPIC_ALREADY_EXISTS: CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS as number,
} as const;

/**
 * librdkafka properties every client of the services shares: bootstrap servers, client id, TLS and SASL
 * from the connection variables, and librdkafka's logs as events.
 */
export function baseConfig(conn: ConnectionConfig, clientId: string): GlobalConfig {
  const c: Record<string, string | number | boolean> = {
    'bootstrap.servers': conn.brokers.join(','),
    'client.id': clientId,
    // librdkafka's socket.connection.setup.timeout.ms covers TCP + TLS + SASL of one connection.
    'socket.connection.setup.timeout.ms': Math.max(1000, conn.connectionTimeoutMs),
    'reconnect.backoff.ms': 100,
    'reconnect.backoff.max.ms': 5000,
    'event_cb': true,
    'log.connection.close': false,
  };
  const tls = conn.ssl !== false;
  c['security.protocol'] = conn.sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : tls ? 'ssl' : 'plaintext';
  if (conn.ssl) {
    if (conn.ssl.ca) c['ssl.ca.pem'] = conn.ssl.ca;
    if (conn.ssl.cert) c['ssl.certificate.pem'] = conn.ssl.cert;
    if (conn.ssl.key) c['ssl.key.pem'] = conn.ssl.key;
    if (conn.ssl.passphrase) c['ssl.key.password'] = conn.ssl.passphrase;
  }
  if (conn.sasl) {
    c['sasl.mechanisms'] = conn.sasl.mechanism.toUpperCase();
    c['sasl.username'] = conn.sasl.username;
    c['sasl.password'] = conn.sasl.password;
  }
  return c as GlobalConfig;
}

/** syslog severities librdkafka logs with -> the services' levels. */
function levelOf(severity: number): KafkaLogLevel {
  return severity <= 3 ? 'error' : severity === 4 ? 'warn' : severity <= 6 ? 'info' : 'debug';
}

/**
 * Routes a client's log and error events to `log`. A broker that is down is a state the client rides out
 * (librdkafka reconnects by itself): connection failures are warnings; only fatal errors are errors.
 */
export function attachLog(client: { on(event: string, listener: (...args: never[]) => void): unknown }, name: string, log?: KafkaLog): void {
  client.on('event.log', ((e: { severity: number; fac: string; message: string }) => {
    const level = levelOf(e.severity);
    log?.(level === 'error' ? 'warn' : level, `librdkafka ${name} ${e.fac}: ${e.message}`, {});
  }) as never);
  client.on('event.error', ((e: LibrdKafkaError) => {
    log?.(e.isFatal ? 'error' : 'warn', `librdkafka ${name}: ${e.message}`, { code: codeName(e.code), fatal: Boolean(e.isFatal) });
  }) as never);
}

/** A callback-style call of the binding as a promise. */
export function call<T = void>(fn: (cb: (err: LibrdKafkaError | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}
