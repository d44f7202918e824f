import { describe, expect, it } from 'vitest';
import type { DriftWindowValue } from '../windows/codec.ts';
import { renderDriftPanel } from './live-panel.ts';

const window = {
  window_index: 5,
  windowing: 'time:size=30000:hop=30000:lateness=5000',
  window_start: 0,
  window_end: 30_000,
  first_event_at: 0,
  last_event_at: 29_990,
  reference_version: '1',
  records: 9000,
  partitions: [0],
  evaluated: true,
  targets: [
    { target: 'age', psi: 0.002, psi_p_value: 0.5, psi_df: 9, ks_statistic: 0.01, ks_p_value: 0.5, severity: 'NONE', records: 9000, missing: 0, counts: [], expected: [], edges: [] },
    { target: 'score', psi: 0.24, psi_p_value: 0, psi_df: 9, ks_statistic: 0.2, ks_p_value: 0, severity: 'ALERT', records: 9000, missing: 0, counts: [], expected: [], edges: [] },
  ],
  performance: null,
  finalized_at: 0,
} satisfies DriftWindowValue;

describe('live drift panel', () => {
  it('shows PSI and severity per target and where the shock is', () => {
    const lines = renderDriftPanel({ latest: window, bands: { warn: 0.05, alert: 0.1 }, alerts: [], alertCounts: { DRIFT: 3 }, shock: { from: 100, until: 200, produced: 150 }, reportUrl: undefined });
    const text = lines.join('\n');
    expect(text).toMatch(/age\s+PSI\s+0\.0020 .* ok/);
    expect(text).toMatch(/score\s+PSI\s+0\.2400 █{20} ALERT/);
    expect(text).toContain('macro shock: ON since event 100');
    expect(text).toContain('alerts: DRIFT 3');
  });
  it('says when no window has closed yet and when the shock is to come or over', () => {
    const base = { latest: undefined, bands: { warn: 0.1, alert: 0.25 }, alerts: [], alertCounts: {}, reportUrl: undefined };
    expect(renderDriftPanel({ ...base, shock: { from: 100, until: undefined, produced: 40 } }).join('\n')).toMatch(/no window finalized yet[\s\S]*starts at event 100 \(in 60\), for good/);
    expect(renderDriftPanel({ ...base, shock: { from: 100, until: 200, produced: 250 } }).join('\n')).toContain('lifted at event 200');
  });
});
