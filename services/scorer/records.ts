/**
 * Pure construction of the scorer's output records (decision, scoring log, dead letter) from plain data.
 * Field names follow schemas/*.avsc.
 */
import { reasonsFor, type Reason, type ReasonDirections } from './explain/reasons.ts';
import { decide, DEFAULT_REASONS_MAX, type Decision, type DecisionPolicy, type RiskCategory } from './policy.ts';
import { FEATURE_NAMES } from '../shared/schemas.ts';
import type { FieldError, ValidApplication } from './validate.ts';

export interface SourceCoordinates {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface InputMessage extends SourceCoordinates {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Broker timestamp, epoch ms. */
  readonly timestamp: number;
}

export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
}

export interface DecisionRecord {
  application_id: string;
  probability_of_default: number;
  predicted_class: number;
  risk_category: RiskCategory;
  decision: Decision;
  model_name: string;
  model_version: string;
  submitted_at: number;
  scored_at: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  /** Adverse-action reasons (REVIEW/DECLINE), largest contribution first; empty for APPROVE. */
  reasons: Reason[];
}

/** One row's explanation: contributions to the margin (pred_contribs layout, bias last) and how to read them. */
export interface RowExplanation {
  readonly contributions: ArrayLike<number>;
  readonly offset: number;
  readonly directions: ReasonDirections;
}

export interface ScoringLogRecord {
  application_id: string;
  submitted_at: number;
  scored_at: number;
  features: Record<string, number>;
  probability_of_default: number;
  predicted_class: number;
  risk_category: RiskCategory;
  decision: Decision;
  model_name: string;
  model_version: string;
  inference_latency_ms: number;
  batch_size: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  shadow_model_version: string | null;
  shadow_probability: number | null;
  /** Every feature's TreeSHAP contribution to the margin; empty when the scorer did not explain. */
  contributions: Record<string, number>;
  /** The margin the contributions start from (base margin + expected tree outputs); null when not explained. */
  contribution_bias: number | null;
  /** The codes of the decision's reasons, in order (replay compares them). */
  reason_codes: string[];
}

export type DeadLetterCode = 'DECODE_MAGIC_BYTE' | 'DECODE_UNKNOWN_SCHEMA' | 'DECODE_MALFORMED' | 'DECODE_WRONG_SCHEMA' | 'VALIDATION_FAILED';

export interface DeadLetterRecord {
  error_code: DeadLetterCode;
  reason: string;
  field_errors: FieldError[];
  original_key: Buffer | null;
  original_value: Buffer | null;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  source_timestamp: number;
  failed_at: number;
  service: string;
}

export function decisionRecord(
  app: ValidApplication,
  p: number,
  model: ModelIdentity,
  policy: DecisionPolicy,
  src: SourceCoordinates,
  scoredAt: number,
  explanation?: RowExplanation,
): DecisionRecord {
  const d = decide(p, policy);
  const reasons = explanation
    ? reasonsFor(d.decision, app.features, explanation.contributions, explanation.offset, explanation.directions, policy.reasonsMax ?? DEFAULT_REASONS_MAX)
    : [];
  return {
    application_id: app.application_id,
    probability_of_default: p,
    predicted_class: d.predictedClass,
    risk_category: d.riskCategory,
    decision: d.decision,
    model_name: model.name,
    model_version: model.version,
    submitted_at: app.submitted_at,
    scored_at: scoredAt,
    source_topic: src.topic,
    source_partition: src.partition,
    source_offset: src.offset,
    reasons,
  };
}

export function scoringLogRecord(
  app: ValidApplication,
  decision: DecisionRecord,
  inferenceMs: number,
  batchSize: number,
  shadow?: { readonly version: string; readonly probability: number },
  explanation?: RowExplanation,
): ScoringLogRecord {
  const contributions: Record<string, number> = {};
  if (explanation) FEATURE_NAMES.forEach((f, j) => (contributions[f] = explanation.contributions[explanation.offset + j]!));
  return {
    application_id: app.application_id,
    submitted_at: app.submitted_at,
    scored_at: decision.scored_at,
    features: { ...app.features },
    probability_of_default: decision.probability_of_default,
    predicted_class: decision.predicted_class,
    risk_category: decision.risk_category,
    decision: decision.decision,
    model_name: decision.model_name,
    model_version: decision.model_version,
    inference_latency_ms: inferenceMs,
    batch_size: batchSize,
    source_topic: decision.source_topic,
    source_partition: decision.source_partition,
    source_offset: decision.source_offset,
    shadow_model_version: shadow?.version ?? null,
    shadow_probability: shadow?.probability ?? null,
    contributions,
    contribution_bias: explanation ? explanation.contributions[explanation.offset + FEATURE_NAMES.length]! : null,
    reason_codes: decision.reasons.map((r) => r.code),
  };
}

export function deadLetterRecord(
  msg: InputMessage,
  code: DeadLetterCode,
  reason: string,
  fieldErrors: FieldError[],
  failedAt: number,
  service: string,
): DeadLetterRecord {
  return {
    error_code: code,
    reason,
    field_errors: fieldErrors,
    original_key: msg.key,
    original_value: msg.value,
    source_topic: msg.topic,
    source_partition: msg.partition,
    source_offset: msg.offset,
    source_timestamp: msg.timestamp,
    failed_at: failedAt,
    service,
  };
}
