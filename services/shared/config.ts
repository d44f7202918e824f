/**
 * Config: raw environment -> defaults -> compiled, validated once with zod and frozen. Durations become
 * milliseconds here and nowhere else. Errors name the variable.
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "30s", "5m", "1h", "7d" or a bare number of milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = DURATION.exec(raw.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
}

export const env = {
  string: (def?: string) => (def === undefined ? z.string().min(1) : z.string().min(1).default(def)),
  optionalString: () => z.string().min(1).optional(),
  int: (def: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int(`must be a whole number`).min(min).max(max).default(def),
  number: (def: number, min = -Infinity, max = Infinity) => z.coerce.number().finite().min(min).max(max).default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { errorMap: () => ({ message: 'must be true or false' }) })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(def ? 'true' : 'false'),
  duration: (def: string) =>
    z
      .string()
      .default(def)
      .transform((v, ctx) => {
        const ms = parseDuration(v);
        if (ms === undefined) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a duration like 500ms, 30s, 5m (got "${v}")` });
          return z.NEVER;
        }
        return ms;
      }),
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) => z.enum(values as unknown as [T[number], ...T[number][]]).default(def as never),
};

/** Validates `raw` (usually process.env) against a schema keyed by variable name; throws ConfigError naming each bad variable. */
export function parseEnv<S extends z.ZodRawShape>(shape: S, raw: NodeJS.ProcessEnv): z.infer<z.ZodObject<S>> {
  // Empty strings count as unset, as shells often export VAR= to clear.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const r = z.object(shape).safeParse(cleaned);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}${i.code === 'invalid_type' && i.received === 'undefined' ? ' (required, not set)' : ''}`);
  const vars = [...new Set(r.error.issues.map((i) => String(i.path[0])))];
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`, vars);
}

/** A consumer must heartbeat at least three times per session timeout; names both variables otherwise. */
export function checkHeartbeat(heartbeatVar: string, heartbeatMs: number, sessionVar: string, sessionMs: number): void {
  if (heartbeatMs * 3 > sessionMs) {
    throw new ConfigError(`${heartbeatVar} (${heartbeatMs} ms) must be at most a third of ${sessionVar} (${sessionMs} ms)`, [heartbeatVar, sessionVar]);
  }
}

export function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
