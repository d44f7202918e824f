/**
 * The drift monitor's section of the live terminal view (`make start`): PSI per target of the latest
 * window with its severity, the simulator's macro shock, and the latest alerts. Pure: lines of text from
 * plain data.
 */
import type { DriftAlertValue, DriftWindowValue } from '../windows/codec.ts';
import type { Bands } from '../statistics/psi.ts';

export interface ShockStatus {
  /** Event index where the shock starts; undefined when off. */
  readonly from: number | undefined;
  /** Event index where it ends; undefined: never. */
  readonly until: number | undefined;
  /** Events produced so far. */
  readonly produced: number;
}

export interface DriftPanel {
  readonly latest: DriftWindowValue | undefined;
  readonly bands: Bands;
  readonly alerts: readonly DriftAlertValue[];
  readonly alertCounts: Readonly<Record<string, number>>;
  readonly shock: ShockStatus;
  readonly reportUrl: string | undefined;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const MARK: Record<string, string> = { NONE: 'ok', WARN: 'WARN', ALERT: 'ALERT', INSUFFICIENT: '(few records)' };

function shockLine(s: ShockStatus): string {
  if (s.from === undefined) return 'macro shock: off (LIVE_SHOCK_AFTER)';
  const end = s.until === undefined ? 'for good' : `until event ${fmt(s.until)}`;
  if (s.produced < s.from) return `macro shock: starts at event ${fmt(s.from)} (in ${fmt(s.from - s.produced)}), ${end}`;
  if (s.until === undefined || s.produced < s.until) return `macro shock: ON since event ${fmt(s.from)}, ${end} — incomes down, debt and late payments up, younger applicants`;
  return `macro shock: lifted at event ${fmt(s.until)} (was on from ${fmt(s.from)}): the population is back to normal`;
}

export function renderDriftPanel(p: DriftPanel): string[] {
  const lines = ['', `  drift monitor   bands warn ${p.bands.warn} / alert ${p.bands.alert}${p.reportUrl ? `   report ${p.reportUrl}` : ''}`];
  const w = p.latest;
  if (!w) lines.push('    no window finalized yet (the first one closes after its end + the allowed lateness)');
  else {
    lines.push(`    window ${hms(w.first_event_at)}–${hms(w.last_event_at)}   ${fmt(w.records)} records${w.evaluated ? '' : ' (too few to judge)'}`);
    const max = Math.max(p.bands.alert * 2, 1e-9);
    for (const t of w.targets) {
      const share = Math.min(1, t.psi / max);
      const bar = '█'.repeat(Math.round(share * 20)).padEnd(20, '·');
      lines.push(`    ${t.target.padEnd(24)} PSI ${t.psi.toFixed(4).padStart(7)} ${bar} ${MARK[t.severity] ?? t.severity}`);
    }
  }
  lines.push(`    ${shockLine(p.shock)}`);
  const counts = Object.entries(p.alertCounts)
    .map(([k, n]) => `${k} ${fmt(n)}`)
    .join(', ');
  lines.push(`    alerts: ${counts || 'none'}`);
  for (const a of p.alerts.slice(-4)) {
    const what = a.kind === 'RETRAIN' ? `${a.action} ${a.outcome} (${a.targets.join(', ')})` : `${a.target} ${a.severity} PSI ${a.psi.toFixed(3)}`;
    lines.push(`      ${hms(a.emitted_at)} ${a.kind.padEnd(8)} ${what}`);
  }
  return lines;
}

/**
 * The drift monitor's settings inside `make start`, where the simulator runs at a few hundred applications a
 * second: 30 s windows; the PSI bands are the monitor's defaults (0.1 / 0.25), at which the project's macro
 * shock shows as ALERT (see docs/drift.md); an alert triggers `make retrain`. Anything set in the environment wins; the drift HTTP port is
 * DRIFT_HTTP_PORT (HTTP_PORT is the scorer's).
 */
export function liveDriftEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    DRIFT_GROUP_ID: 'drift-monitor-live',
    DRIFT_WINDOW_SIZE: '30s',
    DRIFT_ALLOWED_LATENESS: '5s',
    DRIFT_IDLE_TIMEOUT: '10s',
    // Close the loop: an ALERT on the score or two features runs the retraining pipeline.
    DRIFT_RETRAIN: 'retrain',
    DRIFT_RETRAIN_COMMAND: 'make retrain',
    ...env,
    HTTP_PORT: env.DRIFT_HTTP_PORT ?? '8090',
  };
}
