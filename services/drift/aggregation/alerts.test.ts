import { describe, expect, it } from 'vitest';
import { INITIAL_ALERT_STATE, onWindow, type AlertState } from './alerts.ts';
import type { TargetResult, WindowResult } from '../statistics/evaluate.ts';
import type { Severity } from '../statistics/psi.ts';

const policy = { recoveryWindows: 2, retrainMinFeatures: 2 };

function window(index: number, severities: Record<string, Severity>, evaluated = true): WindowResult {
  const targets = Object.entries(severities).map(([target, severity]): TargetResult => ({
    target,
    psi: severity === 'ALERT' ? 0.4 : severity === 'WARN' ? 0.15 : 0.01,
    psiPValue: 0.5,
    psiDf: 9,
    ksStatistic: 0.01,
    ksPValue: 0.5,
    severity: evaluated ? severity : 'INSUFFICIENT',
    records: 1000,
    missing: 0,
    counts: [],
    expected: [],
    edges: [],
  }));
  return { index, windowing: 'w', start: 0, end: 1, firstEventAt: 0, lastEventAt: 1, referenceVersion: '1', modelName: 'm', referenceRecords: 1, records: 1000, partitions: [0], late: 0, evaluated, targets, performance: undefined, finalizedAt: 0 };
}

function replay(windows: WindowResult[], state: AlertState = INITIAL_ALERT_STATE) {
  const log: string[] = [];
  for (const w of windows) {
    const r = onWindow(state, w, policy);
    state = r.state;
    for (const e of r.events) log.push(`${w.index}:${e.kind}:${e.target}:${e.severity}:since ${e.since}`);
    if (r.retrain) log.push(`${w.index}:RETRAIN:${r.retrain.targets.join('+')}`);
  }
  return { log, state };
}

describe('alert state machine', () => {
  it('raises one DRIFT per window per drifting target, and one RECOVERY after enough quiet windows', () => {
    const { log } = replay([
      window(1, { a: 'NONE', b: 'NONE' }),
      window(2, { a: 'WARN', b: 'NONE' }),
      window(3, { a: 'ALERT', b: 'NONE' }),
      window(4, { a: 'NONE', b: 'NONE' }),
      window(5, { a: 'WARN', b: 'NONE' }),
      window(6, { a: 'NONE', b: 'NONE' }),
      window(7, { a: 'NONE', b: 'NONE' }),
      window(8, { a: 'NONE', b: 'NONE' }),
    ]);
    expect(log).toEqual(['2:DRIFT:a:WARN:since 2', '3:DRIFT:a:ALERT:since 2', '5:DRIFT:a:WARN:since 2', '7:RECOVERY:a:NONE:since 2']);
  });

  it('ignores windows too small to evaluate', () => {
    const { log } = replay([window(1, { a: 'ALERT' }), window(2, { a: 'NONE' }, false), window(3, { a: 'NONE' }, false), window(4, { a: 'NONE' }), window(5, { a: 'NONE' })]);
    expect(log).toEqual(['1:DRIFT:a:ALERT:since 1', '5:RECOVERY:a:NONE:since 1']);
  });

  it('triggers retraining once per episode: ALERT on the score or on two features, not on one feature or on WARN', () => {
    expect(replay([window(1, { a: 'ALERT', b: 'WARN', score: 'WARN' })]).log.filter((l) => l.includes('RETRAIN'))).toEqual([]);
    expect(replay([window(1, { a: 'NONE', score: 'ALERT' })]).log).toContain('1:RETRAIN:score');
    const { log } = replay([
      window(1, { a: 'ALERT', b: 'ALERT', score: 'NONE' }),
      window(2, { a: 'ALERT', b: 'ALERT', score: 'ALERT' }),
      window(3, { a: 'NONE', b: 'NONE', score: 'NONE' }),
      window(4, { a: 'NONE', b: 'NONE', score: 'NONE' }),
      window(5, { a: 'ALERT', b: 'ALERT', score: 'NONE' }),
    ]);
    expect(log.filter((l) => l.includes('RETRAIN'))).toEqual(['1:RETRAIN:a+b', '5:RETRAIN:a+b']);
  });

  it('continues after a restart from its state exactly as without one', () => {
    const windows = [window(1, { a: 'ALERT', b: 'ALERT' }), window(2, { a: 'NONE', b: 'ALERT' }), window(3, { a: 'NONE', b: 'NONE' }), window(4, { a: 'NONE', b: 'NONE' })];
    const whole = replay(windows).log;
    const first = replay(windows.slice(0, 2));
    const rest = replay(windows.slice(2), JSON.parse(JSON.stringify(first.state)) as AlertState);
    expect([...first.log, ...rest.log]).toEqual(whole);
  });
});
