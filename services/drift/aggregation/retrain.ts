/**
 * Runs the configured retrain command (e.g. `make retrain`) in a shell at the repository root, with the
 * drift context in its environment, and reports how it ended. The drift monitor records the outcome; it
 * does not interpret what the command does.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../shared/schemas.ts';

export interface CommandOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  /** The last 2,000 characters of stdout + stderr. */
  readonly tail: string;
}

export function runCommand(command: string, env: Record<string, string>, timeoutMs: number, cwd = REPO_ROOT): Promise<CommandOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-2000));
    let child;
    try {
      child = spawn('/bin/sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      resolve({ ok: false, exitCode: null, signal: null, durationMs: 0, tail: (e as Error).message });
      return;
    }
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const timer = setTimeout(() => {
      tail += `\n[killed after ${timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole process group the shell started
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    timer.unref();
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, exitCode: null, signal: null, durationMs: Date.now() - started, tail: `${tail}${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, exitCode: code, signal, durationMs: Date.now() - started, tail });
    });
  });
}
