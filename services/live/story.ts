/**
 * The story of `make start` as one line per event, in the order things happen: shock started/ended (the
 * simulator), DRIFT ALERT with targets and PSI, the retrain loop's steps (RETRAIN started / waiting for
 * outcomes / failed …), the gate result with its metrics and PROMOTED vN with who and why (the model-updates
 * announcement the drift monitor verified), SWAPPED vN in ms (the scorer), reference switched, RECOVERY; and
 * the fairness story: disparity started/ended (the simulator), a line per fairness window, FAIRNESS ALERT and
 * FAIRNESS RECOVERY (fairness-line.ts). Pure: the live process feeds it events and prints the lines it returns;
 * the status area below them is redrawn.
 */
import type { FairnessWindowValue } from '../drift/fairness/codec.ts';
import type { DriftAlertValue } from '../drift/windows/codec.ts';
import { describeDisparity, type Disparity } from '../simulator/disparity.ts';
import { fairnessLines } from './fairness-line.ts';

export const STATUS_WIDTH = 120;

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const psi = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '?');

/** Cuts a line to `width` columns (status lines never wrap). */
export function fit(line: string, width = STATUS_WIDTH): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

export type StoryEvent =
  | { readonly kind: 'shock'; readonly at: number; readonly started: boolean; readonly produced: number }
  | { readonly kind: 'alerts'; readonly at: number; readonly alerts: readonly DriftAlertValue[] }
  | { readonly kind: 'promoted'; readonly at: number; readonly version: string; readonly action: string; readonly by: string; readonly reason: string; readonly metrics: Readonly<Record<string, number>>; readonly fromWindow: number }
  | { readonly kind: 'swap'; readonly at: number; readonly ok: boolean; readonly version: string; readonly previous?: string; readonly ms: number; readonly reason: string }
  | { readonly kind: 'disparity'; readonly at: number; readonly started: boolean; readonly produced: number; readonly disparity: Disparity }
  /** A fairness window read back from fairness-windows (the Narrator tells each window index once). */
  | { readonly kind: 'fairness'; readonly at: number; readonly window: FairnessWindowValue };

const METRICS = ['roc_auc', 'pr_auc', 'brier'];

/** The lines an event adds to the story (alerts of one batch are grouped per window and kind). */
export function storyLines(e: StoryEvent): string[] {
  const t = hhmmss(e.at);
  switch (e.kind) {
    case 'shock':
      return [`${t} SHOCK ${e.started ? 'STARTED' : 'ENDED'}  at application ${e.produced.toLocaleString('en-US')} (simulator)`];
    case 'disparity':
      return [
        e.started
          ? `${t} DISPARITY STARTED  at application ${e.produced.toLocaleString('en-US')}: ${describeDisparity(e.disparity)} (simulator; the model never sees the group)`
          : `${t} DISPARITY ENDED  at application ${e.produced.toLocaleString('en-US')}: ${e.disparity.attribute} ${e.disparity.group} incomes back to normal (simulator)`,
      ];
    case 'fairness':
      return fairnessLines(e.window).map((l) => `${t} ${l}`);
    case 'promoted': {
      const m = METRICS.filter((k) => e.metrics[k] !== undefined).map((k) => `${k} ${e.metrics[k]!.toFixed(3)}`);
      const lines = m.length ? [`${t} GATE PASSED  v${e.version}: ${m.join(', ')}`] : [];
      lines.push(`${t} ${e.action === 'ROLLBACK' ? 'ROLLED BACK to' : 'PROMOTED'} v${e.version}${e.by ? ` by ${e.by}` : ''}${e.reason ? `: ${e.reason}` : ''} (drift compares windows from ${e.fromWindow} with it)`);
      return lines;
    }
    case 'swap':
      return [e.ok ? `${t} SWAPPED v${e.previous ?? '?'} -> v${e.version} in ${Math.round(e.ms)} ms (scorer)` : `${t} SWAP REFUSED v${e.version}: ${e.reason}`];
    case 'alerts': {
      const out: string[] = [];
      const groups = new Map<string, DriftAlertValue[]>();
      for (const a of e.alerts) {
        const k = `${a.kind}:${a.window_index}:${a.kind === 'RETRAIN' ? a.outcome : a.kind === 'DRIFT' ? a.severity : ''}`;
        groups.set(k, [...(groups.get(k) ?? []), a]);
      }
      for (const g of groups.values()) {
        const a = g[0]!;
        const targets = [...g].sort((x, y) => (y.psi || 0) - (x.psi || 0)).map((x) => `${x.target} ${psi(x.psi)}`).join(', ');
        if (a.kind === 'DRIFT') out.push(`${t} DRIFT ${a.severity}  window ${a.window_index} vs v${a.reference_version}: ${targets}`);
        else if (a.kind === 'RECOVERY') out.push(`${t} RECOVERY  window ${a.window_index} vs v${a.reference_version}: ${g.map((x) => x.target).join(', ')}${a.drifting_since_reference && a.drifting_since_reference !== a.reference_version ? ` (drift began against v${a.drifting_since_reference})` : ''}`);
        else if (a.kind === 'REFERENCE') out.push(`${t} REFERENCE SWITCHED  v${a.previous_version} -> v${a.reference_version} from window ${a.window_index}`);
        else if (a.kind === 'RETRAIN') {
          const label = a.outcome === 'started' ? 'RETRAIN STARTED' : a.outcome === 'waiting' ? 'RETRAIN WAITING' : `RETRAIN ${a.outcome.toUpperCase()}`;
          out.push(`${t} ${label}  ${a.targets.length ? `(${a.targets.join(', ')}) ` : ''}${a.detail}`);
        }
      }
      return out;
    }
  }
}

/**
 * The story with memory: storyLines per event, plus a line for what the loop does NOT do and why. After a
 * retrain of the open incident succeeded, an ALERT against the new reference is part of the same incident
 * (the loop retrains once per incident; a new one opens once every target has recovered), so the screen
 * says so, once per window, instead of leaving a silent gap after the alert. A fairness window is told once
 * (the monitor republishes a window as its outcomes arrive).
 */
export class Narrator {
  private retrainedAt: string | undefined;
  private readonly explained = new Set<number>();
  private readonly fairnessTold = new Set<number>();

  lines(e: StoryEvent): string[] {
    if (e.kind === 'fairness') {
      if (this.fairnessTold.has(e.window.window_index)) return [];
      this.fairnessTold.add(e.window.window_index);
      // Bounded: the oldest index told goes first (windows arrive in about index order).
      if (this.fairnessTold.size > 1000) this.fairnessTold.delete(this.fairnessTold.values().next().value!);
    }
    const out = storyLines(e);
    if (e.kind !== 'alerts') return out;
    const t = hhmmss(e.at);
    for (const a of e.alerts) if (a.kind === 'RETRAIN' && a.outcome === 'succeeded') this.retrainedAt = hhmmss(e.at);
    const recovered = e.alerts.some((a) => a.kind === 'RECOVERY') && !e.alerts.some((a) => a.kind === 'DRIFT' && a.severity === 'ALERT');
    if (recovered) {
      this.retrainedAt = undefined;
      return out;
    }
    if (this.retrainedAt === undefined) return out;
    for (const a of e.alerts) {
      if (a.kind !== 'DRIFT' || a.severity !== 'ALERT' || this.explained.has(a.window_index)) continue;
      this.explained.add(a.window_index);
      out.push(`${t} NO RETRAIN  window ${a.window_index}: same incident, retrained at ${this.retrainedAt}; next once all targets recover`);
    }
    return out;
  }
}
