/**
 * A compiled fast path for validation. zod stays the definition of the rules and the source of error
 * messages; this module reads the bounds out of those zod schemas once and turns them into plain
 * comparisons, so the common case (a valid application) costs a few property reads instead of a zod
 * parse. Anything it cannot compile, or any input it rejects, goes through zod.
 */
import { z } from 'zod';

export type Check = (value: unknown) => boolean;

function compileNumber(schema: z.ZodNumber): Check | undefined {
  let min = -Infinity;
  let minInclusive = true;
  let max = Infinity;
  let maxInclusive = true;
  let int = false;
  let finite = false;
  for (const c of schema._def.checks) {
    if (c.kind === 'min') [min, minInclusive] = [c.value, c.inclusive];
    else if (c.kind === 'max') [max, maxInclusive] = [c.value, c.inclusive];
    else if (c.kind === 'int') int = true;
    else if (c.kind === 'finite') finite = true;
    else return undefined;
  }
  return (v) =>
    typeof v === 'number' &&
    !Number.isNaN(v) &&
    (!finite || Number.isFinite(v)) &&
    (!int || Number.isInteger(v)) &&
    (minInclusive ? v >= min : v > min) &&
    (maxInclusive ? v <= max : v < max);
}

function compileString(schema: z.ZodString): Check | undefined {
  let min = 0;
  let max = Infinity;
  for (const c of schema._def.checks) {
    if (c.kind === 'min') min = c.value;
    else if (c.kind === 'max') max = c.value;
    else return undefined;
  }
  return (v) => typeof v === 'string' && v.length >= min && v.length <= max;
}

export function compileField(schema: z.ZodTypeAny): Check | undefined {
  if (schema instanceof z.ZodNumber) return compileNumber(schema);
  if (schema instanceof z.ZodString) return compileString(schema);
  return undefined;
}

/**
 * Compiles an object shape plus a cross-field predicate into one check, or undefined when some field
 * uses a rule this compiler does not know (then everything goes through zod).
 */
export function compileObject(shape: Readonly<Record<string, z.ZodTypeAny>>, crossField: (o: Record<string, number>) => boolean): Check | undefined {
  const fields: [string, Check][] = [];
  for (const [name, schema] of Object.entries(shape)) {
    const c = compileField(schema);
    if (!c) return undefined;
    fields.push([name, c]);
  }
  return (input) => {
    if (typeof input !== 'object' || input === null) return false;
    const o = input as Record<string, unknown>;
    for (const [name, check] of fields) if (!check(o[name])) return false;
    return crossField(o as Record<string, number>);
  };
}
