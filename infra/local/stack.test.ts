import { describe, expect, it } from 'vitest';
import { endpointsOf, secureBrokerOptions } from './stack.ts';

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
