/**
 * The scorer as it was at an earlier commit, measured in the same run as today's: "no more than 10%
 * slower than before" is a ratio of two figures from one machine, never of figures from two machines.
 *
 * `prepareBaseline(ref)` exports the commit's tree (git archive, no worktree state) into
 * .cache/bench-baseline/<commit>/ once, links this checkout's node_modules into it when the baseline's
 * dependencies are a subset of today's, else installs its own locked ones (a kafkajs-era commit), and
 * trains its initial model with its own pipeline code, so the baseline reads a bundle it was written for.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

export interface Baseline {
  /** The full commit id. */
  readonly commit: string;
  /** Where its tree is; contenders run from here. */
  readonly dir: string;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
}

export function prepareBaseline(ref: string, log: (m: string) => void): Baseline {
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--baseline ${ref}: not a commit of this repository`);
  }
  const dir = join(REPO_ROOT, '.cache', 'bench-baseline', commit);
  const ready = join(dir, '.ready');
  if (existsSync(ready)) return { commit, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`baseline: exporting ${commit.slice(0, 12)} into ${dir} (once)`);
  execFileSync('bash', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], { cwd: REPO_ROOT, stdio: 'inherit' });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const missing = Object.keys(pkg.dependencies ?? {}).filter((d) => !existsSync(join(REPO_ROOT, 'node_modules', d)));
  if (missing.length === 0) symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  else {
    // A baseline on another client (kafkajs before the switch to librdkafka): its own locked dependencies.
    log(`baseline: installing its own locked dependencies (it needs ${missing.join(', ')}, which this checkout no longer has; once)`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  log(`baseline: training its initial model with its own pipeline (once)`);
  execFileSync(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-m', 'pipeline.train_initial', '--out', 'models/credit-default-classifier/1'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(ready, `${new Date().toISOString()}\n`);
  return { commit, dir };
}
