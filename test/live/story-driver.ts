/**
 * Drives the view `make start` uses (services/live/screen.ts, story.ts, view.ts) through a shortened story,
 * one event every STEP ms, for test/live/story-pty.test.ts: under a terminal (tmux) and with --no-tty.
 */
import type { DriftAlertValue } from '../../services/drift/windows/codec.ts';
import { LiveScreen } from '../../services/live/screen.ts';
import { storyLines, type StoryEvent } from '../../services/live/story.ts';
import { renderLive } from '../../services/live/view.ts';

const STEP = 150;
const alert = (x: Partial<DriftAlertValue>): DriftAlertValue =>
  ({ kind: 'DRIFT', target: 'age', severity: 'ALERT', window_index: 4, psi: 0.52, reference_version: '1', previous_version: '', drifting_since_reference: '1', targets: [], outcome: '', detail: '', ...x }) as DriftAlertValue;
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const events: StoryEvent[] = [
  { kind: 'shock', at: t0, started: true, produced: 30_000 },
  { kind: 'alerts', at: t0 + 1, alerts: [alert({ target: 'age', psi: 0.52 }), alert({ target: 'score', psi: 0.93 }), alert({ kind: 'RETRAIN', target: '*', outcome: 'started', targets: ['score', 'age'], detail: 'make retrain (attempt 1 of 3; 2400 labelled outcomes)' })] },
  { kind: 'promoted', at: t0 + 2, version: '2', action: 'PROMOTE', by: 'drift-loop', reason: 'gate passed', metrics: { roc_auc: 0.85, pr_auc: 0.7, brier: 0.16 }, fromWindow: 6 },
  { kind: 'swap', at: t0 + 3, ok: true, version: '2', previous: '1', ms: 345, reason: 'PROMOTE' },
  { kind: 'alerts', at: t0 + 4, alerts: [alert({ kind: 'REFERENCE', target: '*', previous_version: '1', reference_version: '2', window_index: 6 })] },
  { kind: 'shock', at: t0 + 5, started: false, produced: 66_000 },
  { kind: 'alerts', at: t0 + 6, alerts: [alert({ target: 'age', psi: 0.47, window_index: 9, reference_version: '2' }), alert({ kind: 'RETRAIN', target: '*', outcome: 'cooldown', window_index: 9, detail: 'cooling down until 12:30:00Z' })] },
];
const screen = new LiveScreen(process.stdout, Boolean(process.stdout.isTTY) && !process.argv.includes('--no-tty'), 2 * STEP);
const status = (i: number) =>
  renderLive({ uptimeS: i, produced: i * 1000, producedInvalid: 0, producedRate: 300, scored: i * 1000, scoredRate: 300, decisions: { APPROVE: i }, deadLetters: {}, lag: 0, p50Ms: 3, p99Ms: 9, modelVersion: i > 3 ? '2' : '1', brokers: '127.0.0.1:9092', notes: ['x'.repeat(300)] });
let i = 0;
const timer = setInterval(() => {
  const e = events[i];
  const lines = status(i);
  screen.frame(e ? storyLines(e) : [], lines, `${lines[2]!.trim()} | model v${i > 3 ? '2' : '1'}`);
  if (++i > events.length + 1) {
    clearInterval(timer);
    process.stdout.write('STORY DONE\n');
  }
}, STEP);
