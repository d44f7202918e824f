/** Running services as real child processes (for kill -9 and signal tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { REPO_ROOT } from '../services/shared/schemas.ts';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `entry` under tsx; its output is kept (the first 4,000 and the last 20,000 characters) and, with `logFile`, all of it appended there. */
export function startService(entry: string, env: Record<string, string>, logFile?: string): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The start-up lines (the first 4,000 characters: joined, running) and the last 20,000.
  let head = '';
  let out = '';
  let total = 0;
  const keep = (d: Buffer) => {
    const text = d.toString();
    total += text.length;
    if (head.length < 4_000) head += text.slice(0, 4_000 - head.length);
    out = (out + text).slice(-20_000);
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  return { child, output: () => (total <= 20_000 ? out : `${head}\n[…]\n${out}`), exited };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion without blocking the event loop. (spawnSync would: a long one starves
 * vitest's worker RPC, which then fails the run with 'Timeout calling "onTaskUpdate"' after 60 s.)
 */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.once('error', reject);
    child.once('close', (status) => {
      if (timer) clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
