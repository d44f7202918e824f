/**
 * One batch through the scorer: decode -> validate -> score -> records. I/O enters only through the two
 * functions passed in (decode via the registry, score via the model), so this runs the same for Kafka
 * batches and for tests.
 */
import type { DecodeError } from '../shared/registry.ts';
import type { Result } from '../shared/result.ts';
import type { ScoreResult } from './model/model-host.ts';
import { packFeatures } from './model/model-host.ts';
import type { DecisionPolicy } from './policy.ts';
import type { ReasonDirections } from './explain/reasons.ts';
import { FEATURE_NAMES } from '../shared/schemas.ts';
import {
  deadLetterRecord,
  decisionRecord,
  scoringLogRecord,
  type DeadLetterRecord,
  type DecisionRecord,
  type InputMessage,
  type ModelIdentity,
  type RowExplanation,
  type ScoringLogRecord,
} from './records.ts';
import { describeFieldErrors, validateApplication, type ValidApplication, type Validator } from './validate.ts';

export type Decoded = Result<{ value: unknown }, DecodeError>;
/** Decodes a message value; may answer synchronously (schema cached) to keep the hot loop free of awaits. */
export type DecodeFn = (value: Buffer | null) => Decoded | Promise<Decoded>;

export interface Scorer extends ModelIdentity {
  score(data: Float32Array, rows: number): Promise<ScoreResult>;
  /** How this version's contributions read as reason directions (absent: no reasons). */
  readonly reasonDirections?: ReasonDirections;
}

/** The explanation of row `i` of a scored batch, when the scorer explained it. */
export function rowExplanation(scorer: Scorer, result: ScoreResult, i: number): RowExplanation | undefined {
  if (!result.contributions || !scorer.reasonDirections) return undefined;
  return { contributions: result.contributions, offset: i * (FEATURE_NAMES.length + 1), directions: scorer.reasonDirections };
}

/** One scored application: its decision and scoring-log record, and the key both are written under. */
export interface Scored {
  readonly key: string;
  readonly decision: DecisionRecord;
  readonly log: ScoringLogRecord;
}

export interface BatchOutput {
  readonly scored: Scored[];
  readonly deadLetters: DeadLetterRecord[];
  readonly inferenceMs: number;
  readonly modelVersion: string;
}

export interface BatchContext {
  readonly decode: DecodeFn;
  readonly scorer: Scorer;
  /** A challenger scoring the same rows; its output goes to the log records only, never to decisions. */
  readonly shadow?: Scorer;
  readonly policy: DecisionPolicy;
  readonly service: string;
  readonly now?: () => number;
  /** The validator with the configured bounds (buildValidator); the default bounds when absent. */
  readonly validate?: Validator;
}

export type Classified =
  | { readonly kind: 'valid'; readonly app: ValidApplication; readonly msg: InputMessage }
  | { readonly kind: 'dead'; readonly record: DeadLetterRecord };

/** Validates one decoded message into a valid application or a dead letter. Never throws for bad input. */
export function classify(msg: InputMessage, decoded: Decoded, ctx: BatchContext, now: number): Classified {
  if (!decoded.ok) return { kind: 'dead', record: deadLetterRecord(msg, decoded.error.code, decoded.error.reason, [], now, ctx.service) };
  const valid = (ctx.validate ?? validateApplication)(decoded.value.value, now);
  if (!valid.ok) {
    return { kind: 'dead', record: deadLetterRecord(msg, 'VALIDATION_FAILED', describeFieldErrors(valid.error), valid.error, now, ctx.service) };
  }
  return { kind: 'valid', app: valid.value, msg };
}

export async function processBatch(messages: readonly InputMessage[], ctx: BatchContext): Promise<BatchOutput> {
  const now = ctx.now ?? Date.now;
  const t = now();
  const valid: { app: ValidApplication; msg: InputMessage }[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  for (const msg of messages) {
    const d = ctx.decode(msg.value);
    const c = classify(msg, d instanceof Promise ? await d : d, ctx, t);
    if (c.kind === 'valid') valid.push(c);
    else deadLetters.push(c.record);
  }
  // The model is captured once per batch: every record of the batch carries the version that scored it.
  const scorer = ctx.scorer;
  const identity: ModelIdentity = { name: scorer.name, version: scorer.version };
  if (valid.length === 0) return { scored: [], deadLetters, inferenceMs: 0, modelVersion: identity.version };
  const rows = valid.map((v) => v.app.features);
  const [result, shadow] = await Promise.all([
    scorer.score(packFeatures(rows), valid.length),
    ctx.shadow ? ctx.shadow.score(packFeatures(rows), valid.length).catch(() => undefined) : undefined,
  ]);
  const { probabilities, inferenceMs } = result;
  const scoredAt = now();
  const scored: Scored[] = valid.map(({ app, msg }, i) => {
    const explanation = rowExplanation(scorer, result, i);
    const decision = decisionRecord(app, probabilities[i]!, identity, ctx.policy, msg, scoredAt, explanation);
    const log = scoringLogRecord(app, decision, inferenceMs, valid.length, shadow ? { version: ctx.shadow!.version, probability: shadow.probabilities[i]! } : undefined, explanation);
    return { key: app.application_id, decision, log };
  });
  return { scored, deadLetters, inferenceMs, modelVersion: identity.version };
}
