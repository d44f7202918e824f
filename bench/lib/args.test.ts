import { describe, expect, it } from 'vitest';
import { FULL, parseArgs, QUICK, SCENARIOS } from './args.ts';

describe('bench/run.ts arguments', () => {
  it('defaults: every scenario, full sizes, plaintext only', () => {
    const o = parseArgs([]);
    expect(o.only).toEqual([...SCENARIOS]);
    expect(o.sizes).toEqual(FULL);
    expect(o.secure).toBe(false);
  });

  it('--secure turns on the SASL_SSL runs and combines with the other options', () => {
    const o = parseArgs(['--only', 'throughput', '--secure', '--n', '20000', '--reps', '1', '--contenders', 'scorer-eos']);
    expect(o.secure).toBe(true);
    expect(o.only).toEqual(['throughput']);
    expect(o.sizes).toMatchObject({ n: 20_000, repetitions: 1 });
    expect(o.contenders).toEqual(['scorer-eos']);
    expect(parseArgs(['--quick', '--secure']).sizes).toEqual(QUICK);
  });

  it('--warmup sets the discarded throughput rounds; 0 is allowed, a negative or fractional count names the option', () => {
    expect(FULL.warmupRounds).toBeGreaterThan(0);
    expect(QUICK.warmupRounds).toBe(0);
    expect(parseArgs(['--warmup', '0']).sizes.warmupRounds).toBe(0);
    expect(parseArgs(['--quick', '--warmup', '2']).sizes).toMatchObject({ n: QUICK.n, warmupRounds: 2 });
    expect(() => parseArgs(['--warmup', '-1'])).toThrow(/--warmup needs a whole number of rounds \(0 or more\), got -1/);
    expect(() => parseArgs(['--warmup', '1.5'])).toThrow(/--warmup needs a whole number/);
  });

  it('refuses --secure when the throughput scenario does not run', () => {
    expect(() => parseArgs(['--secure', '--only', 'latency,broker-limit'])).toThrow(/--secure applies to the throughput scenario/);
  });

  it('documents --secure in the usage text and refuses unknown options', () => {
    expect(() => parseArgs(['--help'])).toThrow(/--secure {3}throughput: also run scorer-eos and scorer-alo/);
    expect(() => parseArgs(['--tls'])).toThrow(/unknown option --tls/);
  });
});
