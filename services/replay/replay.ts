/**
 * Replay and back-test, the pure core: re-score scoring-log records with the model version each names,
 * through the scorer's own code (packFeatures -> Scorer.score -> decisionRecord with its explanation),
 * and compare probability, decision and reasons with what was logged; per model version, the outcome
 * metrics of the records whose outcome is known (ROC-AUC, Brier, calibration by decile).
 */
import { rowExplanation, type Scorer } from '../scorer/batch.ts';
import { packFeatures } from '../scorer/model/model-host.ts';
import type { DecisionPolicy } from '../scorer/policy.ts';
import { decisionRecord, type ScoringLogRecord } from '../scorer/records.ts';
import type { ValidApplication } from '../scorer/validate.ts';

export interface Mismatch {
  readonly application_id: string;
  readonly model_version: string;
  readonly field: 'probability_of_default' | 'decision' | 'reasons' | 'model';
  readonly logged: unknown;
  readonly replayed: unknown;
}

export interface CalibrationBin {
  readonly rows: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
}

export interface OutcomeMetrics {
  readonly rows: number;
  readonly defaults: number;
  readonly rocAuc: number | null;
  readonly brier: number | null;
  readonly calibration: readonly CalibrationBin[];
}

export interface VersionReport {
  readonly version: string;
  readonly records: number;
  readonly reproduced: number;
  readonly outcomes: OutcomeMetrics;
}

export interface ReplayReport {
  readonly records: number;
  readonly reproduced: number;
  readonly share: number;
  readonly mismatches: readonly Mismatch[];
  readonly versions: readonly VersionReport[];
}

/** The scorer for a model version, or an error message saying why there is none. */
export type ScorerFor = (version: string) => Promise<Scorer | string>;

const BATCH = 2000;

/** ROC-AUC by ranks (ties get the average rank); null without both classes. */
export function rocAuc(p: readonly number[], y: readonly number[]): number | null {
  const pos = y.filter((v) => v === 1).length;
  const neg = y.length - pos;
  if (pos === 0 || neg === 0) return null;
  const order = p.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (y[order[k]![1]] === 1) rankSum += rank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function outcomeMetrics(p: readonly number[], y: readonly number[], bins = 10): OutcomeMetrics {
  const n = p.length;
  if (n === 0) return { rows: 0, defaults: 0, rocAuc: null, brier: null, calibration: [] };
  const brier = p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / n;
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const calibration: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const part = order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins));
    if (part.length === 0) continue;
    calibration.push({ rows: part.length, meanPredicted: part.reduce((s, i) => s + p[i]!, 0) / part.length, observedRate: part.reduce((s, i) => s + y[i]!, 0) / part.length });
  }
  return { rows: n, defaults: y.filter((v) => v === 1).length, rocAuc: rocAuc(p, y), brier, calibration };
}

/** Re-scores `records` (in batches per model version) and compares; `outcomes` maps application_id -> defaulted. */
export async function replay(records: readonly ScoringLogRecord[], scorerFor: ScorerFor, policy: DecisionPolicy, outcomes: ReadonlyMap<string, boolean> = new Map()): Promise<ReplayReport> {
  const byVersion = new Map<string, ScoringLogRecord[]>();
  for (const r of records) byVersion.set(r.model_version, [...(byVersion.get(r.model_version) ?? []), r]);
  const mismatches: Mismatch[] = [];
  const versions: VersionReport[] = [];
  let reproduced = 0;
  for (const [version, recs] of [...byVersion.entries()].sort((a, b) => a[0].localeCompare(b[0], undefined, { numeric: true }))) {
    const scorer = await scorerFor(version);
    let ok = 0;
    if (typeof scorer === 'string') {
      for (const r of recs) mismatches.push({ application_id: r.application_id, model_version: version, field: 'model', logged: version, replayed: scorer });
    } else {
      for (let at = 0; at < recs.length; at += BATCH) {
        const chunk = recs.slice(at, at + BATCH);
        const apps: ValidApplication[] = chunk.map((r) => ({ application_id: r.application_id, submitted_at: r.submitted_at, features: r.features }) as ValidApplication);
        const result = await scorer.score(packFeatures(apps.map((a) => a.features)), apps.length);
        chunk.forEach((r, i) => {
          const d = decisionRecord(apps[i]!, result.probabilities[i]!, { name: scorer.name, version: scorer.version }, policy, { topic: r.source_topic, partition: r.source_partition, offset: r.source_offset }, r.scored_at, rowExplanation(scorer, result, i));
          const codes = d.reasons.map((x) => x.code);
          const before = mismatches.length;
          if (d.probability_of_default !== r.probability_of_default) mismatches.push({ application_id: r.application_id, model_version: version, field: 'probability_of_default', logged: r.probability_of_default, replayed: d.probability_of_default });
          if (d.decision !== r.decision) mismatches.push({ application_id: r.application_id, model_version: version, field: 'decision', logged: r.decision, replayed: d.decision });
          if (codes.join(',') !== (r.reason_codes ?? []).join(',')) mismatches.push({ application_id: r.application_id, model_version: version, field: 'reasons', logged: r.reason_codes, replayed: codes });
          if (mismatches.length === before) ok++;
        });
      }
    }
    reproduced += ok;
    const joined = recs.filter((r) => outcomes.has(r.application_id));
    versions.push({ version, records: recs.length, reproduced: ok, outcomes: outcomeMetrics(joined.map((r) => r.probability_of_default), joined.map((r) => (outcomes.get(r.application_id) ? 1 : 0))) });
  }
  return { records: records.length, reproduced, share: records.length ? reproduced / records.length : 1, mismatches, versions };
}

/** The report as text: share reproduced, every mismatch, per-version outcome metrics. */
export function renderReport(r: ReplayReport, range: string): string {
  const f = (v: number | null, d = 4) => (v === null ? 'n/a' : v.toFixed(d));
  const lines = [`replay ${range}: ${r.reproduced}/${r.records} records reproduced (${(r.share * 100).toFixed(2)}%)`];
  for (const m of r.mismatches) lines.push(`  MISMATCH ${m.application_id} v${m.model_version} ${m.field}: logged ${JSON.stringify(m.logged)}, replayed ${JSON.stringify(m.replayed)}`);
  for (const v of r.versions) {
    lines.push(`model v${v.version}: ${v.reproduced}/${v.records} reproduced; outcomes joined ${v.outcomes.rows} (${v.outcomes.defaults} defaults): ROC-AUC ${f(v.outcomes.rocAuc)}, Brier ${f(v.outcomes.brier)}`);
    if (v.outcomes.calibration.length) {
      lines.push('  calibration by decile (mean predicted -> observed default rate, rows):');
      for (const b of v.outcomes.calibration) lines.push(`    ${b.meanPredicted.toFixed(4)} -> ${b.observedRate.toFixed(4)} (${b.rows})`);
    }
  }
  return lines.join('\n');
}
