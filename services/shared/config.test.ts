import { describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../scorer/config.ts';
import { parseDuration } from './config.ts';
import { ConfigError } from './errors.ts';

describe('config', () => {
  it('parses durations into milliseconds in one place', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('compiles defaults into a frozen config', () => {
    const c = loadScorerConfig({});
    expect(c.delivery).toBe('exactly-once');
    expect(c.sessionTimeoutMs).toBe(30_000);
    expect(c.connection.topics.applications).toBe('loan-applications');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.policy.risk)).toBe(true);
  });

  it('takes topic names from their variables', () => {
    expect(loadScorerConfig({ TOPIC_DECISIONS: 'd2' }).connection.topics.decisions).toBe('d2');
  });

  it.each([
    [{ SCORER_MAX_BATCH: 'many' }, 'SCORER_MAX_BATCH'],
    [{ SCORER_DELIVERY: 'twice' }, 'SCORER_DELIVERY'],
    [{ SCORER_SESSION_TIMEOUT: 'soon' }, 'SCORER_SESSION_TIMEOUT'],
    [{ KAFKA_BROKERS: 'no-port' }, 'KAFKA_BROKERS'],
    [{ SCHEMA_REGISTRY_URL: 'not a url' }, 'SCHEMA_REGISTRY_URL'],
    [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME'],
    [{ RISK_MEDIUM_AT: '0.9', RISK_HIGH_AT: '0.5' }, 'RISK_MEDIUM_AT'],
    [{ SCORER_HEARTBEAT_INTERVAL: '20s' }, 'SCORER_HEARTBEAT_INTERVAL'],
  ])('names the bad variable: %o', (env, variable) => {
    let caught: unknown;
    try {
      loadScorerConfig(env);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variables).toContain(variable);
    expect((caught as ConfigError).message).toContain(variable);
  });
});
