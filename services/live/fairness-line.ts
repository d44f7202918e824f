/**
 * The fairness windows on `make start`'s screen (docs/fairness.md): per window read back from fairness-windows
 * one story line (decisions, per protected attribute the lowest adverse impact ratio, its p-value when below
 * the floor, FLAGGED), a loud FAIRNESS ALERT line naming the flagged groups when the window RAISED the alert,
 * a FAIRNESS RECOVERY line when it CLEARED it; and a compact section for the status area (the latest window's
 * AIR per group, and the simulator's disparity scenario). Pure: lines of text from FairnessWindowValue records
 * (services/drift/fairness/codec.ts) and plain data; no drift file is touched.
 */
import type { FairnessAttributeValue, FairnessGroupValue, FairnessWindowValue } from '../drift/fairness/codec.ts';
import type { ProtectedAttribute } from '../shared/fair-lending.ts';
import { describeDisparity, type Disparity } from '../simulator/disparity.ts';

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
/** An adverse impact ratio, two decimals. */
export const air = (x: number) => x.toFixed(2);
/** Fisher's one-sided p-value: p<0.001 or three decimals. */
export const pValue = (p: number) => (p < 0.001 ? 'p<0.001' : `p=${p.toFixed(3)}`);
export const TOO_FEW = 'n/a (too few)';

function groupOf(w: FairnessWindowValue, attribute: string, group: string): { a: FairnessAttributeValue; g: FairnessGroupValue } | undefined {
  const a = w.attributes.find((x) => x.attribute === attribute);
  const g = a?.groups.find((x) => x.group === group);
  return a && g ? { a, g } : undefined;
}

/** `0.61 (p<0.001) FLAGGED`: the ratio, the p-value when below the floor (flagged or not significant), the flag. */
function airWithTest(w: FairnessWindowValue, g: FairnessGroupValue): string {
  if (g.air === null) return TOO_FEW;
  const below = g.air < w.air_min && g.p_value !== null ? ` (${pValue(g.p_value)})` : '';
  return `${air(g.air)}${below}${g.flagged ? ' FLAGGED' : ''}`;
}

/** `race_ethnicity BLACK 0.71 (p=0.003) FLAGGED`, or `sex n/a (too few)` when no group had enough decisions. */
function lowest(w: FairnessWindowValue, a: FairnessAttributeValue): string {
  const g = a.min_air === null ? undefined : a.groups.find((x) => x.group === a.min_air_group);
  if (a.min_air === null || !g) return `${a.attribute} ${TOO_FEW}`;
  return `${a.attribute} ${a.min_air_group} ${airWithTest(w, g)}`;
}

function decisionsOf(w: FairnessWindowValue): string {
  return `${fmt(w.decisions)} decisions${w.unjoined > 0 ? ` (${fmt(w.unjoined)} without demographics)` : ''}`;
}

/** The window's story line (without the time): `fairness window 12: 2,410 decisions; lowest AIR race_ethnicity BLACK 0.71 (p=0.003) FLAGGED; sex FEMALE 0.97`. */
export function fairnessWindowLine(w: FairnessWindowValue): string {
  if (w.attributes.length === 0) return `fairness window ${w.window_index}: ${decisionsOf(w)}; no protected attributes`;
  const shown = new Set(w.attributes.map((a) => `${a.attribute}:${a.min_air_group}`));
  const others = w.flagged.filter((k) => !shown.has(k));
  return `fairness window ${w.window_index}: ${decisionsOf(w)}; lowest AIR ${w.attributes.map((a) => lowest(w, a)).join('; ')}${others.length ? `; also flagged ${others.join(', ')}` : ''}`;
}

/** The alert line (without the time) naming every flagged group with its AIR, approval rates and p-value. */
export function fairnessAlertLine(w: FairnessWindowValue): string {
  const named = w.flagged.map((key) => {
    const [attribute = '', group = ''] = key.split(':');
    const found = groupOf(w, attribute, group);
    if (!found || found.g.air === null) return key;
    const ref = found.a.groups.find((x) => x.group === found.a.reference);
    const p = found.g.p_value === null ? '' : `, ${pValue(found.g.p_value)}`;
    return `${attribute} ${group} AIR ${air(found.g.air)} (approved ${pct(found.g.approval_rate)} vs ${found.a.reference} ${ref ? pct(ref.approval_rate) : '-'}${p})`;
  });
  return `FAIRNESS ALERT  window ${w.window_index}: ${named.join('; ') || 'a group flagged'} — AIR < ${w.air_min} at p < ${w.alpha}`;
}

/** The recovery line (without the time): no group flagged any more, with the lowest ratios. */
export function fairnessRecoveryLine(w: FairnessWindowValue): string {
  return `FAIRNESS RECOVERY  window ${w.window_index}: no group flagged (lowest AIR ${w.attributes.map((a) => lowest(w, a)).join(', ') || '-'})`;
}

/** Every story line of a window: its line, then the alert (RAISED) or recovery (CLEARED) line. */
export function fairnessLines(w: FairnessWindowValue): string[] {
  const lines = [fairnessWindowLine(w)];
  if (w.transition === 'RAISED') lines.push(fairnessAlertLine(w));
  else if (w.transition === 'CLEARED') lines.push(fairnessRecoveryLine(w));
  return lines;
}

/** The disparity scenario as the status area shows it (the shock line's twin). */
export interface DisparityStatus {
  /** undefined: off. */
  readonly disparity: Disparity | undefined;
  /** Applications produced so far. */
  readonly produced: number;
}

export function disparityLine(s: DisparityStatus): string {
  const d = s.disparity;
  if (!d) return 'disparity scenario: off (LIVE_DISPARITY_AFTER=0)';
  const end = d.until === undefined ? 'for good' : `until application ${fmt(d.until)}`;
  if (s.produced < d.from) return `disparity scenario: starts at application ${fmt(d.from)} (in ${fmt(d.from - s.produced)}), ${end}: ${describeDisparity(d)}`;
  if (d.until === undefined || s.produced < d.until) return `disparity scenario: ON since application ${fmt(d.from)}, ${end} — ${describeDisparity(d)} (the model never sees the group)`;
  return `disparity scenario: lifted at application ${fmt(d.until)} (was on from ${fmt(d.from)}): incomes back to normal`;
}

export interface FairnessPanel {
  readonly latest: FairnessWindowValue | undefined;
  /** The spec's protected attributes, for their not-provided category (counted, never compared: not shown). */
  readonly attributes: readonly ProtectedAttribute[];
  readonly disparity: DisparityStatus;
}

/** One attribute's row: `race_ethnicity vs WHITE   BLACK 0.61 (p<0.001) FLAGGED  HISPANIC 0.93  OTHER n/a (too few)`. */
function attributeRow(w: FairnessWindowValue, a: FairnessAttributeValue, notProvided: string | undefined): string {
  const cells = a.groups.filter((g) => g.group !== a.reference && g.group !== notProvided && (g.air !== null || !g.enough)).map((g) => `${g.group} ${airWithTest(w, g)}`);
  return `${a.attribute} vs ${a.reference}`.padEnd(26) + (cells.join('  ') || TOO_FEW);
}

/** The status area's fairness section: the latest window's AIR per group and the disparity scenario (5 lines). */
export function renderFairnessPanel(p: FairnessPanel): string[] {
  const w = p.latest;
  const lines = [''];
  if (!w) lines.push('  fairness   no window yet (decisions joined with applicant-demographics, per drift window)');
  else {
    const state = w.alert ? `ALERT ${w.flagged.join(', ')}` : 'no group flagged';
    lines.push(`  fairness   window ${w.window_index}   ${decisionsOf(w)}   ${state}   (flagged: AIR < ${w.air_min} at p < ${w.alpha}, >= ${fmt(w.min_count)} each)`);
    for (const a of w.attributes) lines.push(`    ${attributeRow(w, a, p.attributes.find((x) => x.name === a.attribute)?.notProvided)}`);
  }
  lines.push(`    ${disparityLine(p.disparity)}`);
  return lines;
}
