/**
 * The disparity scenario (docs/fairness.md, issue 19): from application `from` until `until` (exclusive;
 * none: for good) the applicants of one protected group (`attribute` = `group`, as demographics.ts drew it from
 * their features) have their income feature multiplied by `incomeFactor`. The income is scaled AFTER the
 * group is drawn, so who belongs to the group and every other feature stay exactly as without the scenario;
 * a model that never sees the group then approves it less through the lower incomes alone, which the drift
 * monitor's fairness windows should flag. The outcomes follow the published (scaled) features, like any
 * applicant's. Pure: the source (source.ts) draws the groups and calls `applyDisparity`.
 */
import { ConfigError } from '../shared/errors.ts';
import type { ProtectedAttribute } from '../shared/fair-lending.ts';

/** The income feature of schemas/population.json (checked by the tests). */
export const DISPARITY_FEATURE = 'annual_income';
export const DEFAULT_DISPARITY_GROUP = 'race_ethnicity=BLACK';
export const DEFAULT_DISPARITY_INCOME_FACTOR = 0.5;

export interface Disparity {
  /** First application index hit. */
  readonly from: number;
  /** First index no longer hit; undefined: for good. */
  readonly until?: number;
  readonly attribute: string;
  readonly group: string;
  /** Multiplies the group's income, in (0, 1]. */
  readonly incomeFactor: number;
}

/** True when application `i` falls in the scenario's index range (whatever its group). */
export function inDisparity(i: number, d: Disparity | undefined): d is Disparity {
  return d !== undefined && i >= d.from && (d.until === undefined || i < d.until);
}

/**
 * Application `i` with the scenario applied: a new object with the income scaled when `i` is in range and its
 * drawn `groups` (attribute -> category) match; otherwise `app` itself.
 */
export function applyDisparity<T extends Readonly<Record<string, unknown>>>(app: T, i: number, groups: Readonly<Record<string, string>>, d: Disparity | undefined): T {
  if (!inDisparity(i, d) || groups[d.attribute] !== d.group) return app;
  const income = app[DISPARITY_FEATURE];
  if (typeof income !== 'number') throw new TypeError(`disparity: feature ${DISPARITY_FEATURE} must be a number, got ${typeof income}`);
  return { ...app, [DISPARITY_FEATURE]: income * d.incomeFactor };
}

/** `attribute=GROUP` of the spec's protected attributes (e.g. race_ethnicity=BLACK); `name` is the flag or variable. */
export function parseDisparityGroup(raw: string, attributes: readonly ProtectedAttribute[], name: string): { attribute: string; group: string } {
  const known = attributes.map((a) => `${a.name}=${a.categories.join('|')}`).join(', ');
  const m = /^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$/.exec(raw);
  const attribute = m && attributes.find((a) => a.name === m[1]);
  if (!m || !attribute) throw new ConfigError(`${name} must be <attribute>=<group> of schemas/population.json demographics (${known}), got "${raw}"`, [name]);
  const group = attribute.categories.find((c) => c === m[2]!.toUpperCase());
  if (!group) throw new ConfigError(`${name}: ${attribute.name} has no group "${m[2]}" (${attribute.categories.join(', ')})`, [name]);
  // The monitor compares every group with the reference and never compares the not-provided category.
  if (group === attribute.reference) throw new ConfigError(`${name}: ${group} is the reference group of ${attribute.name}, which the adverse impact ratio compares with; choose another`, [name]);
  if (group === attribute.notProvided) throw new ConfigError(`${name}: ${group} of ${attribute.name} is counted but never compared; choose another`, [name]);
  return { attribute: attribute.name, group };
}

/** The income factor, in (0, 1]; `name` is the flag or variable. */
export function checkIncomeFactor(x: number, name: string): number {
  if (!Number.isFinite(x) || x <= 0 || x > 1) throw new ConfigError(`${name} must be a number in (0, 1] (the share of its income the group keeps), got "${x}"`, [name]);
  return x;
}

export interface DisparityInput {
  readonly from: number;
  readonly until?: number | undefined;
  readonly group: string;
  readonly incomeFactor: number;
}

/** Flag or variable names, for the errors. */
export interface DisparityNames {
  readonly from: string;
  readonly until: string;
  readonly group: string;
  readonly incomeFactor: string;
}

/** The scenario from validated input; throws a ConfigError naming the flag or variable at fault. */
export function parseDisparity(input: DisparityInput, attributes: readonly ProtectedAttribute[], names: DisparityNames): Disparity {
  if (!Number.isSafeInteger(input.from) || input.from < 0) throw new ConfigError(`${names.from} must be a whole number >= 0 (an application index), got "${input.from}"`, [names.from]);
  if (input.until !== undefined && (!Number.isSafeInteger(input.until) || input.until <= input.from)) {
    throw new ConfigError(`${names.until} must be a whole number above ${names.from} (${input.from}), got "${input.until}"`, [names.until]);
  }
  const { attribute, group } = parseDisparityGroup(input.group, attributes, names.group);
  return { from: input.from, ...(input.until !== undefined ? { until: input.until } : {}), attribute, group, incomeFactor: checkIncomeFactor(input.incomeFactor, names.incomeFactor) };
}

/** `race_ethnicity BLACK incomes x0.5` (story lines, status). */
export function describeDisparity(d: Disparity): string {
  return `${d.attribute} ${d.group} incomes x${d.incomeFactor}`;
}
