/**
 * The Helm chart (deploy/helm/credit-risk) rendered offline, and pure checks of what it renders: probes aim at
 * the port the program listens on (HTTP_PORT), the grace period outlasts preStop + SHUTDOWN_TIMEOUT, the
 * scorer never gets more replicas than the applications topic has partitions. Tools from `make chart-tools`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseDuration } from '../../services/shared/config.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'credit-risk');
export const SASL_VALUES = join(REPO_ROOT, 'deploy', 'helm', 'tests', 'sasl-ssl-3-brokers.yaml');
/** kubectl-validate's newest built-in schemas (v0.0.4): the Kubernetes version rendered for and validated against. */
export const KUBE_VERSION = '1.30';
const K8S_DIR = join(REPO_ROOT, '.cache', 'k8s');

/** A tool installed by `make chart-tools` (the pinned version's folder), or an error saying how to get it. */
export function k8sTool(name: 'helm' | 'kubectl-validate' | 'crds'): string {
  const prefix = name === 'crds' ? 'crds-' : `${name}-`;
  const dirs = existsSync(K8S_DIR) ? readdirSync(K8S_DIR).filter((d) => d.startsWith(prefix)).sort() : [];
  const path = dirs.length ? (name === 'crds' ? join(K8S_DIR, dirs.at(-1)!) : join(K8S_DIR, dirs.at(-1)!, name)) : '';
  if (!path || !existsSync(path)) throw new Error(`${name} is not installed: run \`make chart-tools\` (make test does)`);
  return path;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered manifests, checked field by field
  data?: Record<string, string>;
}

export interface Rendered {
  readonly status: number | null;
  readonly text: string;
  readonly objects: K8sObject[];
  /** stderr without helm's "found symbolic link" notices (files/ links to infra/). */
  readonly errors: string;
}

export function helm(args: readonly string[], chart = CHART_DIR): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(k8sTool('helm'), [...args.map((a) => (a === '@chart' ? chart : a))], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with extra arguments (-f FILE, --set K=V, --api-versions ...). */
export function render(args: readonly string[] = [], chart = CHART_DIR): Rendered {
  const r = helm(['template', 'cr', '@chart', '--kube-version', `${KUBE_VERSION}.0`, ...args], chart);
  const errors = r.stderr
    .split('\n')
    .filter((l) => l && !/found symbolic link in path/.test(l))
    .join('\n');
  const objects = r.status === 0 ? (parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean) as K8sObject[]) : [];
  return { status: r.status, text: r.stdout, objects, errors };
}

export const byKind = (objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** The variables a Deployment's first container gets: its envFrom ConfigMaps' data and its env entries. */
export function containerEnv(objects: readonly K8sObject[], deployment: K8sObject): { values: Record<string, string>; fromSecrets: string[] } {
  const c = deployment.spec.template.spec.containers[0];
  const values: Record<string, string> = {};
  for (const ref of c.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.configMapRef?.name);
    if (!cm) throw new Error(`${deployment.metadata.name}: envFrom names ConfigMap ${ref.configMapRef?.name}, which the chart does not render`);
    Object.assign(values, cm.data);
  }
  const fromSecrets: string[] = [];
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) fromSecrets.push(e.name);
    else values[e.name] = e.value;
  }
  return { values, fromSecrets };
}

type Probe = { httpGet?: { path: string; port: number | string } };

/** Resolves a probe's port (a number, or a container port's name) to a number; undefined when it names no port. */
function probePort(container: { ports?: { name?: string; containerPort: number }[] }, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * What is wrong with a Deployment's probes: each must be an httpGet on the port the program listens on
 * (HTTP_PORT of its environment, declared as a container port); liveness and startup on /health, readiness on /ready.
 */
export function probeProblems(objects: readonly K8sObject[], deployment: K8sObject): string[] {
  const name = deployment.metadata.name;
  const c = deployment.spec.template.spec.containers[0];
  const listens = Number(containerEnv(objects, deployment).values.HTTP_PORT);
  const problems: string[] = [];
  if (!c.ports?.some((p: { containerPort: number }) => p.containerPort === listens)) problems.push(`${name}: HTTP_PORT ${listens} is not a declared container port`);
  const expected: Record<string, string> = { startupProbe: '/health', livenessProbe: '/health', readinessProbe: '/ready' };
  for (const [kind, path] of Object.entries(expected)) {
    const probe = c[kind] as Probe | undefined;
    if (!probe?.httpGet) {
      problems.push(`${name}: no httpGet ${kind}`);
      continue;
    }
    const port = probePort(c, probe.httpGet.port);
    if (port !== listens) problems.push(`${name}: ${kind} port ${String(probe.httpGet.port)} (${port ?? 'no such port'}) is not HTTP_PORT ${listens}, where the program listens`);
    if (probe.httpGet.path !== path) problems.push(`${name}: ${kind} path ${probe.httpGet.path}, expected ${path}`);
  }
  return problems;
}

/** The preStop sleep of a container in seconds (0 without one). */
export function preStopSeconds(container: { lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } } }): number {
  const pre = container.lifecycle?.preStop;
  if (pre?.sleep) return pre.sleep.seconds;
  const cmd = pre?.exec?.command;
  return cmd && cmd[0] === 'sleep' ? Number(cmd[1]) : 0;
}

/** What is wrong with a Deployment's shutdown: the grace period must exceed preStop + SHUTDOWN_TIMEOUT (default 30s). */
export function graceProblems(objects: readonly K8sObject[], deployment: K8sObject): string[] {
  const spec = deployment.spec.template.spec;
  const shutdownMs = parseDuration(containerEnv(objects, deployment).values.SHUTDOWN_TIMEOUT || '30s');
  if (shutdownMs === undefined) return [`${deployment.metadata.name}: SHUTDOWN_TIMEOUT is not a duration`];
  const needed = preStopSeconds(spec.containers[0]) + shutdownMs / 1000;
  const grace = Number(spec.terminationGracePeriodSeconds ?? 30);
  return grace > needed ? [] : [`${deployment.metadata.name}: terminationGracePeriodSeconds ${grace} is not longer than preStop + SHUTDOWN_TIMEOUT (${needed} s)`];
}

/** What is wrong with the scorer's replica bounds: none above the applications topic's partitions. */
export function replicaProblems(objects: readonly K8sObject[], partitions: number): string[] {
  const problems: string[] = [];
  for (const so of byKind(objects, 'ScaledObject')) if (so.spec.maxReplicaCount > partitions) problems.push(`ScaledObject ${so.metadata.name}: maxReplicaCount ${so.spec.maxReplicaCount} > ${partitions} partitions`);
  for (const hpa of byKind(objects, 'HorizontalPodAutoscaler')) if (hpa.spec.maxReplicas > partitions) problems.push(`HPA ${hpa.metadata.name}: maxReplicas ${hpa.spec.maxReplicas} > ${partitions} partitions`);
  for (const d of byKind(objects, 'Deployment')) {
    if (d.metadata.labels?.['app.kubernetes.io/component'] === 'scorer' && (d.spec.replicas ?? 0) > partitions) problems.push(`Deployment ${d.metadata.name}: replicas ${d.spec.replicas} > ${partitions} partitions`);
  }
  return problems;
}
