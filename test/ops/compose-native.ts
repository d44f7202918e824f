/**
 * docker-compose.yml's contract, on a machine without a Docker engine: each service's program started
 * natively (the local jars, node, python, the prometheus binary - as infra/local does) with the environment
 * compose gives it, and the compose file's own healthcheck command run against it.
 *
 * Containers each have their own network namespace; here every service shares the host's loopback, so each
 * container port a service listens on gets a free host port (`PortPlan`), and the service's environment, its
 * healthcheck and its peers' addresses (`kafka:9092`) are rewritten through that plan. A healthcheck that
 * probes a port the service does not listen on in its container gets a port where nothing listens, as it
 * would in the container. Image-only executables are mapped to their local equivalent (`IMAGE_TOOLS`).
 */
import { createServer } from 'node:net';

export interface ComposeHealthcheck {
  readonly test: readonly string[];
  readonly interval?: string;
  readonly timeout?: string;
  readonly retries?: number;
  readonly start_period?: string;
}

export interface ComposeServiceDef {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string; readonly target?: string };
  readonly command?: readonly string[] | string;
  readonly entrypoint?: readonly string[] | string;
  readonly environment?: Readonly<Record<string, string>>;
  readonly healthcheck?: ComposeHealthcheck;
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly ports?: readonly (string | { readonly target: number; readonly published?: string | number; readonly host_ip?: string })[];
  readonly restart?: string;
  readonly volumes?: readonly string[];
}

/** Container ports each image listens on besides those in `ports:` and HTTP_PORT (the images' defaults). */
export const IMAGE_PORTS: Readonly<Record<string, readonly number[]>> = {
  'apache/kafka': [9092, 9093, 29092],
  // API on 8080; Quarkus' management interface (/health, /metrics) on 9000.
  'apicurio/apicurio-registry': [8080, 9000],
  'prom/prometheus': [9090],
  'grafana/grafana': [3000],
};

export function imageName(image: string | undefined): string | undefined {
  return image?.replace(/[:@].*$/, '');
}

/** The container ports `svc` listens on. */
export function containerPorts(svc: ComposeServiceDef): number[] {
  const out = new Set<number>(IMAGE_PORTS[imageName(svc.image) ?? ''] ?? []);
  for (const p of svc.ports ?? []) out.add(typeof p === 'object' ? p.target : Number(p.split(':').at(-1)!.split('/')[0]));
  if (svc.environment?.HTTP_PORT) out.add(Number(svc.environment.HTTP_PORT));
  return [...out].sort((a, b) => a - b);
}

/** Host port of (service, container port); `closed` is a port where nothing listens. */
export interface PortPlan {
  readonly ports: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly closed: number;
}

export function hostPort(plan: PortPlan, service: string, containerPort: number): number {
  return plan.ports.get(service)?.get(containerPort) ?? plan.closed;
}

/** `kafka:9092` -> `127.0.0.1:<its host port>`, for every service name of the file. */
export function rewriteAddresses(value: string, plan: PortPlan): string {
  return value.replace(/\b([a-z][a-z0-9-]*):(\d+)\b/g, (all, name: string, port: string) => (plan.ports.has(name) ? `127.0.0.1:${hostPort(plan, name, Number(port))}` : all));
}

/** The environment compose gives `service`, for a native process: peers' addresses and HTTP_PORT through the plan. */
export function nativeEnv(service: string, svc: ComposeServiceDef, plan: PortPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = rewriteAddresses(String(v), plan);
  if (env.HTTP_PORT) env.HTTP_PORT = String(hostPort(plan, service, Number(env.HTTP_PORT)));
  return env;
}

/** Executables of the images and what runs them here (a path to a shim script, filled in by the test). */
export type ImageTools = Readonly<Record<string, string>>;

/**
 * The healthcheck as a native command: compose's `$$` is `$`; `localhost:P` / `127.0.0.1:P` is the service's
 * own port P through the plan; image executables are replaced by `tools`.
 */
export function nativeHealthcheck(service: string, hc: ComposeHealthcheck, plan: PortPlan, tools: ImageTools): { cmd: string; args: string[] } {
  const [kind, ...rest] = hc.test;
  const fix = (s: string) => {
    let out = s.replaceAll('$$', '$').replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (_, host: string, port: string) => `${host}:${hostPort(plan, service, Number(port))}`);
    for (const [from, to] of Object.entries(tools)) out = out.replaceAll(from, to);
    return out;
  };
  if (kind === 'CMD-SHELL') return { cmd: '/bin/sh', args: ['-c', fix(rest.join(' '))] };
  if (kind === 'CMD') return { cmd: fix(rest[0]!), args: rest.slice(1).map(fix) };
  throw new Error(`${service}: healthcheck test must start with CMD or CMD-SHELL, got ${JSON.stringify(hc.test)}`);
}

/** Compose durations (`10s`, `1m30s`, `500ms`) in milliseconds. */
export function composeDuration(d: string | undefined, fallbackMs: number): number {
  if (!d) return fallbackMs;
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|s|m|h)/g)) ms += Number(m[1]) * { ms: 1, us: 1e-3, ns: 1e-6, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']!;
  return ms;
}

/** How long compose waits before calling the service unhealthy: start_period + retries × (interval + timeout). */
export function healthDeadlineMs(hc: ComposeHealthcheck): number {
  return composeDuration(hc.start_period, 0) + (hc.retries ?? 3) * (composeDuration(hc.interval, 30_000) + composeDuration(hc.timeout, 30_000));
}

/** Services in an order compose could start them (every dependency first); throws on a cycle or unknown name. */
export function startOrder(services: Readonly<Record<string, ComposeServiceDef>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from?: string) => {
    if (!services[name]) throw new Error(`${from} depends on unknown service ${name}`);
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`depends_on cycle through ${name}`);
    state.set(name, 'visiting');
    for (const dep of Object.keys(services[name]!.depends_on ?? {})) visit(dep, name);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order;
}

/**
 * Host ports `svc` publishes at a fixed number (`127.0.0.1:8080:8080`, or `published:` in the long syntax);
 * `127.0.0.1::8080` and a long entry without `published` let Docker choose one per replica.
 */
export function fixedHostPorts(svc: ComposeServiceDef): string[] {
  return (svc.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') return p.published !== undefined && p.published !== '' ? [`${p.host_ip ? `${p.host_ip}:` : ''}${p.published}:${p.target}`] : [];
    const parts = String(p).split(':');
    const host = parts.length === 3 ? parts[1] : parts.length === 2 ? parts[0] : '';
    return host ? [String(p)] : [];
  });
}

/** The host port number of a fixed mapping (`127.0.0.1:18081:8080` -> 18081). */
export function publishedPort(mapping: string): string {
  const parts = mapping.split(':');
  return parts.length === 3 ? parts[1]! : parts[0]!;
}

/** Services meant to scale: consumer-group members (a *_GROUP_ID) and those the docs scale (`--scale x=N`). */
export function scalableServices(services: Readonly<Record<string, ComposeServiceDef>>, docs: string): string[] {
  const named = new Set([...docs.matchAll(/--scale\s+([a-z][a-z0-9-]*)=\d+/g)].map((m) => m[1]!));
  return Object.entries(services)
    .filter(([name, s]) => named.has(name) || Object.keys(s.environment ?? {}).some((k) => k.endsWith('_GROUP_ID')))
    .map(([name]) => name);
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export async function planPorts(services: Readonly<Record<string, ComposeServiceDef>>): Promise<PortPlan> {
  const ports = new Map<string, Map<number, number>>();
  const taken = new Set<number>();
  const fresh = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (const [name, svc] of Object.entries(services)) {
    const m = new Map<number, number>();
    for (const p of containerPorts(svc)) m.set(p, await fresh());
    ports.set(name, m);
  }
  return { ports, closed: await fresh() };
}
