/**
 * The GitHub Actions workflow: actionlint passes, and every step runs a `make` target that exists, so CI
 * and a developer run the same commands.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { run, tool } from './tools.ts';

const WORKFLOWS = join(REPO_ROOT, '.github', 'workflows');

interface Workflow {
  jobs: Record<string, { steps: { run?: string; uses?: string }[] }>;
}

function makeTargets(): Set<string> {
  const text = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
  return new Set([...text.matchAll(/^([a-zA-Z][\w-]*):/gm)].map((m) => m[1]!));
}

describe('GitHub Actions workflows', () => {
  const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(WORKFLOWS, f));

  it('pass actionlint', () => {
    expect(files.length).toBeGreaterThan(0);
    const r = run(tool('actionlint'), ['-no-color', ...files]);
    expect(r.status, r.output).toBe(0);
  });

  it('every run step is a make target that exists; together they cover typecheck, lint, unit, integration, the pipeline gate, images and the compose smoke test', () => {
    const targets = makeTargets();
    const used = new Set<string>();
    for (const f of files) {
      const wf = parse(readFileSync(f, 'utf8')) as Workflow;
      for (const [job, j] of Object.entries(wf.jobs)) {
        for (const s of j.steps) {
          if (!s.run) continue;
          const m = /^make ([\w-]+)/.exec(s.run.trim());
          expect(m, `${job}: "${s.run}" is not a make target`).not.toBeNull();
          expect(targets.has(m![1]!), `${job}: make ${m![1]} does not exist`).toBe(true);
          used.add(m![1]!);
        }
      }
    }
    expect([...used]).toEqual(expect.arrayContaining(['typecheck', 'lint', 'test-unit', 'test-py', 'test', 'gate', 'images', 'compose-smoke']));
  });
});
