/**
 * `make start`'s disparity scenario (services/simulator/disparity.ts) from its environment, apart from the
 * macro shock so the drift story and the fairness story are separate on screen:
 *
 *   LIVE_DISPARITY_AFTER          applications before it starts; 0 = never. Unset: DISPARITY_GAP (30,000)
 *                                 after the macro shock ends (96,000 with the default shock 30,000 + 36,000);
 *                                 30,000 with the shock off; 60,000 after its start with a shock for good
 *   LIVE_DISPARITY_FOR            applications it lasts (default 24,000; 0 = for good)
 *   LIVE_DISPARITY_GROUP          <attribute>=<group> hit (default race_ethnicity=BLACK)
 *   LIVE_DISPARITY_INCOME_FACTOR  multiplies the group's income, in (0, 1] (default 0.5)
 *
 * Pure; a bad value throws a ConfigError naming its variable (also while the scenario is off).
 */
import { z } from 'zod';
import { env } from '../shared/config.ts';
import type { ProtectedAttribute } from '../shared/fair-lending.ts';
import { checkIncomeFactor, DEFAULT_DISPARITY_GROUP, DEFAULT_DISPARITY_INCOME_FACTOR, parseDisparity, parseDisparityGroup, type Disparity } from '../simulator/disparity.ts';

export const DISPARITY_GAP = 30_000;

/** The variables, for parseEnv (services/shared/config.ts). */
export const LIVE_DISPARITY_ENV = {
  LIVE_DISPARITY_AFTER: z.coerce.number().int('must be a whole number').min(0).optional(),
  LIVE_DISPARITY_FOR: env.int(24_000, 0),
  LIVE_DISPARITY_GROUP: env.string(DEFAULT_DISPARITY_GROUP),
  LIVE_DISPARITY_INCOME_FACTOR: env.number(DEFAULT_DISPARITY_INCOME_FACTOR),
};

export interface LiveDisparityValues {
  readonly LIVE_DISPARITY_AFTER?: number | undefined;
  readonly LIVE_DISPARITY_FOR: number;
  readonly LIVE_DISPARITY_GROUP: string;
  readonly LIVE_DISPARITY_INCOME_FACTOR: number;
}

const NAMES = { from: 'LIVE_DISPARITY_AFTER', until: 'LIVE_DISPARITY_FOR', group: 'LIVE_DISPARITY_GROUP', incomeFactor: 'LIVE_DISPARITY_INCOME_FACTOR' };

/** Where the scenario starts when LIVE_DISPARITY_AFTER is unset: DISPARITY_GAP after the macro shock has ended. */
export function defaultDisparityAfter(shock: { readonly shockFrom?: number; readonly shockUntil?: number }): number {
  if (shock.shockFrom === undefined) return DISPARITY_GAP;
  if (shock.shockUntil === undefined) return shock.shockFrom + 2 * DISPARITY_GAP;
  return shock.shockUntil + DISPARITY_GAP;
}

/** The scenario of make start, or undefined when LIVE_DISPARITY_AFTER=0. */
export function liveDisparity(v: LiveDisparityValues, shock: { readonly shockFrom?: number; readonly shockUntil?: number }, attributes: readonly ProtectedAttribute[]): Disparity | undefined {
  const from = v.LIVE_DISPARITY_AFTER ?? defaultDisparityAfter(shock);
  if (from === 0) {
    parseDisparityGroup(v.LIVE_DISPARITY_GROUP, attributes, NAMES.group);
    checkIncomeFactor(v.LIVE_DISPARITY_INCOME_FACTOR, NAMES.incomeFactor);
    return undefined;
  }
  const until = v.LIVE_DISPARITY_FOR > 0 ? from + v.LIVE_DISPARITY_FOR : undefined;
  return parseDisparity({ from, until, group: v.LIVE_DISPARITY_GROUP, incomeFactor: v.LIVE_DISPARITY_INCOME_FACTOR }, attributes, NAMES);
}
