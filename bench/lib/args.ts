/** Command-line options of bench/run.ts and the sizes they imply. Pure. */
import type { Sizes } from './scenario.ts';

export const SCENARIOS = ['model-limit', 'throughput', 'broker-limit', 'request-response', 'latency', 'drift', 'scaling'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const FULL: Sizes = {
  n: 100_000,
  repetitions: 5,
  warmupRounds: 1,
  invalidShare: 0.01,
  httpRequests: 10_000,
  httpConcurrency: 32,
  perfRecords: 500_000,
  latencyRates: [1000, 5000],
  latencySeconds: 15,
  latencyRepetitions: 1,
};

export const QUICK: Sizes = {
  n: 3000,
  repetitions: 1,
  warmupRounds: 0,
  invalidShare: 0.01,
  httpRequests: 600,
  httpConcurrency: 16,
  perfRecords: 20_000,
  latencyRates: [1000],
  latencySeconds: 3,
  latencyRepetitions: 1,
};

export interface Options {
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly only: readonly ScenarioName[];
  readonly out: string;
  readonly profile: boolean;
  /** Streaming contenders to run (default all). */
  readonly contenders?: readonly string[];
  /** A commit whose scorer runs beside today's in the throughput scenario. */
  readonly baseline?: string;
  /** Also run scorer-eos / scorer-alo through a SASL_SSL broker (throughput), for the TLS overhead ratio. */
  readonly secure: boolean;
}

export const USAGE = `usage: bench/run.ts [--quick] [--n N] [--reps R] [--warmup W] [--only ${SCENARIOS.join(',')}] [--out FILE] [--profile] [--contenders a,b] [--baseline REF] [--secure]
  --quick    small sizes, one repetition (under 2 minutes; what the test runs)
  --n        applications per streaming scenario (default ${FULL.n}, quick ${QUICK.n})
  --reps     repetitions of each throughput scenario (default ${FULL.repetitions})
  --warmup   throughput rounds run first and discarded, every contender once (default ${FULL.warmupRounds}; --quick ${QUICK.warmupRounds})
  --only     run only these scenarios (comma-separated)
  --out      results file (default bench/results/latest.json)
  --profile  write V8 CPU profiles of the scorer runs next to the results file
  --contenders  only these streaming contenders (scorer-eos,scorer-alo,scorer-eos-noexplain,scorer-alo-noexplain,peer-a,peer-a-reasons,
             baseline-eos,baseline-alo; with --secure also scorer-eos-sasl_ssl,scorer-alo-sasl_ssl), for investigating one
  --baseline also run the scorer as of commit REF (both modes) in the throughput scenario, and report
             today's throughput without explanations as a ratio to it (make bench: the round's base)
  --secure   throughput: also run scorer-eos and scorer-alo (those selected) through the SASL_SSL
             (SCRAM-SHA-512) listener of a secured broker started next to the plaintext cluster
             (BENCH_SECURE_PORT_BASE, default 29200-29202), on the same applications, and report
             "scorer-eos (SASL_SSL)/scorer-eos (plaintext)" (applications/s and CPU s per 100k)`;

export function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let profile = false;
  let secure = false;
  let n: number | undefined;
  let reps: number | undefined;
  let warmup: number | undefined;
  let only: ScenarioName[] = [...SCENARIOS];
  let out = 'bench/results/latest.json';
  let contenders: string[] | undefined;
  let baseline: string | undefined;
  const positive = (flag: string, v: string | undefined) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`${flag} needs a positive integer, got ${v}\n${USAGE}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--profile') profile = true;
    else if (a === '--secure') secure = true;
    else if (a === '--n') n = positive(a, argv[++i]);
    else if (a === '--reps') reps = positive(a, argv[++i]);
    else if (a === '--warmup') {
      const v = argv[++i];
      warmup = Number(v);
      if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup needs a whole number of rounds (0 or more), got ${v}\n${USAGE}`);
    }
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--contenders') contenders = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--baseline') {
      baseline = argv[++i];
      if (!baseline) throw new Error(`--baseline needs a commit\n${USAGE}`);
    }
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = names.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
      if (bad.length || !names.length) throw new Error(`unknown scenario(s) ${bad.join(', ')}\n${USAGE}`);
      only = names as ScenarioName[];
    } else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (secure && !only.includes('throughput')) throw new Error(`--secure applies to the throughput scenario, which --only ${only.join(',')} leaves out\n${USAGE}`);
  const base = quick ? QUICK : FULL;
  const sizes: Sizes = { ...base, ...(n ? { n } : {}), ...(reps ? { repetitions: reps } : {}), ...(warmup !== undefined ? { warmupRounds: warmup } : {}) };
  return { quick, sizes, only, out, profile, secure, ...(contenders ? { contenders } : {}), ...(baseline ? { baseline } : {}) };
}
