import { describe, expect, it } from 'vitest';
import { spread } from './stats.ts';
import { secureTwin, tlsOverhead, tlsRatios, withSecureTwins } from './transport.ts';

describe('withSecureTwins (--secure contender selection)', () => {
  it('without --secure: the selection unchanged, and a SASL_SSL twin is refused', () => {
    expect(withSecureTwins(['scorer-eos', 'peer-a'], false)).toEqual(['scorer-eos', 'peer-a']);
    expect(() => withSecureTwins(['scorer-eos-sasl_ssl'], false)).toThrow(/add --secure/);
  });

  it('with --secure: each scorer mode is followed by its twin; other contenders stay plaintext only', () => {
    expect(withSecureTwins(['scorer-eos', 'peer-a', 'scorer-alo'], true)).toEqual(['scorer-eos', 'scorer-eos-sasl_ssl', 'peer-a', 'scorer-alo', 'scorer-alo-sasl_ssl']);
    expect(withSecureTwins(['scorer-eos-noexplain', 'scorer-eos'], true)).toEqual(['scorer-eos-noexplain', 'scorer-eos', 'scorer-eos-sasl_ssl']);
  });

  it('a twin named alone brings its plaintext run (the ratio needs both), once', () => {
    expect(withSecureTwins(['scorer-alo-sasl_ssl'], true)).toEqual(['scorer-alo', 'scorer-alo-sasl_ssl']);
    expect(withSecureTwins(['scorer-eos-sasl_ssl', 'scorer-eos'], true)).toEqual(['scorer-eos', 'scorer-eos-sasl_ssl']);
  });

  it('refuses a selection with nothing to compare, and twins of contenders without a principal', () => {
    expect(() => withSecureTwins(['peer-a'], true)).toThrow(/select at least one/);
    expect(() => withSecureTwins(['peer-a-sasl_ssl'], true)).toThrow(/unknown contender.*peer-a-sasl_ssl/);
  });
});

describe('tlsOverhead / tlsRatios', () => {
  const side = (apps: number[], cpu: number[]) => ({ appsPerSec: spread(apps), cpuSecPer100k: spread(cpu) });
  const contenders = {
    'scorer-eos': side([20_000, 22_000, 21_000], [4.0, 4.2, 4.4]),
    [secureTwin('scorer-eos')]: side([15_000, 16_800, 16_000], [5.0, 5.4, 5.2]),
    'scorer-alo': side([25_000], [4.0]),
    'peer-a': side([19_000], [5.3]),
  };

  it('divides the SASL_SSL medians by the plaintext ones, for the modes that ran both ways', () => {
    const o = tlsOverhead(contenders);
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({ name: 'scorer-eos (SASL_SSL)/scorer-eos (plaintext)', plaintext: { appsPerSec: 21_000, cpuSecPer100k: 4.2 }, secure: { appsPerSec: 16_000, cpuSecPer100k: 5.2 } });
    expect(o[0]!.throughputRatio).toBe(0.76);
    expect(o[0]!.cpuRatio).toBe(1.24);
    expect(tlsRatios(contenders)).toEqual({ 'scorer-eos (SASL_SSL)/scorer-eos (plaintext)': 0.76, 'cpu-per-100k scorer-eos (SASL_SSL)/scorer-eos (plaintext)': 1.24 });
  });

  it('NaN where one side failed every run (null summary), nothing without --secure', () => {
    const failed = { ...contenders, [secureTwin('scorer-eos')]: { appsPerSec: null, cpuSecPer100k: null } };
    expect(tlsOverhead(failed)[0]!.throughputRatio).toBeNaN();
    expect(tlsRatios({ 'scorer-eos': contenders['scorer-eos'] })).toEqual({});
  });
});
