/**
 * Evaluator of the population spec's expression language (same operations, same order as
 * pipeline/population/expressions.py, so both give the same floating-point results):
 * a number; a feature name; {add|mul|min|max: [e, ...]} folded left to right; {sub|div: [a, b]};
 * {exp|log|log1p: e}.
 *
 * @example
 * evaluate({ add: [1, { mul: [2, 'x'] }] }, { x: 3 }); // 7
 */

export type Expr = number | string | ExprNode;
export interface ExprNode {
  readonly [op: string]: Expr | readonly Expr[];
}

const FOLDS: Readonly<Record<string, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
};
const BINARY: Readonly<Record<string, (a: number, b: number) => number>> = {
  sub: (a, b) => a - b,
  div: (a, b) => a / b,
};
const UNARY: Readonly<Record<string, (a: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
};

function single(expr: ExprNode): [string, Expr | readonly Expr[]] {
  const entries = Object.entries(expr);
  if (entries.length !== 1) throw new Error(`malformed expression: ${JSON.stringify(expr)}`);
  return entries[0]!;
}

/** Evaluates `expr` with feature values from `env`; throws on unknown features or operators. */
export function evaluate(expr: Expr, env: Readonly<Record<string, number>>): number {
  if (typeof expr === 'number') return expr;
  if (typeof expr === 'string') {
    const value = env[expr];
    if (value === undefined) throw new Error(`expression refers to ${expr}, which is not generated before it`);
    return value;
  }
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) throw new Error(`malformed expression: ${JSON.stringify(expr)}`);
  const [op, args] = single(expr);
  const fold = FOLDS[op];
  if (fold) {
    if (!Array.isArray(args) || args.length === 0) throw new Error(`${op} takes a non-empty list: ${JSON.stringify(expr)}`);
    let acc = evaluate(args[0] as Expr, env);
    for (let i = 1; i < args.length; i++) acc = fold(acc, evaluate(args[i] as Expr, env));
    return acc;
  }
  const binary = BINARY[op];
  if (binary) {
    if (!Array.isArray(args) || args.length !== 2) throw new Error(`${op} takes a list of two: ${JSON.stringify(expr)}`);
    return binary(evaluate(args[0] as Expr, env), evaluate(args[1] as Expr, env));
  }
  const unary = UNARY[op];
  if (unary) return unary(evaluate(args as Expr, env));
  throw new Error(`unknown operator ${op} in ${JSON.stringify(expr)}`);
}

/** Feature names an expression reads. */
export function references(expr: Expr): Set<string> {
  if (typeof expr === 'string') return new Set([expr]);
  if (typeof expr === 'number') return new Set();
  const [, args] = single(expr);
  const items: readonly Expr[] = Array.isArray(args) ? (args as readonly Expr[]) : [args as Expr];
  return new Set(items.flatMap((item) => [...references(item)]));
}
