import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.ts';
import { loadDriftConfig } from './config.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadDriftConfig(env);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('drift config', () => {
  it('defaults to 5-minute tumbling time windows with 30 s lateness, bands 0.1 / 0.25', () => {
    const c = loadDriftConfig({});
    expect(c.window).toEqual({ by: 'time', size: 300_000, hop: 300_000, lateness: 30_000 });
    expect(c.windowing).toBe('time:size=300000:hop=300000:lateness=30000');
    expect(c.bands).toEqual({ warn: 0.1, alert: 0.25 });
    expect(c.epsilon).toBe(1e-4);
  });
  it('takes hopping count windows', () => {
    const c = loadDriftConfig({ DRIFT_WINDOW_BY: 'count', DRIFT_WINDOW_SIZE: '5000', DRIFT_WINDOW_HOP: '1000' });
    expect(c.window).toEqual({ by: 'count', size: 5000, hop: 1000, lateness: 0 });
  });
  it('names the variable that is wrong', () => {
    expect(errorOf({ DRIFT_WINDOW_SIZE: 'soon' }).variables).toEqual(['DRIFT_WINDOW_SIZE']);
    expect(errorOf({ DRIFT_WINDOW_BY: 'count', DRIFT_WINDOW_SIZE: '5m' }).variables).toEqual(['DRIFT_WINDOW_SIZE']);
    expect(errorOf({ DRIFT_WINDOW_SIZE: '1m', DRIFT_WINDOW_HOP: '2m' }).message).toMatch(/hop/);
    expect(errorOf({ DRIFT_PSI_WARN: '0.3' }).variables).toEqual(['DRIFT_PSI_WARN', 'DRIFT_PSI_ALERT']);
    expect(errorOf({ DRIFT_RETRAIN: 'sometimes' }).variables).toEqual(['DRIFT_RETRAIN']);
  });
});
