/**
 * Validation of decoded loan applications: types from the Avro schema, business rules here, sanity bounds
 * (the latest acceptable submitted_at, maxima of amounts and counts) from schemas/input-bounds.json via
 * the configuration. Pure (the clock is a parameter); returns a Result with one entry per violated rule,
 * each naming the field and the rule.
 */
import { z } from 'zod';
import { DEFAULT_INPUT_BOUNDS, type InputBounds } from '../shared/input-bounds.ts';
import { FEATURE_NAMES, FEATURE_TYPES } from '../shared/schemas.ts';
import { err, ok, type Result } from '../shared/result.ts';
import { compileObject } from './fast-check.ts';

export interface FieldError {
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

export interface ValidApplication {
  readonly application_id: string;
  readonly submitted_at: number;
  /** Feature values by name (FEATURE_NAMES). */
  readonly features: Readonly<Record<string, number>>;
}

const finite = () => z.number({ invalid_type_error: 'must be a number' }).finite('must be finite (not NaN or Infinity)');
const integer = () => finite().int('must be a whole number');

/**
 * Business rules per feature, with the sanity maxima of `bounds`. Their keys must be exactly the schema's
 * features (checked below and in a test).
 */
export function featureRules(bounds: InputBounds = DEFAULT_INPUT_BOUNDS): Readonly<Record<string, z.ZodNumber>> {
  const max = (feature: string) => bounds.featureMax[feature]!;
  const atMost = (feature: string) => `must be at most ${max(feature)} (${bounds.variables[feature]})`;
  return {
    age: integer().min(18, 'must be at least 18').max(120, 'must be at most 120'),
    annual_income: finite().gt(0, 'must be greater than 0').max(max('annual_income'), atMost('annual_income')),
    debt_to_income_ratio: finite().min(0, 'must be at least 0').max(10, 'must be at most 10'),
    credit_history_length: integer().min(0, 'must be at least 0'),
    num_open_accounts: integer().min(0, 'must be at least 0').max(max('num_open_accounts'), atMost('num_open_accounts')),
    num_late_payments: integer().min(0, 'must be at least 0').max(max('num_late_payments'), atMost('num_late_payments')),
    loan_amount: finite().gt(0, 'must be greater than 0').max(max('loan_amount'), atMost('loan_amount')),
  };
}

/** The rules with the default bounds. */
export const FEATURE_RULES: Readonly<Record<string, z.ZodNumber>> = featureRules();

function checkRulesMatchSchema(rules: Readonly<Record<string, z.ZodNumber>>): void {
  const ruled = Object.keys(rules).sort().join(',');
  const schema = [...FEATURE_NAMES].sort().join(',');
  if (ruled !== schema) throw new Error(`validation rules cover [${ruled}] but the schema's features are [${schema}]`);
  for (const f of FEATURE_NAMES) {
    const isInt = rules[f]!.isInt;
    if (isInt !== (FEATURE_TYPES[f] === 'int')) throw new Error(`feature ${f}: rule integer=${isInt} but schema type is ${FEATURE_TYPES[f]}`);
  }
  for (const f of Object.keys(DEFAULT_INPUT_BOUNDS.featureMax)) if (!rules[f]) throw new Error(`schemas/input-bounds.json bounds ${f}, which is not a feature`);
}
checkRulesMatchSchema(FEATURE_RULES);

/** Cross-field rule: a credit history cannot be longer than the adult years. */
export const historyWithinAdultYears = (a: { age: number; credit_history_length: number }): boolean => a.credit_history_length <= a.age - 18;

function applicationShape(bounds: InputBounds) {
  const earliest = new Date(bounds.earliestSubmittedAtMs).toISOString();
  return {
    application_id: z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    submitted_at: integer().min(bounds.earliestSubmittedAtMs, `must not be before ${earliest} (${bounds.variables.earliest})`),
    ...featureRules(bounds),
  };
}

function buildApplicationSchema(shape: ReturnType<typeof applicationShape>) {
  return z.object(shape).superRefine((raw, ctx) => {
    const a = raw as unknown as { age: number; credit_history_length: number };
    if (!historyWithinAdultYears(a)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['credit_history_length'],
        message: `must be at most age - 18 (${a.age - 18}), got ${a.credit_history_length}`,
        params: { rule: 'history_le_age_minus_18' },
      });
    }
  });
}

/** The static rules with the default bounds (the time-dependent upper bound of submitted_at is not in it). */
export const applicationSchema = buildApplicationSchema(applicationShape(DEFAULT_INPUT_BOUNDS));

function ruleOf(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return issue.inclusive ? 'min' : 'gt';
    case 'too_big':
      return issue.inclusive ? 'max' : 'lt';
    case 'invalid_type':
      return issue.received === 'undefined' ? 'required' : issue.received === 'nan' ? 'finite' : 'type';
    case 'not_finite':
      return 'finite';
    case 'custom':
      return String(issue.params?.rule ?? 'custom');
    default:
      return issue.code === 'invalid_string' || issue.code === 'invalid_enum_value' ? 'format' : issue.code;
  }
}

export function describeFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.message} [${e.rule}]`).join('; ');
}

function accepted(input: Record<string, unknown>): ValidApplication {
  const features: Record<string, number> = {};
  for (const f of FEATURE_NAMES) features[f] = input[f] as number;
  return { application_id: input.application_id as string, submitted_at: input.submitted_at as number, features };
}

export type Validator = (input: unknown, nowMs?: number) => Result<ValidApplication, FieldError[]>;

function describeSkew(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * A validator with `bounds`: types, business rules, sanity maxima, submitted_at in
 * [earliest, now + maxSkew]. `nowMs` is the processing clock (Date.now() when omitted).
 */
export function buildValidator(bounds: InputBounds = DEFAULT_INPUT_BOUNDS): Validator {
  const shape = applicationShape(bounds);
  const schema = buildApplicationSchema(shape);
  // The same rules compiled to plain comparisons (see fast-check.ts); undefined if they cannot be.
  const fastCheck = compileObject(shape, (o) => historyWithinAdultYears(o as unknown as { age: number; credit_history_length: number }));
  const futureError = (submittedAt: number, latest: number): FieldError => ({
    field: 'submitted_at',
    rule: 'not_after_now_plus_skew',
    message: `must not be after now + ${describeSkew(bounds.maxSkewMs)} (${bounds.variables.maxSkew}): ${new Date(latest).toISOString()}, got ${submittedAt}${Math.abs(submittedAt) <= 8.64e15 ? ` (${new Date(submittedAt).toISOString()})` : ''}`,
  });
  return (input, nowMs = Date.now()) => {
    const latest = nowMs + bounds.maxSkewMs;
    if (fastCheck?.(input) && (input as { submitted_at: number }).submitted_at <= latest) return ok(accepted(input as Record<string, unknown>));
    const r = schema.safeParse(input);
    const errors: FieldError[] = r.success
      ? []
      : r.error.issues.map((i) => ({
          field: i.path.length ? i.path.join('.') : '(record)',
          rule: i.path[0] === 'submitted_at' && i.code === 'too_small' ? 'not_before_earliest' : ruleOf(i),
          message: i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : i.message,
        }));
    const submittedAt = typeof input === 'object' && input !== null ? (input as { submitted_at?: unknown }).submitted_at : undefined;
    if (typeof submittedAt === 'number' && submittedAt > latest) errors.push(futureError(submittedAt, latest));
    return errors.length > 0 ? err(errors) : ok(accepted((r as { data: unknown }).data as Record<string, unknown>));
  };
}

const defaultValidator = buildValidator();

/** Validates one decoded application (an unknown object) against types, business rules and the default bounds. */
export function validateApplication(input: unknown, nowMs: number = Date.now()): Result<ValidApplication, FieldError[]> {
  return defaultValidator(input, nowMs);
}
