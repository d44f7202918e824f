/**
 * make start's fairness lines from FairnessWindowValue records: the lowest AIR per attribute with its p-value
 * and flag, "n/a (too few)" without enough decisions, the alert naming the flagged groups, the recovery, and
 * the status area's section with the disparity scenario.
 */
import { describe, expect, it } from 'vitest';
import type { FairnessAttributeValue, FairnessGroupValue, FairnessWindowValue } from '../drift/fairness/codec.ts';
import { fairLending } from '../shared/fair-lending.ts';
import type { Disparity } from '../simulator/disparity.ts';
import { disparityLine, fairnessAlertLine, fairnessLines, fairnessRecoveryLine, fairnessWindowLine, renderFairnessPanel } from './fairness-line.ts';

function group(name: string, x: Partial<FairnessGroupValue> = {}): FairnessGroupValue {
  return {
    group: name,
    decisions: 1000,
    approve: 780,
    review: 150,
    decline: 70,
    approval_rate: 0.78,
    mean_score: 0.2,
    air: null,
    air_low: null,
    air_high: null,
    p_value: null,
    smd: null,
    enough: true,
    flagged: false,
    labelled: 0,
    default_rate_approved: 0,
    false_positive_rate: 0,
    false_negative_rate: 0,
    ece: 0,
    ...x,
  };
}

const race = (x: Partial<FairnessAttributeValue> = {}): FairnessAttributeValue => ({
  attribute: 'race_ethnicity',
  reference: 'WHITE',
  min_air: 0.71,
  min_air_group: 'BLACK',
  groups: [
    group('WHITE', { decisions: 1500, approval_rate: 0.8 }),
    group('BLACK', { decisions: 260, approval_rate: 0.568, air: 0.71, air_low: 0.63, air_high: 0.8, p_value: 0.003, smd: 0.4, flagged: true }),
    group('HISPANIC', { decisions: 300, approval_rate: 0.744, air: 0.93, p_value: 0.2 }),
    group('OTHER', { decisions: 40, enough: false }),
    group('NOT_PROVIDED', { decisions: 60, enough: false }),
  ],
  ...x,
});
const sex = (x: Partial<FairnessAttributeValue> = {}): FairnessAttributeValue => ({
  attribute: 'sex',
  reference: 'MALE',
  min_air: 0.97,
  min_air_group: 'FEMALE',
  groups: [group('MALE', { approval_rate: 0.79 }), group('FEMALE', { air: 0.97, p_value: 0.3 }), group('NOT_PROVIDED', { decisions: 30, enough: false })],
  ...x,
});

function fairnessWindow(x: Partial<FairnessWindowValue> = {}): FairnessWindowValue {
  return {
    window_index: 12,
    windowing: 'tumbling:30000',
    window_start: 0,
    window_end: 30_000,
    deployment: '',
    layout: 'fl1',
    decisions: 2410,
    unjoined: 0,
    partitions: [0, 1],
    air_min: 0.8,
    alpha: 0.05,
    min_count: 100,
    alert: true,
    transition: 'NONE',
    flagged: ['race_ethnicity:BLACK'],
    attributes: [race(), sex()],
    counts: [],
    finalized_at: 0,
    ...x,
  };
}

describe('fairness window lines', () => {
  it('one line per window: the lowest AIR per attribute, the p-value below the floor, FLAGGED', () => {
    expect(fairnessWindowLine(fairnessWindow())).toBe('fairness window 12: 2,410 decisions; lowest AIR race_ethnicity BLACK 0.71 (p=0.003) FLAGGED; sex FEMALE 0.97');
  });

  it('shows "n/a (too few)" for an attribute without a compared group, decisions without demographics, a p-value below 0.001', () => {
    const w = fairnessWindow({
      unjoined: 17,
      alert: false,
      flagged: [],
      attributes: [race({ min_air: 0.78, groups: [group('WHITE'), group('BLACK', { air: 0.78, p_value: 0.0004 })] }), sex({ min_air: null, min_air_group: '', groups: [group('MALE', { enough: false }), group('FEMALE', { enough: false })] })],
    });
    expect(fairnessWindowLine(w)).toBe('fairness window 12: 2,410 decisions (17 without demographics); lowest AIR race_ethnicity BLACK 0.78 (p<0.001); sex n/a (too few)');
  });

  it('names a flagged group that is not its attribute\'s lowest', () => {
    const w = fairnessWindow({ flagged: ['race_ethnicity:BLACK', 'race_ethnicity:HISPANIC'] });
    expect(fairnessWindowLine(w)).toMatch(/; also flagged race_ethnicity:HISPANIC$/);
  });

  it('RAISED adds a FAIRNESS ALERT naming the flagged groups; CLEARED a FAIRNESS RECOVERY; NONE nothing more', () => {
    expect(fairnessAlertLine(fairnessWindow({ transition: 'RAISED' }))).toBe(
      'FAIRNESS ALERT  window 12: race_ethnicity BLACK AIR 0.71 (approved 56.8% vs WHITE 80.0%, p=0.003) — AIR < 0.8 at p < 0.05',
    );
    expect(fairnessLines(fairnessWindow({ transition: 'RAISED' }))).toHaveLength(2);
    const cleared = fairnessWindow({ window_index: 15, transition: 'CLEARED', alert: false, flagged: [], attributes: [race({ min_air: 0.9, groups: [group('WHITE'), group('BLACK', { air: 0.9, p_value: 0.04 })] }), sex()] });
    expect(fairnessRecoveryLine(cleared)).toBe('FAIRNESS RECOVERY  window 15: no group flagged (lowest AIR race_ethnicity BLACK 0.90, sex FEMALE 0.97)');
    expect(fairnessLines(cleared)[1]).toBe(fairnessRecoveryLine(cleared));
    expect(fairnessLines(fairnessWindow())).toEqual([fairnessWindowLine(fairnessWindow())]);
  });
});

describe('the status area\'s fairness section', () => {
  const d: Disparity = { from: 96_000, until: 120_000, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 };
  const attributes = fairLending().attributes;

  it('the latest window\'s AIR per group: the reference and not-provided left out, too few shown as such', () => {
    const lines = renderFairnessPanel({ latest: fairnessWindow({ unjoined: 3 }), attributes, disparity: { disparity: d, produced: 100_000 } });
    expect(lines).toEqual([
      '',
      '  fairness   window 12   2,410 decisions (3 without demographics)   ALERT race_ethnicity:BLACK   (flagged: AIR < 0.8 at p < 0.05, >= 100 each)',
      '    race_ethnicity vs WHITE   BLACK 0.71 (p=0.003) FLAGGED  HISPANIC 0.93  OTHER n/a (too few)',
      '    sex vs MALE               FEMALE 0.97',
      '    disparity scenario: ON since application 96,000, until application 120,000 — race_ethnicity BLACK incomes x0.5 (the model never sees the group)',
    ]);
  });

  it('before the first window; the disparity before, after and off', () => {
    expect(renderFairnessPanel({ latest: undefined, attributes, disparity: { disparity: undefined, produced: 0 } }).slice(1)).toEqual([
      '  fairness   no window yet (decisions joined with applicant-demographics, per drift window)',
      '    disparity scenario: off (LIVE_DISPARITY_AFTER=0)',
    ]);
    expect(disparityLine({ disparity: d, produced: 90_000 })).toBe('disparity scenario: starts at application 96,000 (in 6,000), until application 120,000: race_ethnicity BLACK incomes x0.5');
    expect(disparityLine({ disparity: d, produced: 120_000 })).toBe('disparity scenario: lifted at application 120,000 (was on from 96,000): incomes back to normal');
    expect(disparityLine({ disparity: { ...d, until: undefined }, produced: 500_000 })).toMatch(/^disparity scenario: ON since application 96,000, for good/);
  });
});
