/** The simulator CLI's exit status: 2 and a message naming the cause for a configuration or usage error (README "Configuration"). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared/schemas.ts';

function simulator(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KAFKA_|SCHEMA_REGISTRY_|TOPIC_|SIMULATOR_)/.test(k)));
  // Port 9 (discard) on loopback: nothing is contacted before the configuration is validated.
  return spawnSync(process.execPath, ['--import', 'tsx', 'services/simulator/main.ts', ...args], { cwd: REPO_ROOT, env: { ...clean, KAFKA_BROKERS: '127.0.0.1:9', ...env }, encoding: 'utf8', timeout: 60_000 });
}

describe('simulator exit status', () => {
  it('exits 2 naming the variable on a bad environment variable', () => {
    const r = simulator(['produce', '--count', '1'], { KAFKA_SSL: 'maybe' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/KAFKA_SSL/);
  });

  it('exits 2 naming the option on a bad or unknown option', () => {
    const bad = simulator(['produce', '--rate', 'fast']);
    expect(bad.status, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/--rate must be a number/);
    const unknown = simulator(['produce', '--rat', '5']);
    expect(unknown.status, unknown.stderr).toBe(2);
    expect(unknown.stderr).toMatch(/--rat/);
    const usage = simulator(['nonsense']);
    expect(usage.status).toBe(2);
  });

  it('exits 2 naming the flag on a bad disparity scenario, before contacting anything', () => {
    const group = simulator(['produce', '--disparity-from', '10', '--disparity-group', 'race_ethnicity=MARTIAN']);
    expect(group.status, group.stderr).toBe(2);
    expect(group.stderr).toMatch(/--disparity-group: race_ethnicity has no group "MARTIAN"/);
    const orphan = simulator(['produce', '--disparity-until', '50']);
    expect(orphan.status, orphan.stderr).toBe(2);
    expect(orphan.stderr).toMatch(/--disparity-until needs --disparity-from/);
  });
});
