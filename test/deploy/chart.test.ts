/**
 * The Helm chart, checked without a cluster: helm lint; helm template for the default values (HPA), with KEDA
 * served, and for a 3-broker SASL_SSL values file; every rendered object valid against the Kubernetes API
 * schemas (kubectl-validate's built-in ones) and the KEDA / Prometheus Operator CRDs; every variable the
 * programs read wired from a ConfigMap or a Secret; rules and dashboard the repository's own files; probes,
 * grace periods and replica bounds right - and each check bites on a planted error.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { driftEnv } from '../../services/drift/config.ts';
import { scorerEnv } from '../../services/scorer/config.ts';
import { inputBoundsEnv } from '../../services/shared/input-bounds.ts';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { byKind, CHART_DIR, containerEnv, graceProblems, helm, k8sTool, KUBE_VERSION, probeProblems, render, replicaProblems, SASL_VALUES, type K8sObject } from './chart.ts';

const KEDA = ['--api-versions', 'keda.sh/v1alpha1/ScaledObject'];
const PARTITIONS = TOPICS_FILE.topics.applications!.partitions ?? TOPICS_FILE.defaults.partitions;

function validate(objects: readonly K8sObject[] | string): { status: number | null; failures: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'chart-validate-'));
  writeFileSync(join(dir, 'rendered.yaml'), typeof objects === 'string' ? objects : objects.map((o) => JSON.stringify(o)).join('\n---\n'));
  const r = spawnSync(k8sTool('kubectl-validate'), [dir, '--version', KUBE_VERSION, '--local-crds', k8sTool('crds'), '-o', 'json'], { encoding: 'utf8', timeout: 60_000 });
  const results = JSON.parse(r.stdout || '{}') as Record<string, { status: string; message?: string }[] | { message?: string }>;
  const failures = Object.values(results).flatMap((v) => (Array.isArray(v) ? v.filter((x) => x.status !== 'Success').map((x) => x.message ?? 'failed') : [v.message ?? 'failed']));
  return { status: r.status, failures };
}

const deployment = (objects: readonly K8sObject[], component: string) => byKind(objects, 'Deployment').find((d) => d.metadata.labels?.['app.kubernetes.io/component'] === component)!;

describe('Helm chart deploy/helm/credit-risk', () => {
  const plain = render();
  const keda = render(KEDA);
  const sasl = render(['-f', SASL_VALUES]);

  it('lints clean for the default values and the 3-broker SASL_SSL values', () => {
    for (const args of [[], ['-f', SASL_VALUES]]) {
      const r = helm(['lint', '@chart', '--strict', '--kube-version', `${KUBE_VERSION}.0`, ...args]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });

  it('renders the default values (CPU HPA), with KEDA served (ScaledObject), and SASL_SSL (KEDA, Secrets, TLS mounts)', () => {
    for (const r of [plain, keda, sasl]) expect(r.status, r.errors).toBe(0);
    const kinds = (r: typeof plain) => [...new Set(r.objects.map((o) => o.kind))].sort();
    expect(kinds(plain)).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceMonitor']);
    expect(kinds(keda)).toContain('ScaledObject');
    expect(kinds(keda)).not.toContain('HorizontalPodAutoscaler');
    expect(kinds(sasl)).toEqual(expect.arrayContaining(['ScaledObject', 'TriggerAuthentication']));
    expect(byKind(plain.objects, 'Deployment').map((d) => d.metadata.labels!['app.kubernetes.io/component']).sort()).toEqual(['drift', 'retrain', 'scorer']);
    const so = byKind(sasl.objects, 'ScaledObject')[0]!;
    expect(so.spec.triggers[0].metadata).toMatchObject({ consumerGroup: 'credit-scorer', topic: 'prod.loan-applications', sasl: 'scram_sha512', tls: 'enable' });
    expect(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
  });

  it('every rendered object is valid against the Kubernetes API schemas and the KEDA / Prometheus Operator CRDs', () => {
    for (const r of [plain, keda, sasl]) {
      const v = validate(r.text);
      expect(v.failures).toEqual([]);
      expect(v.status).toBe(0);
    }
  });

  it('the schema validation bites: an unknown field and a mistyped ScaledObject field are rejected', () => {
    const objects = structuredClone(sasl.objects);
    deployment(objects, 'drift').spec.template.spec.terminationGracePeriodSecond = 45;
    byKind(objects, 'ScaledObject')[0]!.spec.maxReplicaCount = 'six';
    const v = validate(objects);
    expect(v.status).not.toBe(0);
    expect(v.failures.join('\n')).toMatch(/terminationGracePeriodSecond: Invalid value: value provided for unknown field/);
    expect(v.failures.join('\n')).toMatch(/maxReplicaCount in body must be of type integer/);
  });

  it('wires every variable each program reads, credentials from Secrets and never in a ConfigMap', () => {
    const shared = [...Object.keys(inputBoundsEnv), ...Object.values(TOPICS_FILE.topics).map((t) => t.env)];
    const py = spawnSync(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', 'from pipeline.stages.retrain_worker import VARIABLES; print("\\n".join(VARIABLES))'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const reads: Record<string, string[]> = {
      scorer: [...Object.keys(scorerEnv), ...shared],
      drift: [...Object.keys(driftEnv), ...shared],
      retrain: [...py.stdout.trim().split('\n'), ...shared],
    };
    const secret = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_USERNAME', 'SCHEMA_REGISTRY_PASSWORD'];
    for (const [component, variables] of Object.entries(reads)) {
      const { values, fromSecrets } = containerEnv(sasl.objects, deployment(sasl.objects, component));
      const wired = new Set([...Object.keys(values), ...fromSecrets]);
      expect(variables.filter((v) => !wired.has(v) && v !== 'KAFKA_SSL_KEY_PASSWORD'), `${component}: variables the chart does not wire`).toEqual([]);
      expect(fromSecrets.sort(), component).toEqual([...secret].sort());
      expect(values.KAFKA_SSL_CA_FILE).toBe('/etc/credit-risk/kafka-tls/ca.crt');
    }
    for (const cm of byKind(sasl.objects, 'ConfigMap')) expect(Object.keys(cm.data ?? {}).filter((k) => /PASSWORD|USERNAME/.test(k)), cm.metadata.name).toEqual([]);
    // The key passphrase of mTLS comes from the TLS Secret when configured.
    const mtls = render(['-f', SASL_VALUES, '--set', 'kafka.tls.clientCertificate=true', '--set', 'kafka.tls.keyPasswordKey=key-password']);
    expect(containerEnv(mtls.objects, deployment(mtls.objects, 'scorer')).fromSecrets).toContain('KAFKA_SSL_KEY_PASSWORD');
  });

  it('the PrometheusRule is infra/prometheus/rules and the dashboard ConfigMap is infra/grafana/dashboards (one source)', () => {
    const rulesDir = join(REPO_ROOT, 'infra', 'prometheus', 'rules');
    const groups = readdirSync(rulesDir)
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .flatMap((f) => (parse(readFileSync(join(rulesDir, f), 'utf8')) as { groups: unknown[] }).groups);
    expect(byKind(plain.objects, 'PrometheusRule')[0]!.spec.groups).toEqual(groups);
    const dashboard = byKind(plain.objects, 'ConfigMap').find((c) => c.metadata.labels?.grafana_dashboard === '1')!;
    expect(JSON.parse(dashboard.data!['credit-risk.json']!)).toEqual(JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'grafana', 'dashboards', 'credit-risk.json'), 'utf8')));
  });

  it('probes aim at HTTP_PORT, grace periods outlast preStop + SHUTDOWN_TIMEOUT, replicas stay within the partitions', () => {
    for (const r of [plain, keda, sasl]) {
      for (const d of byKind(r.objects, 'Deployment')) {
        expect(probeProblems(r.objects, d)).toEqual([]);
        expect(graceProblems(r.objects, d)).toEqual([]);
      }
      expect(replicaProblems(r.objects, PARTITIONS)).toEqual([]);
    }
    expect(byKind(keda.objects, 'ScaledObject')[0]!.spec.maxReplicaCount).toBeLessThanOrEqual(PARTITIONS);
  });

  it('the checks bite: a planted wrong probe port, a short grace period, replicas above the partitions', () => {
    const objects = structuredClone(keda.objects);
    deployment(objects, 'scorer').spec.template.spec.containers[0].readinessProbe.httpGet.port = 8081;
    expect(probeProblems(objects, deployment(objects, 'scorer')).join()).toMatch(/readinessProbe port 8081 .* is not HTTP_PORT 8080/);
    deployment(objects, 'drift').spec.template.spec.containers[0].livenessProbe.httpGet.port = 'metrics';
    expect(probeProblems(objects, deployment(objects, 'drift')).join()).toMatch(/livenessProbe port metrics \(no such port\)/);
    deployment(objects, 'retrain').spec.template.spec.terminationGracePeriodSeconds = 30;
    expect(graceProblems(objects, deployment(objects, 'retrain')).join()).toMatch(/30 is not longer than preStop \+ SHUTDOWN_TIMEOUT \(30 s\)/);
    byKind(objects, 'ScaledObject')[0]!.spec.maxReplicaCount = PARTITIONS + 1;
    expect(replicaProblems(objects, PARTITIONS).join()).toMatch(/maxReplicaCount 7 > 6 partitions/);
  });

  it('a read-only root filesystem, with a writable volume at every path the image makes writable for its user', () => {
    // The Dockerfiles chown what the programs write (downloaded model bundles, the pipeline's data, MLflow's store).
    const writable = (dockerfile: string) =>
      [...readFileSync(join(REPO_ROOT, dockerfile), 'utf8').matchAll(/chown -R 1000:1000 ([^\n&]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
    const images: Record<string, string> = { scorer: 'services/Dockerfile', drift: 'services/Dockerfile', retrain: 'pipeline/Dockerfile' };
    for (const d of byKind(sasl.objects, 'Deployment')) {
      const component = d.metadata.labels!['app.kubernetes.io/component']!;
      const c = d.spec.template.spec.containers[0];
      expect(c.securityContext.readOnlyRootFilesystem, component).toBe(true);
      const mounts = (c.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
      const paths = writable(images[component]!);
      expect(paths.length, images[component]).toBeGreaterThan(0);
      expect(paths.filter((p) => !mounts.includes(p)), `${component}: writable paths of its image without a volume`).toEqual([]);
      expect(mounts, component).toContain('/tmp');
    }
  });

  it('the chart refuses to render them: maxReplicas above the partitions, a grace period not above preStop + SHUTDOWN_TIMEOUT', () => {
    const cases: [string[], RegExp][] = [
      [['--set', `scorer.autoscaling.maxReplicas=${PARTITIONS + 1}`], /scorer.autoscaling.maxReplicas \(7\) is above the 6 partitions of the applications topic/],
      [['--set', 'scorer.autoscaling.mode=off', '--set', `scorer.replicas=${PARTITIONS + 1}`], /scorer.replicas \(7\) is above the 6 partitions/],
      [['--set', 'drift.terminationGracePeriodSeconds=35'], /drift.terminationGracePeriodSeconds \(35\) must be longer than drift.preStopSeconds \+ SHUTDOWN_TIMEOUT \(35 s\)/],
      [['--set', 'scorer.env.SHUTDOWN_TIMEOUT=1m'], /scorer.terminationGracePeriodSeconds \(45\) must be longer than .* \(65 s\)/],
      [['--set', 'retrain.env.SHUTDOWN_TIMEOUT=soon'], /retrain.env.SHUTDOWN_TIMEOUT: "soon" is not a duration/],
      [['--set', 'kafka.sasl.mechanism=scram-sha-512'], /scorer.credentialsSecret: kafka.sasl.mechanism is scram-sha-512/],
      [['--set', 'scorer.autoscaling.mode=sometimes'], /scorer\/autoscaling\/mode/],
    ];
    for (const [args, message] of cases) {
      const r = render(args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.errors).toMatch(message);
    }
  });

  it('reads the partitions from infra/topics.json: fewer partitions there make the default maxReplicas fail', () => {
    const copy = mkdtempSync(join(tmpdir(), 'chart-'));
    cpSync(CHART_DIR, copy, { recursive: true, dereference: true });
    const topics = JSON.parse(readFileSync(join(copy, 'files', 'topics.json'), 'utf8'));
    topics.topics.applications.partitions = 4;
    writeFileSync(join(copy, 'files', 'topics.json'), JSON.stringify(topics));
    const r = render([], copy);
    expect(r.status).not.toBe(0);
    expect(r.errors).toMatch(/maxReplicas \(6\) is above the 4 partitions/);
  });
});
