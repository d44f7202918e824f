/** Connection settings shared by every service: brokers, TLS/SASL, schema registry, topic names. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { env, parseEnv } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { topicNamesFromEnv, type TopicNames } from './topics.ts';

export const connectionEnv = {
  KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  KAFKA_CLIENT_ID: env.string('credit-risk'),
  KAFKA_SSL: env.bool(false),
  KAFKA_SSL_CA_FILE: env.optionalString(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: env.optionalString(),
  KAFKA_SASL_PASSWORD: env.optionalString(),
  KAFKA_CONNECTION_TIMEOUT: env.duration('10s'),
  SCHEMA_REGISTRY_URL: env.string('http://127.0.0.1:18081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_USERNAME: env.optionalString(),
  SCHEMA_REGISTRY_PASSWORD: env.optionalString(),
};

export interface SaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface ConnectionConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: false | { readonly ca?: string };
  readonly sasl?: SaslConfig;
  readonly connectionTimeoutMs: number;
  readonly registry: { readonly url: string; readonly username?: string; readonly password?: string };
  readonly topics: TopicNames;
}

export function compileConnection(raw: z.infer<z.ZodObject<typeof connectionEnv>>, rawEnv: NodeJS.ProcessEnv): ConnectionConfig {
  let sasl: SaslConfig | undefined;
  if (raw.KAFKA_SASL_MECHANISM) {
    if (!raw.KAFKA_SASL_USERNAME || !raw.KAFKA_SASL_PASSWORD) {
      throw new ConfigError('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required when KAFKA_SASL_MECHANISM is set', [
        'KAFKA_SASL_USERNAME',
        'KAFKA_SASL_PASSWORD',
      ]);
    }
    sasl = { mechanism: raw.KAFKA_SASL_MECHANISM, username: raw.KAFKA_SASL_USERNAME, password: raw.KAFKA_SASL_PASSWORD };
  }
  let ca: string | undefined;
  if (raw.KAFKA_SSL_CA_FILE) {
    try {
      ca = readFileSync(raw.KAFKA_SSL_CA_FILE, 'utf8');
    } catch (e) {
      throw new ConfigError(`KAFKA_SSL_CA_FILE: cannot read ${raw.KAFKA_SSL_CA_FILE}: ${(e as Error).message}`, ['KAFKA_SSL_CA_FILE']);
    }
  }
  for (const b of raw.KAFKA_BROKERS) {
    if (!/^[^\s:]+:\d+$/.test(b)) throw new ConfigError(`KAFKA_BROKERS: "${b}" is not host:port`, ['KAFKA_BROKERS']);
  }
  try {
    new URL(raw.SCHEMA_REGISTRY_URL);
  } catch {
    throw new ConfigError(`SCHEMA_REGISTRY_URL: "${raw.SCHEMA_REGISTRY_URL}" is not a URL`, ['SCHEMA_REGISTRY_URL']);
  }
  return {
    brokers: raw.KAFKA_BROKERS,
    clientId: raw.KAFKA_CLIENT_ID,
    ssl: raw.KAFKA_SSL || ca ? (ca ? { ca } : {}) : false,
    ...(sasl ? { sasl } : {}),
    connectionTimeoutMs: raw.KAFKA_CONNECTION_TIMEOUT,
    registry: {
      url: raw.SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
      ...(raw.SCHEMA_REGISTRY_USERNAME ? { username: raw.SCHEMA_REGISTRY_USERNAME } : {}),
      ...(raw.SCHEMA_REGISTRY_PASSWORD ? { password: raw.SCHEMA_REGISTRY_PASSWORD } : {}),
    },
    topics: topicNamesFromEnv(rawEnv),
  };
}

export function connectionFromEnv(rawEnv: NodeJS.ProcessEnv = process.env): ConnectionConfig {
  return compileConnection(parseEnv(connectionEnv, rawEnv), rawEnv);
}
