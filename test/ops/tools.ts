/** The operations tools the ops tests run (installed by `make ops-tools`), and a small runner for them. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

const OPS_DIR = join(REPO_ROOT, '.cache', 'ops');

function onPath(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Absolute path of a tool, or an error that says how to install it. */
export function tool(name: 'promtool' | 'prometheus' | 'hadolint' | 'actionlint'): string {
  const local = { hadolint: join(OPS_DIR, 'venv', 'bin', 'hadolint'), actionlint: join(OPS_DIR, 'bin', 'actionlint') } as Record<string, string>;
  const p = local[name] && existsSync(local[name]) ? local[name] : onPath(name);
  if (!p) throw new Error(`${name} is not installed: run \`make ops-tools\` (make test does)`);
  return p;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout + stderr, for assertion messages. */
  readonly output: string;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; cwd?: string; env?: Record<string, string> } = {}): RunResult {
  const env = opts.env ? { ...process.env, ...opts.env } : process.env;
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? REPO_ROOT, env, encoding: 'utf8', input: opts.input, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}
