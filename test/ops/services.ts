/**
 * The services with an HTTP surface (/health, /ready, /metrics), as the ops tests start them: each as a real
 * child process from its entry point, on a free loopback port, against the test stack and unique topics.
 * A service is covered when its entry point exists; the ops tests fail when a service has a
 * metrics.ts but no entry here (live-metrics.test.ts).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { serviceEnv, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { startService, type ServiceProcess } from '../../support/processes.ts';

export interface OpsService {
  /** Compose service name and Prometheus job. */
  readonly name: string;
  readonly entry: string;
  /** Topic roles (infra/topics.json) the service reads or writes; created before it starts. */
  readonly roles: readonly string[];
  readonly env: (id: string) => Record<string, string>;
}

export const OPS_SERVICES: readonly OpsService[] = [
  {
    name: 'scorer',
    entry: 'services/scorer/main.ts',
    roles: ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents'],
    env: (id) => ({ SCORER_GROUP_ID: `ops-scorer-${id}`, SCORER_INSTANCE_ID: `ops-${id}`, MODEL_DIR: initialModelDir() }),
  },
  {
    name: 'drift',
    entry: 'services/drift/main.ts',
    roles: ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts'],
    env: (id) => ({ DRIFT_GROUP_ID: `ops-drift-${id}`, DRIFT_INSTANCE_ID: `ops-${id}`, MODEL_DIR: initialModelDir(), DRIFT_RETRAIN: 'off' }),
  },
];

/** The catalogued services whose entry point exists in this tree. */
export function existingServices(): OpsService[] {
  return OPS_SERVICES.filter((s) => existsSync(join(REPO_ROOT, s.entry)));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningService {
  readonly service: OpsService;
  readonly port: number;
  readonly url: string;
  readonly process: ServiceProcess;
  stop(): Promise<void>;
}

/** Starts `svc` as a child process and waits until its /health answers 200. */
export async function startOpsService(svc: OpsService, topics: Record<string, string>, id: string, extra: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  const proc = startService(svc.entry, serviceEnv(topics, { ...svc.env(id), HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', ...extra }));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  await waitUntil(
    `${svc.name} /health`,
    async () => {
      if (exited) throw new Error(`${svc.name} exited before answering /health:\n${proc.output()}`);
      return fetch(`${url}/health`).then((r) => r.ok, () => false);
    },
    90_000,
    250,
  );
  return {
    service: svc,
    port,
    url,
    process: proc,
    stop: async () => {
      if (!exited) proc.child.kill('SIGTERM');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (!exited) proc.child.kill('SIGKILL');
    },
  };
}

export async function getText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.text();
}
