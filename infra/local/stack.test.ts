import { describe, expect, it } from 'vitest';
import { defaultStackOptions, endpointsOf, secureBrokerOptions, stackEnvFile, stackEnvText, stacksToStop } from './stack.ts';

describe('secureBrokerOptions (the security tests\' and the bench\'s secured broker)', () => {
  it('puts SASL_SSL on the base port, the controller on +1 and mTLS on +2, broker only, in its own folder', () => {
    const o = secureBrokerOptions('/tmp/x/stack', 39050);
    expect(o).toMatchObject({ dir: '/tmp/x/stack', brokers: 1, kafkaPort: 39050, controllerPort: 39051, brokerOnly: true, security: { mode: 'sasl_ssl', mtlsPort: 39052, registryHttps: false } });
    expect(endpointsOf(o).brokers).toBe('127.0.0.1:39050');
  });

  it("ignores the caller's stack variables (a 3-broker or secured main stack does not change it)", () => {
    const before = { ...process.env };
    try {
      process.env.STACK_BROKERS = '3';
      process.env.LOCAL_KAFKA_MTLS_PORT = '19192';
      expect(secureBrokerOptions('/tmp/x/stack', 29100)).toMatchObject({ brokers: 1, security: { mtlsPort: 29102 } });
    } finally {
      process.env = before;
    }
  });
});

describe('stack.env (what `make` sources) and stack-down', () => {
  it('a secured stack writes its TLS settings, where the principals\' files are and *_CREATE_TOPICS=false, and no secret', () => {
    const o = defaultStackOptions({ STACK_SECURITY: 'sasl_ssl', LOCAL_STACK_DIR: '/tmp/s/secure-stack', LOCAL_KAFKA_PORT: '39100' });
    const text = stackEnvText(o);
    expect(stackEnvFile(o)).toBe('/tmp/s/stack.env');
    expect(text).toContain('export KAFKA_BROKERS=127.0.0.1:39100\n');
    expect(text).toContain('export SCHEMA_REGISTRY_URL=https://127.0.0.1:18081/apis/ccompat/v7\n');
    expect(text).toContain('export KAFKA_SSL=true\n');
    expect(text).toContain('export KAFKA_SSL_CA_FILE=/tmp/s/secure-stack/security/tls/ca.crt\n');
    expect(text).toContain('export SCHEMA_REGISTRY_CA_FILE=/tmp/s/secure-stack/security/tls/ca.crt\n');
    expect(text).toContain('export STACK_CREDENTIALS=/tmp/s/secure-stack/security/env\n');
    expect(text).toMatch(/SCORER_CREATE_TOPICS=false DRIFT_CREATE_TOPICS=false SIMULATOR_CREATE_TOPICS=false/);
    expect(text).not.toMatch(/PASSWORD/);
  });

  it('a plaintext stack writes the endpoints only', () => {
    const text = stackEnvText(defaultStackOptions({ LOCAL_STACK_DIR: '/tmp/p/stack' }));
    expect(text).toContain('export KAFKA_BROKERS=127.0.0.1:19092\n');
    expect(text).not.toMatch(/KAFKA_SSL|STACK_CREDENTIALS|CREATE_TOPICS/);
  });

  it('stack-down stops the plaintext and the secured stack unless LOCAL_STACK_DIR names one', () => {
    expect(stacksToStop({}).map((o) => o.dir.replace(/.*\/\.local\//, '.local/'))).toEqual(['.local/stack', '.local/secure-stack']);
    expect(stacksToStop({ STACK_SECURITY: 'sasl_ssl' }).length).toBe(2);
    expect(stacksToStop({ LOCAL_STACK_DIR: '/tmp/x/stack' }).map((o) => o.dir)).toEqual(['/tmp/x/stack']);
  });
});
