/** The scorer's instrumentation events. Metrics (metrics.ts) and logs attach as listeners. */
import type { InstrumentationEvent } from '../shared/instrumentation.ts';
import { Instrumentation } from '../shared/instrumentation.ts';
import type { DecisionRecord } from './records.ts';

export type ScorerEvent =
  | InstrumentationEvent<'batch.end', { partitions: readonly { partition: number; firstOffset: string; lastOffset: string }[]; size: number; scored: number; deadLettered: number; durationMs: number; ok: boolean; modelVersion?: string }>
  | InstrumentationEvent<'inference', { rows: number; durationMs: number; modelVersion: string }>
  | InstrumentationEvent<'decisions', { byDecision: Record<string, number>; endToEndMs: number[] }>
  /** The committed decision records of one chunk (for per-decision debug logs; records carry no personal fields). */
  | InstrumentationEvent<'decision.records', { records: readonly DecisionRecord[] }>
  | InstrumentationEvent<'dead-letters', { byCode: Record<string, number> }>
  | InstrumentationEvent<'transaction', { result: 'committed' | 'aborted' | 'fenced'; durationMs: number }>
  /** The client supervisor replaced the Kafka session because `client` died (reason: the error type). */
  | InstrumentationEvent<'kafka.client.restart', { client: string; reason: string; error: string; attempt: number }>
  | InstrumentationEvent<'kafka.client.recovered', { downMs: number }>
  | InstrumentationEvent<'kafka.client.open-failed', { error: string; attempt: number; retryInMs: number }>
  | InstrumentationEvent<'kafka.client.gave-up', { client: string; reason: string; downMs: number }>
  | InstrumentationEvent<'consumer.joined', { memberId: string; partitions: number[] }>
  | InstrumentationEvent<'consumer.rebalancing', Record<string, never>>
  | InstrumentationEvent<'consumer.crashed', { error: string; restart: boolean }>
  | InstrumentationEvent<'lag', { topic: string; partition: number; lag: number }[]>
  /** createdAt: when the version was trained (metadata created_at), epoch ms, if the metadata says. */
  | InstrumentationEvent<'model.loaded', { name: string; version: string; createdAt?: number }>
  | InstrumentationEvent<'model.swap', { result: 'activated' | 'refused'; version: string; previousVersion?: string; reason: string; durationMs: number }>
  /** fenced: the commit was refused because the group moved on (KIP-447); the work is dropped, the consumer rejoins. */
  | InstrumentationEvent<'error', { code: string; message: string; retriable: boolean; fenced?: boolean }>
  | InstrumentationEvent<'predict', { durationMs: number; status: number }>;

export type ScorerInstrumentation = Instrumentation<ScorerEvent>;
export const createScorerInstrumentation = (): ScorerInstrumentation => new Instrumentation<ScorerEvent>();
