import { describe, expect, it } from 'vitest';
import { renderTables } from './report.ts';
import { target, type ScenarioResult } from './scenario.ts';
import { spread } from './stats.ts';
import { tlsRatios } from './transport.ts';

const machine = { cores: 2, cpuModel: 'cpu', memoryGb: 24, os: 'linux', node: 'v20', python: '3.11', java: '21', loadAverageAtStart: [0, 0, 0], packages: {}, revision: { commit: 'abc', modified: [] } };
const side = (apps: number[], cpu: number[]) => ({ appsPerSec: spread(apps), cpuSecPer100k: spread(cpu), peakRssMb: spread(apps.map(() => 400)) });

function throughput(withTwin: boolean): ScenarioResult {
  const contenders: Record<string, Record<string, unknown>> = { 'scorer-eos': side([21_000], [4.2]), ...(withTwin ? { 'scorer-eos-sasl_ssl': side([16_000], [5.2]) } : {}) };
  return {
    scenario: 'throughput',
    description: '',
    machine,
    n: 20_000,
    repetitions: 1,
    contenders,
    ratios: tlsRatios(contenders),
    targets: [],
    seconds: 1,
    ...(withTwin
      ? { secure: { brokers: '127.0.0.1:39050', protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, harnessPrincipal: 'admin', contenderPrincipal: 'scorer', inputTopic: 't', cluster: { brokers: 1, replicationFactor: 1, minInsyncReplicas: 1 } } as const }
      : {}),
  };
}

describe('renderTables with --secure', () => {
  it('lists the SASL_SSL run in the throughput table and prints the TLS overhead ratio with CPU s per 100k both ways', () => {
    const text = renderTables([throughput(true)]);
    expect(text).toMatch(/\| this scorer, exactly-once, SASL_SSL \(SCRAM-SHA-512\) broker +\| 16,000 +\| 5\.2 /);
    expect(text).toContain('TLS overhead');
    expect(text).toContain('TLSv1.3 TLS_AES_256_GCM_SHA384, broker 127.0.0.1:39050');
    expect(text).toMatch(/\| scorer-eos \(SASL_SSL\) \/ scorer-eos \(plaintext\) +\| 21,000 → 16,000 +\| 0\.76 +\| 4\.2 → 5\.2 +\| 1\.24 +\|/);
  });

  it('prints no TLS section without the SASL_SSL runs', () => {
    expect(renderTables([throughput(false)])).not.toContain('TLS overhead');
  });
});

describe('renderTables targets', () => {
  it("says 'not measured' for a target whose contenders did not run, MISSED only for a measured miss", () => {
    const r = { ...throughput(false), targets: [target('a / b', Number.NaN, 'min', 1), target('c / d', 0.5, 'min', 1), target('e / f', 2, 'min', 1)] };
    const text = renderTables([r]);
    expect(text).toMatch(/\| a \/ b +\| — +\| ≥ 1 +\| not measured +\|/);
    expect(text).toMatch(/\| c \/ d +\| 0\.5 +\| ≥ 1 +\| MISSED +\|/);
    expect(text).toMatch(/\| e \/ f +\| 2 +\| ≥ 1 +\| met +\|/);
  });
});
