/** What every scenario gets and returns: the shape of one entry of bench/results/latest.json. */
import type { Baseline } from './baseline.ts';
import type { BenchCluster } from './cluster.ts';
import type { ClusterInfo, Machine } from './machine.ts';

export interface Sizes {
  /** Applications pre-loaded per streaming scenario. */
  readonly n: number;
  readonly repetitions: number;
  /**
   * Throughput rounds run first and discarded (every contender once): the broker's JIT, the page cache and
   * the CPU's clocks warm up over the first minute, and the first measured round ran 30-45% slower than the
   * third on a quiet machine.
   */
  readonly warmupRounds: number;
  readonly invalidShare: number;
  /** HTTP requests per Peer B run. */
  readonly httpRequests: number;
  readonly httpConcurrency: number;
  /** Records per run of Kafka's perf tools. */
  readonly perfRecords: number;
  /** Offered rates and seconds per latency run. */
  readonly latencyRates: readonly number[];
  readonly latencySeconds: number;
  readonly latencyRepetitions: number;
}

export interface BenchContext {
  readonly cluster: BenchCluster;
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly machine: Machine;
  /** Write V8 CPU profiles of the scorer runs here (--profile). */
  readonly profileDir?: string;
  /** Streaming contenders to run (--contenders); all when undefined. */
  readonly contenders?: readonly string[];
  /** The scorer at an earlier commit, run beside today's in the throughput scenario (--baseline REF). */
  readonly baseline?: Baseline;
  /** --secure: the SASL_SSL broker next to `cluster` (bench/lib/secure.ts) and what its listener negotiates. */
  readonly secure?: { readonly cluster: BenchCluster; readonly brokers: string; readonly tls: { readonly protocol: string; readonly cipher: string } };
  log(msg: string): void;
}

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly target: number;
  /** 'min': value must be >= target; 'max': value must be <= target. */
  readonly kind: 'min' | 'max';
  readonly met: boolean;
}

export function target(name: string, value: number, kind: 'min' | 'max', limit: number): Target {
  const met = Number.isFinite(value) && (kind === 'min' ? value >= limit : value <= limit);
  return { name, value, target: limit, kind, met };
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly description: string;
  readonly machine: Machine;
  readonly n?: number;
  readonly repetitions: number;
  readonly contenders: Record<string, Record<string, unknown>>;
  ratios: Record<string, number>;
  targets: Target[];
  readonly notes?: readonly string[];
  /** The commit the baseline contenders ran from (throughput with --baseline). */
  readonly baselineCommit?: string;
  /** The secured broker the *-sasl_ssl contenders ran on, and who connected how (throughput with --secure). */
  readonly secure?: SecureRunInfo;
  error?: string;
  readonly seconds: number;
}

export interface SecureRunInfo {
  readonly brokers: string;
  readonly protocol: 'SASL_SSL';
  readonly mechanism: 'SCRAM-SHA-512';
  /** What a Node client negotiated with the listener. */
  readonly tls: { readonly protocol: string; readonly cipher: string };
  readonly harnessPrincipal: string;
  readonly contenderPrincipal: string;
  readonly inputTopic: string;
  readonly cluster: ClusterInfo;
}
