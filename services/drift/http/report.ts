/**
 * The drift report: one self-contained HTML page (inline CSS and SVG, no external resources, works
 * offline). Per target: reference vs current bin proportions of the latest window, and PSI over the recent
 * windows against the warn/alert bands; then model performance from joined outcomes, and recent alerts.
 * A few lines of inline script mark each chart data-rendered="true" once the browser has laid it out. Pure.
 */
import type { DriftAlertValue, DriftTargetResultValue, DriftWindowValue } from '../windows/codec.ts';
import type { Bands } from '../statistics/psi.ts';

export interface ReportData {
  readonly title: string;
  readonly generatedAt: number;
  readonly instance: string;
  readonly windowing: string;
  readonly reference: { readonly modelName: string; readonly version: string; readonly records: number };
  readonly bands: Bands;
  readonly targets: readonly string[];
  readonly history: readonly DriftWindowValue[];
  readonly alerts: readonly DriftAlertValue[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 10 ** -d) ? x.toExponential(2) : x.toFixed(d)) : '–');
const short = (x: number) => (Math.abs(x) >= 1000 ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : Number(x.toPrecision(3)).toString());
const iso = (ms: number) => (Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString().replace('.000Z', 'Z') : '–');
const SEVERITY_COLOR: Record<string, string> = { NONE: '#2e7d32', WARN: '#ef6c00', ALERT: '#c62828', INSUFFICIENT: '#757575' };

function binLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['all', 'missing'];
  const labels = [`< ${short(edges[0]!)}`];
  for (let i = 1; i < edges.length; i++) labels.push(`${short(edges[i - 1]!)}–${short(edges[i]!)}`);
  labels.push(`≥ ${short(edges[edges.length - 1]!)}`, 'missing');
  return labels;
}

function histogram(t: DriftTargetResultValue): string {
  const W = 520;
  const H = 190;
  const pad = { l: 40, r: 8, t: 10, b: 44 };
  const n = t.counts.reduce((a, b) => a + b, 0) || 1;
  const current = t.counts.map((c) => c / n);
  const bins = t.expected.length;
  const max = Math.max(0.05, ...current, ...t.expected);
  const bw = (W - pad.l - pad.r) / bins;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const labels = binLabels(t.edges);
  const marks: string[] = [];
  for (let i = 0; i < bins; i++) {
    const x = pad.l + i * bw;
    const e = t.expected[i]!;
    const a = current[i]!;
    marks.push(`<rect class="ref" x="${(x + bw * 0.1).toFixed(1)}" y="${y(e).toFixed(1)}" width="${(bw * 0.4).toFixed(1)}" height="${(y(0) - y(e)).toFixed(1)}"><title>reference ${(e * 100).toFixed(2)}%</title></rect>`);
    marks.push(`<rect class="cur" x="${(x + bw * 0.5).toFixed(1)}" y="${y(a).toFixed(1)}" width="${(bw * 0.4).toFixed(1)}" height="${(y(0) - y(a)).toFixed(1)}"><title>current ${(a * 100).toFixed(2)}% (${t.counts[i]})</title></rect>`);
    marks.push(`<text class="tick" x="${(x + bw / 2).toFixed(1)}" y="${H - pad.b + 12}" transform="rotate(30 ${(x + bw / 2).toFixed(1)} ${H - pad.b + 12})">${esc(labels[i] ?? '')}</text>`);
  }
  const axis = [0, max / 2, max].map((v) => `<text class="tick" x="${pad.l - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`).join('');
  return `<svg class="chart histogram" data-chart="histogram" data-target="${esc(t.target)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(t.target)}: reference vs current proportions per bin">
<line class="axis" x1="${pad.l}" y1="${y(0)}" x2="${W - pad.r}" y2="${y(0)}"/>${axis}${marks.join('')}</svg>`;
}

function trend(target: string, points: { index: number; value: number; severity: string }[], bands: Bands | undefined, label: string, cls = 'psi'): string {
  const W = 520;
  const H = 150;
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const values = points.map((p) => p.value).filter(Number.isFinite);
  const max = Math.max(bands ? bands.alert * 1.2 : 0, ...values, 1e-9);
  const min = bands ? 0 : Math.min(...values, max);
  const span = max - min || 1;
  const x = (i: number) => pad.l + (points.length <= 1 ? (W - pad.l - pad.r) / 2 : ((W - pad.l - pad.r) * i) / (points.length - 1));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - (v - min) / span);
  const path = points
    .map((p, i) => (Number.isFinite(p.value) ? `${x(i).toFixed(1)},${y(p.value).toFixed(1)}` : ''))
    .filter(Boolean)
    .join(' ');
  const dots = points
    .filter((p) => Number.isFinite(p.value))
    .map((p) => `<circle class="pt" cx="${x(points.indexOf(p)).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${SEVERITY_COLOR[p.severity] ?? '#1565c0'}"><title>window ${p.index}: ${fmt(p.value, 4)} ${p.severity}</title></circle>`)
    .join('');
  const lines = bands
    ? `<line class="band warn" x1="${pad.l}" x2="${W - pad.r}" y1="${y(bands.warn).toFixed(1)}" y2="${y(bands.warn).toFixed(1)}"/><text class="tick" x="${W - pad.r}" y="${(y(bands.warn) - 3).toFixed(1)}" text-anchor="end">warn ${bands.warn}</text>` +
      `<line class="band alert" x1="${pad.l}" x2="${W - pad.r}" y1="${y(bands.alert).toFixed(1)}" y2="${y(bands.alert).toFixed(1)}"/><text class="tick" x="${W - pad.r}" y="${(y(bands.alert) - 3).toFixed(1)}" text-anchor="end">alert ${bands.alert}</text>`
    : '';
  const axis = [min, (min + max) / 2, max].map((v) => `<text class="tick" x="${pad.l - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${fmt(v, 3)}</text>`).join('');
  const first = points[0];
  const last = points[points.length - 1];
  const xl = first && last ? `<text class="tick" x="${pad.l}" y="${H - 6}">window ${first.index}</text><text class="tick" x="${W - pad.r}" y="${H - 6}" text-anchor="end">window ${last.index}</text>` : '';
  return `<svg class="chart ${cls}" data-chart="${cls}" data-target="${esc(target)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">
<text class="title" x="${pad.l + 4}" y="${pad.t + 8}">${esc(label)}</text><line class="axis" x1="${pad.l}" y1="${y(min)}" x2="${W - pad.r}" y2="${y(min)}"/>${axis}${lines}<polyline class="line" points="${path}"/>${dots}${xl}</svg>`;
}

function targetSection(name: string, history: readonly DriftWindowValue[], bands: Bands): string {
  const latest = history[history.length - 1];
  const t = latest?.targets.find((x) => x.target === name);
  if (!latest || !t) return `<section class="target" data-target="${esc(name)}"><h2>${esc(name)}</h2><p class="muted">no finalized window yet</p></section>`;
  const points = history.map((w) => {
    const r = w.targets.find((x) => x.target === name);
    return { index: w.window_index, value: r?.psi ?? NaN, severity: r?.severity ?? 'NONE' };
  });
  return `<section class="target" data-target="${esc(name)}">
<h2>${esc(name)} <span class="badge" style="background:${SEVERITY_COLOR[t.severity]}">${t.severity}</span></h2>
<p class="stats">PSI <b>${fmt(t.psi, 4)}</b> (χ² p = ${fmt(t.psi_p_value, 4)}, df ${t.psi_df}) · KS D = ${fmt(t.ks_statistic, 4)} (p = ${fmt(t.ks_p_value, 4)}) · ${t.records.toLocaleString('en-US')} records, ${t.missing} missing</p>
<div class="charts">${histogram(t)}${trend(name, points, bands, `PSI over the last ${points.length} windows`)}</div>
<p class="legend"><span class="sw ref"></span> reference (training) <span class="sw cur"></span> window ${latest.window_index}</p>
</section>`;
}

function performanceSection(history: readonly DriftWindowValue[]): string {
  const withOutcomes = history.filter((w) => w.performance && w.performance.labelled > 0);
  if (withOutcomes.length === 0) return `<section class="performance"><h2>Model performance</h2><p class="muted">no outcomes joined yet (loan-outcomes)</p></section>`;
  const series = (f: (p: NonNullable<DriftWindowValue['performance']>) => number | null) => withOutcomes.map((w) => ({ index: w.window_index, value: f(w.performance!) ?? NaN, severity: 'X' }));
  const latest = withOutcomes[withOutcomes.length - 1]!.performance!;
  return `<section class="performance"><h2>Model performance (outcomes joined by application_id)</h2>
<p class="stats">latest window with outcomes: ROC-AUC <b>${latest.roc_auc === null ? '–' : fmt(latest.roc_auc, 4)}</b> · Brier <b>${fmt(latest.brier, 4)}</b> · default rate <b>${fmt(latest.default_rate * 100, 2)}%</b> · ${latest.labelled.toLocaleString('en-US')} labelled</p>
<div class="charts">${trend('roc_auc', series((p) => p.roc_auc), undefined, 'ROC-AUC per window', 'performance')}${trend('brier', series((p) => p.brier), undefined, 'Brier score per window', 'performance')}${trend('default_rate', series((p) => p.default_rate), undefined, 'Default rate per window', 'performance')}</div></section>`;
}

function alertsSection(alerts: readonly DriftAlertValue[]): string {
  if (alerts.length === 0) return `<section class="alerts"><h2>Alerts</h2><p class="muted">none</p></section>`;
  const rows = [...alerts]
    .reverse()
    .slice(0, 50)
    .map(
      (a) =>
        `<tr><td>${iso(a.emitted_at)}</td><td>${a.kind}</td><td>${esc(a.target)}</td><td style="color:${SEVERITY_COLOR[a.severity] ?? 'inherit'}">${a.severity}</td><td>${a.window_index}</td><td>${fmt(a.psi, 4)}</td><td>${esc(a.kind === 'RETRAIN' ? `${a.action} ${a.outcome} ${a.targets.join(', ')}` : '')}</td></tr>`,
    )
    .join('');
  return `<section class="alerts"><h2>Recent alerts</h2><table><thead><tr><th>emitted</th><th>kind</th><th>target</th><th>severity</th><th>window</th><th>PSI</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0 0 6px}.muted{color:#777}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 16px;margin:12px 0}
.charts{display:flex;flex-wrap:wrap;gap:12px}.badge{color:#fff;border-radius:4px;padding:1px 6px;font-size:12px;vertical-align:middle}
.stats{margin:0 0 8px;color:#444}svg{background:#fff}.ref{fill:#90a4ae}.cur{fill:#1565c0}.axis{stroke:#999}
.tick{font-size:10px;fill:#555}.title{font-size:11px;fill:#333;font-weight:600}.line{fill:none;stroke:#1565c0;stroke-width:1.5}.band{stroke-dasharray:4 3}.band.warn{stroke:#ef6c00}.band.alert{stroke:#c62828}
.legend{font-size:12px;color:#555}.sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}.sw.ref{background:#90a4ae}.sw.cur{background:#1565c0}
table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}`;

/** Marks each chart rendered once laid out with a non-empty box; the body gets the count. */
const SCRIPT = `addEventListener('load',function(){var n=0;document.querySelectorAll('svg[data-chart]').forEach(function(s){var b=s.getBBox(),r=s.getBoundingClientRect(),m=s.querySelectorAll('rect,circle,polyline').length;var ok=b.width>0&&b.height>0&&r.width>0&&r.height>0&&m>0;s.setAttribute('data-rendered',ok?'true':'false');if(ok)n++;});document.body.setAttribute('data-charts-rendered',String(n));});`;

export function renderReport(d: ReportData): string {
  const latest = d.history[d.history.length - 1];
  const head = latest
    ? `window ${latest.window_index}: ${iso(latest.first_event_at)} – ${iso(latest.last_event_at)}, ${latest.records.toLocaleString('en-US')} records${latest.evaluated ? '' : ' (below the minimum window size: not evaluated)'}`
    : 'no finalized window yet';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(d.title)}</title><style>${STYLE}</style></head>
<body data-targets="${d.targets.length}">
<h1>${esc(d.title)}</h1>
<p class="muted">reference: ${esc(d.reference.modelName)} v${esc(d.reference.version)} (${Number.isFinite(d.reference.records) ? d.reference.records.toLocaleString('en-US') : '?'} training records) · windows ${esc(d.windowing)} · bands warn ${d.bands.warn} / alert ${d.bands.alert} · ${esc(head)} · instance ${esc(d.instance)} · generated ${iso(d.generatedAt)}</p>
${d.targets.map((t) => targetSection(t, d.history, d.bands)).join('\n')}
${performanceSection(d.history)}
${alertsSection(d.alerts)}
<script>${SCRIPT}</script>
</body></html>`;
}
