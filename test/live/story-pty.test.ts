/**
 * The view of `make start` tells the story one line per event, in order, above a status area that fits 120
 * columns: under a pseudo-terminal (a 120×40 tmux pane) and in plain --no-tty mode. The events are a shortened,
 * scripted story (test/live/story-driver.ts) through the same LiveScreen/storyLines/renderLive as main.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';

const DRIVER = join(REPO_ROOT, 'test', 'live', 'story-driver.ts');
const ORDER = ['SHOCK STARTED', 'DRIFT ALERT', 'RETRAIN STARTED', 'GATE PASSED  v2: roc_auc 0.850', 'PROMOTED v2 by drift-loop', 'SWAPPED v1 -> v2 in 345 ms', 'REFERENCE SWITCHED  v1 -> v2', 'SHOCK ENDED', 'DRIFT ALERT  window 9 vs v2', 'RETRAIN COOLDOWN'];

function inOrder(text: string): number[] {
  return ORDER.map((s) => text.indexOf(s));
}

describe("make start's story on screen", () => {
  it('under a pseudo-terminal: every event line in order above the status area, no line wider than 120 columns', async () => {
    const session = `story-${randomUUID().slice(0, 8)}`;
    const node = process.execPath;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '40', `${node} --import tsx ${DRIVER}; sleep 30`], { cwd: REPO_ROOT });
    try {
      let screen = '';
      for (let t = 0; t < 100 && !screen.includes('STORY DONE'); t++) {
        await new Promise((r) => setTimeout(r, 200));
        screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString();
      }
      const at = inOrder(screen);
      expect(at.every((x) => x >= 0), screen).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      const lines = screen.split('\n');
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(120);
      // the status area is below the events
      expect(screen.indexOf('credit-risk scorer — live')).toBeGreaterThan(at[at.length - 1]!);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });

  it('with --no-tty: each event printed once, in order, and status lines of at most 120 columns', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', DRIVER, '--no-tty'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const at = inOrder(r.stdout);
    expect(at.every((x) => x >= 0), r.stdout).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(r.stdout.split('SHOCK STARTED').length).toBe(2);
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout).toMatch(/^status: /m);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(120);
  });
});
