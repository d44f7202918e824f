/**
 * Validation of decoded loan applications: types from the Avro schema, business rules here. Pure; returns
 * a Result with one entry per violated rule, each naming the field and the rule.
 */
import { z } from 'zod';
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

/** Business rules per feature. Their keys must be exactly the schema's features (checked below and in a test). */
export const FEATURE_RULES: Readonly<Record<string, z.ZodNumber>> = {
  age: integer().min(18, 'must be at least 18').max(120, 'must be at most 120'),
  annual_income: finite().gt(0, 'must be greater than 0'),
  debt_to_income_ratio: finite().min(0, 'must be at least 0').max(10, 'must be at most 10'),
  credit_history_length: integer().min(0, 'must be at least 0'),
  num_open_accounts: integer().min(0, 'must be at least 0'),
  num_late_payments: integer().min(0, 'must be at least 0'),
  loan_amount: finite().gt(0, 'must be greater than 0'),
};

function checkRulesMatchSchema(): void {
  const ruled = Object.keys(FEATURE_RULES).sort().join(',');
  const schema = [...FEATURE_NAMES].sort().join(',');
  if (ruled !== schema) throw new Error(`validation rules cover [${ruled}] but the schema's features are [${schema}]`);
  for (const f of FEATURE_NAMES) {
    const isInt = FEATURE_RULES[f]!.isInt;
    if (isInt !== (FEATURE_TYPES[f] === 'int')) throw new Error(`feature ${f}: rule integer=${isInt} but schema type is ${FEATURE_TYPES[f]}`);
  }
}
checkRulesMatchSchema();

/** Cross-field rule: a credit history cannot be longer than the adult years. */
export const historyWithinAdultYears = (a: { age: number; credit_history_length: number }): boolean => a.credit_history_length <= a.age - 18;

const applicationShape = {
  application_id: z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  submitted_at: integer().min(0, 'must be a non-negative epoch-millisecond timestamp'),
  ...FEATURE_RULES,
};

export const applicationSchema = z
  .object(applicationShape)
  .superRefine((raw, ctx) => {
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

/** The same rules compiled to plain comparisons (see fast-check.ts); undefined if they cannot be. */
const fastCheck = compileObject(applicationShape, (o) => historyWithinAdultYears(o as unknown as { age: number; credit_history_length: number }));

function accepted(input: Record<string, unknown>): ValidApplication {
  const features: Record<string, number> = {};
  for (const f of FEATURE_NAMES) features[f] = input[f] as number;
  return { application_id: input.application_id as string, submitted_at: input.submitted_at as number, features };
}

/** Validates one decoded application (an unknown object) against types and business rules. */
export function validateApplication(input: unknown): Result<ValidApplication, FieldError[]> {
  if (fastCheck?.(input)) return ok(accepted(input as Record<string, unknown>));
  const r = applicationSchema.safeParse(input);
  if (!r.success) {
    return err(
      r.error.issues.map((i) => ({
        field: i.path.length ? i.path.join('.') : '(record)',
        rule: ruleOf(i),
        message: i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : i.message,
      })),
    );
  }
  return ok(accepted(r.data as unknown as Record<string, unknown>));
}
