/**
 * Child processes of the benchmark (contenders, peers, Kafka's perf tools): started with an environment,
 * watched through /proc (CPU seconds of all threads, resident memory), stopped by their own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface Usage {
  /** user + system CPU seconds of the process and its threads so far. */
  readonly cpuSec: number;
  readonly rssMb: number;
  /** Peak resident set size (VmHWM). */
  readonly peakRssMb: number;
}

/** Reads /proc/<pid>; undefined once the process is gone. */
export function usage(pid: number): Usage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuSec, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first 20 kB and the last 50 kB of stdout + stderr. */
  output(): string;
  /** Resolves when a line of output matches `re`; rejects if the process exits first or on timeout. */
  waitFor(re: RegExp, timeoutMs: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export function start(name: string, cmd: string, args: readonly string[], env: Record<string, string> = {}, cwd: string = REPO_ROOT): Proc {
  // The services refuse to start with libuv's default 4 threads (services/shared/kafka/native.ts); make sets 16.
  const child = spawn(cmd, args, { cwd, env: { UV_THREADPOOL_SIZE: '16', ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  let head = '';
  let out = '';
  let dropped = false;
  const watchers = new Set<() => void>();
  const onData = (d: Buffer) => {
    const s = d.toString();
    if (head.length < 20_000) head += s.slice(0, 20_000 - head.length);
    out += s;
    if (out.length > 100_000) {
      out = out.slice(-50_000);
      dropped = true;
    }
    for (const w of watchers) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      done = true;
      for (const w of watchers) w();
      res({ code, signal });
    }),
  );
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    pid: child.pid,
    output: () => (dropped ? `${head}\n[...]\n${out.slice(-50_000)}` : out),
    exited,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`${name}: no output matching ${re} within ${timeoutMs} ms; output:\n${out.slice(-3000)}`)), timeoutMs);
        const check = () => {
          if (re.test(out) || re.test(head)) finish();
          else if (done) finish(new Error(`${name} exited before printing ${re}; output:\n${out.slice(-3000)}`));
        };
        const finish = (e?: Error) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (e) reject(e);
          else resolve();
        };
        watchers.add(check);
        check();
      });
    },
    stop(graceMs = 30_000) {
      stopping ??= (async () => {
        if (done) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Runs a command to completion and returns its output; rejects on a non-zero exit. */
export async function run(name: string, cmd: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<string> {
  const p = start(name, cmd, args, env);
  const timer = setTimeout(() => void p.stop(2000), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (${signal ?? `exit ${code}`}):\n${p.output().slice(-4000)}`);
  return p.output();
}

export const PYTHON = `${REPO_ROOT}/.venv/bin/python`;
