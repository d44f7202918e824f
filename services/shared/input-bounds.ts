/**
 * Sanity bounds of a loan application (schemas/input-bounds.json): the earliest and latest acceptable
 * `submitted_at` (now + a clock-skew allowance) and upper bounds of amounts and counts. Raw env -> defaults
 * -> compiled here; the scorer's validator and the drift monitor's watermark bound read the result.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { env, parseDuration } from './config.ts';
import { SCHEMAS_DIR } from './schemas.ts';

interface BoundsFile {
  readonly submittedAt: {
    readonly earliest: { readonly env: string; readonly default: string };
    readonly maxSkew: { readonly env: string; readonly default: string };
  };
  readonly featureMax: Readonly<Record<string, { readonly env: string; readonly default: number }>>;
}

export const INPUT_BOUNDS_FILE: BoundsFile = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'input-bounds.json'), 'utf8')) as BoundsFile;

export interface InputBounds {
  /** Earliest acceptable submitted_at, epoch ms. */
  readonly earliestSubmittedAtMs: number;
  /** How far past the processing clock a submitted_at may lie (clock skew allowance), ms. */
  readonly maxSkewMs: number;
  /** Inclusive upper bound per feature. */
  readonly featureMax: Readonly<Record<string, number>>;
  /** The env variable of each bound, for messages: feature name or 'earliest' / 'maxSkew' -> variable. */
  readonly variables: Readonly<Record<string, string>>;
}

/** An ISO-8601 instant (or a date) to epoch ms; undefined when it is not one. */
export function parseInstant(raw: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw.trim())) return undefined;
  const ms = Date.parse(raw.trim());
  return Number.isFinite(ms) ? ms : undefined;
}

const instant = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const ms = parseInstant(v);
      if (ms === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be an ISO-8601 date or instant like 2000-01-01T00:00:00Z (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

const F = INPUT_BOUNDS_FILE;

/** The env variables of the bounds, for a service's env shape (spread it in). */
export const inputBoundsEnv: Record<string, z.ZodTypeAny> = {
  [F.submittedAt.earliest.env]: instant(F.submittedAt.earliest.default),
  [F.submittedAt.maxSkew.env]: env.duration(F.submittedAt.maxSkew.default),
  ...Object.fromEntries(Object.values(F.featureMax).map((b) => [b.env, env.number(b.default, 0)])),
};

/** Compiles parsed env values (of `inputBoundsEnv`) into bounds; missing values take the file's defaults. */
export function compileInputBounds(raw: Readonly<Record<string, unknown>> = {}): InputBounds {
  const num = (name: string, def: number): number => (typeof raw[name] === 'number' ? (raw[name] as number) : def);
  const variables: Record<string, string> = { earliest: F.submittedAt.earliest.env, maxSkew: F.submittedAt.maxSkew.env };
  const featureMax: Record<string, number> = {};
  for (const [feature, b] of Object.entries(F.featureMax)) {
    featureMax[feature] = num(b.env, b.default);
    variables[feature] = b.env;
  }
  return Object.freeze({
    earliestSubmittedAtMs: num(F.submittedAt.earliest.env, parseInstant(F.submittedAt.earliest.default)!),
    maxSkewMs: num(F.submittedAt.maxSkew.env, parseDuration(F.submittedAt.maxSkew.default)!),
    featureMax: Object.freeze(featureMax),
    variables: Object.freeze(variables),
  });
}

export const DEFAULT_INPUT_BOUNDS: InputBounds = compileInputBounds();
