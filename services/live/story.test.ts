import { describe, expect, it } from 'vitest';
import type { FairnessWindowValue } from '../drift/fairness/codec.ts';
import type { DriftAlertValue } from '../drift/windows/codec.ts';
import { fit, Narrator, storyLines } from './story.ts';

const alert = (x: Partial<DriftAlertValue>): DriftAlertValue =>
  ({ kind: 'DRIFT', target: 'age', severity: 'ALERT', window_index: 7, psi: 0.5, reference_version: '1', previous_version: '', drifting_since_reference: '1', targets: [], outcome: '', detail: '', ...x }) as DriftAlertValue;

/** A fairness window with BLACK flagged against WHITE (the fields the story reads; fairness-line.test.ts covers the rest). */
const fairness = (x: Partial<FairnessWindowValue>): FairnessWindowValue =>
  ({
    window_index: 12,
    decisions: 9_012,
    unjoined: 0,
    air_min: 0.8,
    alpha: 0.05,
    min_count: 100,
    alert: true,
    transition: 'NONE',
    flagged: ['race_ethnicity:BLACK'],
    attributes: [
      {
        attribute: 'race_ethnicity',
        reference: 'WHITE',
        min_air: 0.61,
        min_air_group: 'BLACK',
        groups: [
          { group: 'WHITE', approval_rate: 0.797, air: null, p_value: null, flagged: false, enough: true },
          { group: 'BLACK', approval_rate: 0.486, air: 0.61, p_value: 1e-9, flagged: true, enough: true },
        ],
      },
    ],
    finalized_at: 0,
    ...x,
  }) as FairnessWindowValue;

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

  it('tells the disparity scenario starting and ending', () => {
    const disparity = { from: 96_000, until: 120_000, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 };
    expect(storyLines({ kind: 'disparity', at: 0, started: true, produced: 96_000, disparity })).toEqual([
      '00:00:00 DISPARITY STARTED  at application 96,000: race_ethnicity BLACK incomes x0.5 (simulator; the model never sees the group)',
    ]);
    expect(storyLines({ kind: 'disparity', at: 0, started: false, produced: 120_000, disparity })).toEqual(['00:00:00 DISPARITY ENDED  at application 120,000: race_ethnicity BLACK incomes back to normal (simulator)']);
  });

  it('tells each fairness window once, with FAIRNESS ALERT when it raises the alert and FAIRNESS RECOVERY when it clears it', () => {
    const n = new Narrator();
    expect(n.lines({ kind: 'fairness', at: 0, window: fairness({ transition: 'RAISED' }) })).toEqual([
      '00:00:00 fairness window 12: 9,012 decisions; lowest AIR race_ethnicity BLACK 0.61 (p<0.001) FLAGGED',
      '00:00:00 FAIRNESS ALERT  window 12: race_ethnicity BLACK AIR 0.61 (approved 48.6% vs WHITE 79.7%, p<0.001) — AIR < 0.8 at p < 0.05',
    ]);
    // Republished as its outcomes arrive: not told again.
    expect(n.lines({ kind: 'fairness', at: 1000, window: fairness({ transition: 'RAISED' }) })).toEqual([]);
    expect(n.lines({ kind: 'fairness', at: 30_000, window: fairness({ window_index: 13 }) })).toHaveLength(1);
    const cleared = fairness({ window_index: 14, transition: 'CLEARED', alert: false, flagged: [] });
    cleared.attributes[0]!.min_air = 0.93;
    cleared.attributes[0]!.groups[1] = { ...cleared.attributes[0]!.groups[1]!, air: 0.93, p_value: 0.2, flagged: false };
    expect(n.lines({ kind: 'fairness', at: 60_000, window: cleared })).toEqual([
      '00:01:00 fairness window 14: 9,012 decisions; lowest AIR race_ethnicity BLACK 0.93',
      '00:01:00 FAIRNESS RECOVERY  window 14: no group flagged (lowest AIR race_ethnicity BLACK 0.93)',
    ]);
  });

  it('fits status lines into 120 columns', () => {
    expect(fit('x'.repeat(200))).toHaveLength(120);
    expect(fit('short')).toBe('short');
  });
});
