/** Connection settings shared by every service: brokers, TLS/SASL, schema registry, topic names. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { env, parseEnv } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { topicNamesFromEnv, type TopicNames } from './topic-catalog.ts';

export const connectionEnv = {
  KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  KAFKA_CLIENT_ID: env.string('credit-risk'),
  KAFKA_SSL: env.bool(false),
  KAFKA_SSL_CA_FILE: env.optionalString(),
  KAFKA_SSL_CERT_FILE: env.optionalString(),
  KAFKA_SSL_KEY_FILE: env.optionalString(),
  KAFKA_SSL_KEY_PASSWORD: env.optionalString(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: env.optionalString(),
  KAFKA_SASL_PASSWORD: env.optionalString(),
  KAFKA_CONNECTION_TIMEOUT: env.duration('10s'),
  SCHEMA_REGISTRY_URL: env.string('http://127.0.0.1:18081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_USERNAME: env.optionalString(),
  SCHEMA_REGISTRY_PASSWORD: env.optionalString(),
  SCHEMA_REGISTRY_CA_FILE: env.optionalString(),
};

export interface SaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** TLS to the brokers: the CA to trust (else the system's), and a client certificate + key for mTLS. */
export interface TlsConfig {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
}

/** Reads a PEM file named by `variable`; a missing or unreadable file is a ConfigError naming the variable (never the contents). */
function readPem(variable: string, path: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [variable]);
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) throw new ConfigError(`${variable}: ${path} is not a PEM ${kind.toLowerCase()} file`, [variable]);
  return text;
}

export interface ConnectionConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: false | TlsConfig;
  readonly sasl?: SaslConfig;
  readonly connectionTimeoutMs: number;
  readonly registry: { readonly url: string; readonly username?: string; readonly password?: string; readonly ca?: string };
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
  if (Boolean(raw.KAFKA_SSL_CERT_FILE) !== Boolean(raw.KAFKA_SSL_KEY_FILE)) {
    throw new ConfigError('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate needs its private key)', ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
  }
  const ca = raw.KAFKA_SSL_CA_FILE ? readPem('KAFKA_SSL_CA_FILE', raw.KAFKA_SSL_CA_FILE, 'CERTIFICATE') : undefined;
  const cert = raw.KAFKA_SSL_CERT_FILE ? readPem('KAFKA_SSL_CERT_FILE', raw.KAFKA_SSL_CERT_FILE, 'CERTIFICATE') : undefined;
  const key = raw.KAFKA_SSL_KEY_FILE ? readPem('KAFKA_SSL_KEY_FILE', raw.KAFKA_SSL_KEY_FILE, 'PRIVATE KEY') : undefined;
  const registryCa = raw.SCHEMA_REGISTRY_CA_FILE ? readPem('SCHEMA_REGISTRY_CA_FILE', raw.SCHEMA_REGISTRY_CA_FILE, 'CERTIFICATE') : undefined;
  const tls = raw.KAFKA_SSL || ca || cert;
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
    ssl: tls ? { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), ...(raw.KAFKA_SSL_KEY_PASSWORD ? { passphrase: raw.KAFKA_SSL_KEY_PASSWORD } : {}) } : false,
    ...(sasl ? { sasl } : {}),
    connectionTimeoutMs: raw.KAFKA_CONNECTION_TIMEOUT,
    registry: {
      url: raw.SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
      ...(raw.SCHEMA_REGISTRY_USERNAME ? { username: raw.SCHEMA_REGISTRY_USERNAME } : {}),
      ...(raw.SCHEMA_REGISTRY_PASSWORD ? { password: raw.SCHEMA_REGISTRY_PASSWORD } : {}),
      ...(registryCa ? { ca: registryCa } : {}),
    },
    topics: topicNamesFromEnv(rawEnv),
  };
}

export function connectionFromEnv(rawEnv: NodeJS.ProcessEnv = process.env): ConnectionConfig {
  return compileConnection(parseEnv(connectionEnv, rawEnv), rawEnv);
}
