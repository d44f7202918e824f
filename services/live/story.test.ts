import { describe, expect, it } from 'vitest';
import type { DriftAlertValue } from '../drift/windows/codec.ts';
import { fit, Narrator, storyLines } from './story.ts';

const alert = (x: Partial<DriftAlertValue>): DriftAlertValue =>
  ({ kind: 'DRIFT', target: 'age', severity: 'ALERT', window_index: 7, psi: 0.5, reference_version: '1', previous_version: '', drifting_since_reference: '1', targets: [], outcome: '', detail: '', ...x }) as DriftAlertValue;

describe('the story lines of make start', () => {
  it('groups a window\'s alerts into one line per kind, with targets and PSI', () => {
    const lines = storyLines({
      kind: 'alerts',
      at: 0,
      alerts: [alert({ target: 'age', psi: 0.52 }), alert({ target: 'score', psi: 0.93 }), alert({ kind: 'RETRAIN', target: '*', outcome: 'waiting', targets: ['score', 'age'], detail: 'waiting for outcomes (12 of 2000)' })],
    });
    expect(lines).toEqual(['00:00:00 DRIFT ALERT  window 7 vs v1: score 0.93, age 0.52', '00:00:00 RETRAIN WAITING  (score, age) waiting for outcomes (12 of 2000)']);
  });

  it('tells promotion with gate metrics and approver, the swap, the switch and a recovery against the new reference', () => {
    expect(storyLines({ kind: 'promoted', at: 0, version: '2', action: 'PROMOTE', by: 'alice', reason: 'shock retrain', metrics: { roc_auc: 0.851, brier: 0.15 }, fromWindow: 9 })).toEqual([
      '00:00:00 GATE PASSED  v2: roc_auc 0.851, brier 0.150',
      '00:00:00 PROMOTED v2 by alice: shock retrain (drift compares windows from 9 with it)',
    ]);
    expect(storyLines({ kind: 'swap', at: 0, ok: true, version: '2', previous: '1', ms: 345.2, reason: '' })).toEqual(['00:00:00 SWAPPED v1 -> v2 in 345 ms (scorer)']);
    expect(storyLines({ kind: 'alerts', at: 0, alerts: [alert({ kind: 'REFERENCE', target: '*', previous_version: '1', reference_version: '2', window_index: 9 })] })).toEqual(['00:00:00 REFERENCE SWITCHED  v1 -> v2 from window 9']);
    expect(storyLines({ kind: 'alerts', at: 0, alerts: [alert({ kind: 'RECOVERY', severity: 'NONE', reference_version: '2', drifting_since_reference: '1' })] })).toEqual([
      '00:00:00 RECOVERY  window 7 vs v2: age (drift began against v1)',
    ]);
    expect(storyLines({ kind: 'shock', at: 0, started: true, produced: 30000 })).toEqual(['00:00:00 SHOCK STARTED  at application 30,000 (simulator)']);
  });

  it('says why an ALERT after a successful retrain of the same incident starts no retrain, once per window, until recovery', () => {
    const n = new Narrator();
    expect(n.lines({ kind: 'alerts', at: 0, alerts: [alert({ window_index: 5 })] })).toEqual(['00:00:00 DRIFT ALERT  window 5 vs v1: age 0.50']);
    n.lines({ kind: 'alerts', at: 1000, alerts: [alert({ kind: 'RETRAIN', target: '*', outcome: 'succeeded', targets: ['age'], detail: 'done' })] });
    const after = n.lines({ kind: 'alerts', at: 2000, alerts: [alert({ window_index: 6, reference_version: '2' }), alert({ window_index: 6, target: 'score', reference_version: '2' })] });
    expect(after.filter((l) => l.includes('NO RETRAIN'))).toEqual(['00:00:02 NO RETRAIN  window 6: same incident, retrained at 00:00:01; next once all targets recover']);
    expect(n.lines({ kind: 'alerts', at: 3000, alerts: [alert({ window_index: 6, target: 'income', reference_version: '2' })] }).some((l) => l.includes('NO RETRAIN'))).toBe(false);
    n.lines({ kind: 'alerts', at: 4000, alerts: [alert({ kind: 'RECOVERY', severity: 'NONE', window_index: 8, reference_version: '2' })] });
    expect(n.lines({ kind: 'alerts', at: 5000, alerts: [alert({ window_index: 9, reference_version: '2' })] }).some((l) => l.includes('NO RETRAIN'))).toBe(false);
  });

  it('fits status lines into 120 columns', () => {
    expect(fit('x'.repeat(200))).toHaveLength(120);
    expect(fit('short')).toBe('short');
  });
});
