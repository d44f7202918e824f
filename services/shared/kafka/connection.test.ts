import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { connectionFromEnv } from './connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'conn-'));
const cert = join(dir, 'c.crt');
const key = join(dir, 'c.key');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n');

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    connectionFromEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('TLS and SASL settings', () => {
  it('a client certificate and key make an mTLS connection (TLS implied)', () => {
    const c = connectionFromEnv({ KAFKA_SSL_CA_FILE: cert, KAFKA_SSL_CERT_FILE: cert, KAFKA_SSL_KEY_FILE: key });
    expect(c.ssl && c.ssl.cert).toContain('BEGIN CERTIFICATE');
    expect(c.ssl && c.ssl.key).toContain('PRIVATE KEY');
  });

  it('names the variable of a missing file, a certificate without its key, and a file that is not PEM; never the contents', () => {
    expect(configError({ KAFKA_SSL_CERT_FILE: '/nonexistent.crt', KAFKA_SSL_KEY_FILE: key }).variables).toEqual(['KAFKA_SSL_CERT_FILE']);
    expect(configError({ KAFKA_SSL_CERT_FILE: cert }).variables).toEqual(['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
    const notPem = configError({ KAFKA_SSL_CA_FILE: key });
    expect(notPem.variables).toEqual(['KAFKA_SSL_CA_FILE']);
    expect(notPem.message).not.toContain('secret-key-material');
    expect(configError({ SCHEMA_REGISTRY_CA_FILE: '/nonexistent.pem' }).variables).toEqual(['SCHEMA_REGISTRY_CA_FILE']);
  });

  it('a SASL mechanism needs a user and a password, and the error does not echo the password', () => {
    const e = configError({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'hunter2-secret' });
    expect(e.variables).toContain('KAFKA_SASL_USERNAME');
    expect(e.message).not.toContain('hunter2-secret');
  });
});
