/**
 * The Kafka adapter's entry point: one client per service (connection settings + client id + logger)
 * making the consumer-group members, producers and admins the services use. Every Kafka call of the
 * project goes through what this creates (librdkafka, via native.ts).
 */
import { KafkaAdmin } from './admin.ts';
import type { ConnectionConfig } from './connection.ts';
import { GroupConsumer, type GroupConsumerHooks, type GroupConsumerSettings } from './consumer.ts';
import type { KafkaLog } from './native.ts';
import { IdempotentProducer, TransactionalProducer, type ProducerSettings } from './producers.ts';

export type { KafkaLog, KafkaLogLevel } from './native.ts';

export class KafkaClient {
  constructor(
    readonly conn: ConnectionConfig,
    readonly clientId: string,
    private readonly log?: KafkaLog,
  ) {}

  consumer(settings: GroupConsumerSettings, hooks: GroupConsumerHooks = {}): GroupConsumer {
    return new GroupConsumer(this.conn, this.clientId, settings, hooks, this.log);
  }

  producer(settings: ProducerSettings = {}): IdempotentProducer {
    return new IdempotentProducer(this.conn, this.clientId, settings, this.log);
  }

  transactionalProducer(transactionalId: string, settings: ProducerSettings = {}): TransactionalProducer {
    return new TransactionalProducer(this.conn, this.clientId, transactionalId, settings, this.log);
  }

  admin(): KafkaAdmin {
    return new KafkaAdmin(this.conn, this.clientId, this.log);
  }
}

/** A client whose id is `<KAFKA_CLIENT_ID>-<suffix>` (one per service role: scorer, drift, bench...). */
export function createKafka(conn: ConnectionConfig, clientIdSuffix: string, log?: KafkaLog): KafkaClient {
  return new KafkaClient(conn, `${conn.clientId}-${clientIdSuffix}`, log);
}
