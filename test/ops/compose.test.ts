/**
 * docker-compose.yml, checked without a Docker engine: valid against the Compose Specification's JSON schema
 * (the copy shipped in the dclint npm package), clean under dclint, and consistent with the rest of the
 * repository (healthchecks behind every depends_on condition, images pinned, the same Kafka and registry
 * images as the testcontainers setup, Prometheus the version whose promtool tested the rules, scrape
 * targets that are compose services).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { effectiveInstructions, execForm, parseDockerfile } from './dockerfile.ts';
import { OPS_SERVICES } from './services.ts';
import { run, tool } from './tools.ts';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
}
interface Compose {
  services: Record<string, ComposeService>;
}

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
const require = createRequire(import.meta.url);
const SCHEMA_FILE = join(require.resolve('dclint/package.json'), '..', 'schemas', 'compose.schema.json');

function loadCompose(text = readFileSync(COMPOSE_FILE, 'utf8')): Compose {
  return parse(text, { merge: true }) as Compose;
}

function validator() {
  const { $schema, ...schema } = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $schema: string };
  // Ajv's built-in draft-07 meta-schema is registered under the http:// id; the file names the https:// one.
  if (!/draft-07/.test($schema)) throw new Error(`compose schema is ${$schema}, not draft-07`);
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const services = compose.services;

  it('validates against the Compose Specification JSON schema', () => {
    const validate = validator();
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check bites: a misspelt key and a wrong condition type are rejected', () => {
    const validate = validator();
    const bad1 = loadCompose(readFileSync(COMPOSE_FILE, 'utf8').replace('    healthcheck:\n      test: [\'CMD\', \'wget\'', '    healthchek:\n      test: [\'CMD\', \'wget\''));
    expect(validate(bad1)).toBe(false);
    const bad2 = structuredClone(compose) as unknown as { services: Record<string, { depends_on: unknown }> };
    bad2.services.scorer!.depends_on = { kafka: { condition: 42 } };
    expect(validate(bad2)).toBe(false);
  });

  it('passes dclint (schema + best practices; style-only ordering rules off in infra/compose/dclint.json)', () => {
    const r = run(process.execPath, [join(REPO_ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs'), '-c', 'infra/compose/dclint.json', '--max-warnings', '0', '--color', 'false', 'docker-compose.yml']);
    expect(r.status, r.output).toBe(0);
  });

  it('runs Kafka, the registry, every HTTP service, the simulator, Prometheus and Grafana', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['kafka', 'registry', ...OPS_SERVICES.map((s) => s.name), 'simulator', 'prometheus', 'grafana']));
  });

  it('every long-running service has a healthcheck, and every depends_on has a condition the dependency can meet', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      const oneShot = s.restart === 'no';
      if (!oneShot && !s.healthcheck && name !== 'simulator') problems.push(`${name}: no healthcheck`);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const d = services[dep];
        if (!d) problems.push(`${name}: depends on unknown ${dep}`);
        else if (condition === 'service_healthy' && !d.healthcheck) problems.push(`${name}: waits for ${dep} to be healthy but it has no healthcheck`);
        else if (condition === 'service_completed_successfully' && d.restart !== 'no') problems.push(`${name}: waits for ${dep} to complete but it restarts`);
        else if (!['service_healthy', 'service_completed_successfully', 'service_started'].includes(condition)) problems.push(`${name}: condition ${condition}`);
      }
    }
    for (const svc of OPS_SERVICES) {
      expect(services[svc.name]!.depends_on?.kafka?.condition, svc.name).toBe('service_healthy');
      expect(services[svc.name]!.depends_on?.registry?.condition, svc.name).toBe('service_healthy');
    }
    expect(problems).toEqual([]);
  });

  it('pulled images are pinned by tag; Kafka and the registry are the testcontainers images; Prometheus has the major version of promtool and is no newer', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
      expect(s.image, name).not.toMatch(/:latest\b/);
    }
    const containers = readFileSync(join(REPO_ROOT, 'test', 'setup', 'containers.ts'), 'utf8');
    expect(containers).toContain(`'${services.kafka!.image}'`);
    expect(containers).toContain(`'${services.registry!.image}'`);
    // Debian 12's promtool (2.42.0) tested the rules; other distributions' (CI's Ubuntu) are newer 2.x releases.
    const version = /version (\d+)\.(\d+)\.(\d+)/.exec(run(tool('promtool'), ['--version']).output)!;
    const image = /^prom\/prometheus:v(\d+)\.(\d+)\.(\d+)$/.exec(services.prometheus!.image!)!;
    expect(image, services.prometheus!.image).not.toBeNull();
    expect(image[1]).toBe(version[1]);
    expect(Number(image[2])).toBeLessThanOrEqual(Number(version[2]));
  });

  it('built services name Dockerfile targets that exist, and their healthcheck is the image HEALTHCHECK', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.build) continue;
      const stages = parseDockerfile(readFileSync(join(REPO_ROOT, s.build.dockerfile), 'utf8'));
      expect(s.build.context, name).toBe('.');
      if (s.build.target) expect(stages.map((x) => x.name), name).toContain(s.build.target);
      if (s.healthcheck && s.build.target) {
        const hc = effectiveInstructions(stages, s.build.target).filter((i) => i.op === 'HEALTHCHECK').at(-1)!;
        // Compose interpolates $$ to $.
        expect(s.healthcheck.test[0], name).toBe('CMD');
        expect(s.healthcheck.test.slice(1).map((a) => a.replaceAll('$$', '$')), name).toEqual(execForm(hc.args));
      }
    }
  });

  it('Prometheus scrapes compose services on the port they listen on, and loads the mounted rules', () => {
    const prom = parse(readFileSync(join(REPO_ROOT, 'infra', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    for (const svc of OPS_SERVICES) {
      const job = prom.scrape_configs.find((j) => j.job_name === svc.name);
      expect(job, svc.name).toBeDefined();
      const sd = job!.dns_sd_configs![0]!;
      expect(sd.names).toEqual([svc.name]);
      expect(services[svc.name]!.environment?.HTTP_PORT).toBe(String(sd.port));
    }
    expect(services.prometheus!.volumes).toContain('./infra/prometheus:/etc/prometheus:ro');
  });
});

describe('docker-compose.secure.yml (secured override)', () => {
  const text = readFileSync(join(REPO_ROOT, 'docker-compose.secure.yml'), 'utf8');
  const override = loadCompose(text);
  const base = loadCompose();

  it('validates against the Compose Specification JSON schema and only overrides services of docker-compose.yml (plus its users init)', () => {
    const validate = validator();
    expect(validate(override), JSON.stringify(validate.errors, null, 2)).toBe(true);
    for (const name of Object.keys(override.services)) if (name !== 'kafka-users') expect(Object.keys(base.services)).toContain(name);
  });

  it('each service authenticates as its own principal of infra/acls.json with the services variable names, and topics are not created by services', () => {
    const acls = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'acls.json'), 'utf8')) as { principals: Record<string, unknown> };
    const expected: Record<string, string> = { scorer: 'scorer', drift: 'drift', simulator: 'simulator', 'model-init': 'pipeline' };
    for (const [service, principal] of Object.entries(expected)) {
      expect(Object.keys(acls.principals)).toContain(principal);
      const e = override.services[service]!.environment!;
      expect(e.KAFKA_SASL_USERNAME).toBe(principal);
      expect(e.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
      expect(e.KAFKA_SSL).toBe('true');
      expect(e.KAFKA_SASL_PASSWORD).toMatch(/^\$\{[A-Z]+_KAFKA_PASSWORD:\?/);
    }
    for (const [service, variable] of [['scorer', 'SCORER_CREATE_TOPICS'], ['drift', 'DRIFT_CREATE_TOPICS'], ['simulator', 'SIMULATOR_CREATE_TOPICS']] as const) {
      expect(override.services[service]!.environment![variable]).toBe('false');
    }
    expect(override.services.kafka!.environment!.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
    // No secret is written into the file itself.
    expect(text).not.toMatch(/PASSWORD: [^$\s]/);
  });
});
