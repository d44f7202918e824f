/** make start's disparity scenario from its environment: apart from the macro shock by default, off at 0, errors naming the variable. */
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { fairLending } from '../shared/fair-lending.ts';
import { defaultDisparityAfter, LIVE_DISPARITY_ENV, liveDisparity } from './scenario.ts';

const attributes = fairLending().attributes;
const SHOCK = { shockFrom: 30_000, shockUntil: 66_000 };
const fromEnv = (raw: Record<string, string>, shock: { shockFrom?: number; shockUntil?: number } = SHOCK) => liveDisparity(parseEnv(LIVE_DISPARITY_ENV, raw), shock, attributes);

describe('LIVE_DISPARITY_*', () => {
  it('by default: race_ethnicity BLACK incomes x0.5 for 24,000 applications, 30,000 after the default shock ends', () => {
    expect(fromEnv({})).toEqual({ from: 96_000, until: 120_000, attribute: 'race_ethnicity', group: 'BLACK', incomeFactor: 0.5 });
  });

  it('starts after the shock whatever its settings; 30,000 without a shock', () => {
    expect(defaultDisparityAfter({ shockFrom: 1_000, shockUntil: 2_000 })).toBe(32_000);
    expect(defaultDisparityAfter({ shockFrom: 1_000 })).toBe(61_000);
    expect(defaultDisparityAfter({})).toBe(30_000);
  });

  it('takes the variables; 0 turns it off, LIVE_DISPARITY_FOR=0 runs it for good', () => {
    expect(fromEnv({ LIVE_DISPARITY_AFTER: '500', LIVE_DISPARITY_FOR: '0', LIVE_DISPARITY_GROUP: 'sex=FEMALE', LIVE_DISPARITY_INCOME_FACTOR: '0.6' })).toEqual({ from: 500, attribute: 'sex', group: 'FEMALE', incomeFactor: 0.6 });
    expect(fromEnv({ LIVE_DISPARITY_AFTER: '0' })).toBeUndefined();
  });

  it('names the variable at fault, also while off', () => {
    expect(() => fromEnv({ LIVE_DISPARITY_GROUP: 'race_ethnicity=WHITE' })).toThrow(/LIVE_DISPARITY_GROUP: WHITE is the reference group/);
    expect(() => fromEnv({ LIVE_DISPARITY_AFTER: '0', LIVE_DISPARITY_INCOME_FACTOR: '2' })).toThrow(/LIVE_DISPARITY_INCOME_FACTOR must be a number in \(0, 1\]/);
    expect(() => fromEnv({ LIVE_DISPARITY_AFTER: '-5' })).toThrow(ConfigError);
    expect(() => fromEnv({ LIVE_DISPARITY_AFTER: '-5' })).toThrow(/LIVE_DISPARITY_AFTER/);
    expect(() => fromEnv({ LIVE_DISPARITY_FOR: 'lots' })).toThrow(/LIVE_DISPARITY_FOR/);
  });
});
