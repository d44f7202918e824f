/**
 * From window results to drift events. Per target a small state machine: a window at WARN or ALERT raises
 * one DRIFT event for that window (its dedup key names target and window, so redelivery never makes two);
 * after `recoveryWindows` consecutive windows below WARN a drifting target raises one RECOVERY. Windows too
 * small to evaluate change nothing. Then the closed loop: an ALERT on the score, or on at least
 * `minFeatures` features, triggers retraining once per drift episode (until every target has recovered).
 * Pure; the state is small and serializable so it survives a restart of the aggregator.
 */
import type { Severity } from '../statistics/psi.ts';
import { SCORE_TARGET } from '../statistics/reference.ts';
import type { TargetResult, WindowResult } from '../statistics/evaluate.ts';

export interface TargetAlertState {
  readonly drifting: boolean;
  /** First window of the current drift episode of this target (-1 when not drifting). */
  readonly since: number;
  readonly okStreak: number;
}

export interface AlertState {
  readonly targets: Readonly<Record<string, TargetAlertState>>;
  /** True from a retrain trigger until every target has recovered. */
  readonly retrainEpisode: boolean;
}

export const INITIAL_ALERT_STATE: AlertState = Object.freeze({ targets: {}, retrainEpisode: false });

export interface DriftEvent {
  readonly kind: 'DRIFT' | 'RECOVERY';
  readonly target: string;
  readonly severity: Severity;
  readonly since: number;
  readonly result: TargetResult;
}

export interface RetrainTrigger {
  /** The targets at ALERT in the window that triggered it. */
  readonly targets: readonly string[];
}

export interface AlertPolicy {
  readonly recoveryWindows: number;
  readonly retrainMinFeatures: number;
}

const OK: TargetAlertState = Object.freeze({ drifting: false, since: -1, okStreak: 0 });

/** Events for `w` and the next state. */
export function onWindow(state: AlertState, w: WindowResult, policy: AlertPolicy): { state: AlertState; events: DriftEvent[]; retrain: RetrainTrigger | undefined } {
  const events: DriftEvent[] = [];
  const targets: Record<string, TargetAlertState> = { ...state.targets };
  if (w.evaluated) {
    for (const r of w.targets) {
      const s = targets[r.target] ?? OK;
      if (r.severity === 'WARN' || r.severity === 'ALERT') {
        const since = s.drifting ? s.since : w.index;
        events.push({ kind: 'DRIFT', target: r.target, severity: r.severity, since, result: r });
        targets[r.target] = { drifting: true, since, okStreak: 0 };
      } else if (r.severity === 'NONE' && s.drifting) {
        const okStreak = s.okStreak + 1;
        if (okStreak >= policy.recoveryWindows) {
          events.push({ kind: 'RECOVERY', target: r.target, severity: 'NONE', since: s.since, result: r });
          targets[r.target] = OK;
        } else targets[r.target] = { ...s, okStreak };
      }
    }
  }
  let retrainEpisode = state.retrainEpisode;
  let retrain: RetrainTrigger | undefined;
  const alerting = w.evaluated ? w.targets.filter((r) => r.severity === 'ALERT').map((r) => r.target) : [];
  const features = alerting.filter((t) => t !== SCORE_TARGET);
  if (!retrainEpisode && (alerting.includes(SCORE_TARGET) || features.length >= policy.retrainMinFeatures)) {
    retrain = { targets: alerting };
    retrainEpisode = true;
  } else if (retrainEpisode && Object.values(targets).every((s) => !s.drifting)) {
    retrainEpisode = false;
  }
  return { state: { targets, retrainEpisode }, events, retrain };
}
