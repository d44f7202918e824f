import { describe, expect, it } from 'vitest';
import { contenderKafkaEnv, DEFAULT_SECURE_PORT_BASE, securePortBase } from './secure.ts';

describe('the --secure broker settings', () => {
  it('BENCH_SECURE_PORT_BASE: default, a port, or a clear error', () => {
    expect(securePortBase({})).toBe(DEFAULT_SECURE_PORT_BASE);
    expect(securePortBase({ BENCH_SECURE_PORT_BASE: '' })).toBe(DEFAULT_SECURE_PORT_BASE);
    expect(securePortBase({ BENCH_SECURE_PORT_BASE: '39050' })).toBe(39050);
    expect(() => securePortBase({ BENCH_SECURE_PORT_BASE: '65534' })).toThrow(/BENCH_SECURE_PORT_BASE must be a TCP port/);
    expect(() => securePortBase({ BENCH_SECURE_PORT_BASE: 'x' })).toThrow(/got "x"/);
  });

  it("a contender gets its principal's Kafka variables and keeps the bench's registry settings", () => {
    const env = contenderKafkaEnv({
      KAFKA_BROKERS: '127.0.0.1:39050',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: '/ca.crt',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'scorer',
      KAFKA_SASL_PASSWORD: 'pw',
      SCHEMA_REGISTRY_URL: 'https://127.0.0.1:18081/apis/ccompat/v7',
      SCHEMA_REGISTRY_CA_FILE: '/ca.crt',
    });
    expect(Object.keys(env).sort()).toEqual(['KAFKA_BROKERS', 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME', 'KAFKA_SSL', 'KAFKA_SSL_CA_FILE']);
  });
});
