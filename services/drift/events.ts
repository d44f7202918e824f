/** The drift monitor's instrumentation events. Metrics (metrics.ts), logs and the live view attach as listeners. */
import type { InstrumentationEvent } from '../shared/instrumentation.ts';
import { Instrumentation } from '../shared/instrumentation.ts';
import type { DriftAlertValue, DriftWindowValue } from './windows/codec.ts';
import type { FairnessWindowValue } from './fairness/codec.ts';
import type { WindowResult } from './statistics/evaluate.ts';
import type { ReferenceEpoch } from './statistics/reference-schedule.ts';
import type { RetrainStatus } from './aggregation/retrain-policy.ts';

/** The parts of the monitor with Kafka clients of their own; 'references' follows model-updates. */
export type DriftComponent = 'instance' | 'aggregator' | 'view' | 'references';

export type DriftServiceEvent =
  | InstrumentationEvent<'records', { partition: number; count: number; dropped: Record<string, number> }>
  | InstrumentationEvent<'late', { stage: 'instance' | 'aggregator'; records: number }>
  | InstrumentationEvent<'future', { stage: 'instance'; records: number }>
  | InstrumentationEvent<'open-windows', { open: number; pending?: number }>
  | InstrumentationEvent<'flush', { component: DriftComponent; messages: number; durationMs: number; ok: boolean }>
  /** The fairness join since the last flush: decisions late, counted without demographics, orphan demographics, invalid decisions; decisions waiting now. */
  | InstrumentationEvent<'fairness.join', { late: number; unjoined: number; orphans: number; invalid: number; waiting: number }>
  | InstrumentationEvent<'outcomes', { joined: number; waiting: number; evicted: number; dropped: number }>
  | InstrumentationEvent<'window.finalized', { result: WindowResult }>
  | InstrumentationEvent<'partial.ignored', { reason: string; count: number }>
  | InstrumentationEvent<'alert', { alert: DriftAlertValue }>
  | InstrumentationEvent<'retrain', { action: string; outcome: string; detail: string; targets: string[] }>
  | InstrumentationEvent<'reference.scheduled', { epoch: ReferenceEpoch; previous: ReferenceEpoch; durationMs: number }>
  | InstrumentationEvent<'reference.unchanged', { version: string; reason: string }>
  | InstrumentationEvent<'reference.refused', { version: string; reason: string }>
  | InstrumentationEvent<'reference.switched', { version: string; previousVersion: string; window: number }>
  | InstrumentationEvent<'retrain.state', { status: RetrainStatus; labelled: number; required: number; attempts: number; nextAt: number }>
  | InstrumentationEvent<'view.window', { window: DriftWindowValue; latest: boolean }>
  | InstrumentationEvent<'view.alert', { alert: DriftAlertValue }>
  /** A fairness window read back from fairness-windows (every instance); `latest` when it is the newest. */
  | InstrumentationEvent<'view.fairness', { window: FairnessWindowValue; latest: boolean }>
  /** The aggregator finalized a fairness window (published in its transaction). */
  | InstrumentationEvent<'fairness.finalized', { window: FairnessWindowValue }>
  | InstrumentationEvent<'consumer.joined', { component: DriftComponent; memberId: string; partitions: Record<string, number[]> }>
  | InstrumentationEvent<'consumer.rebalancing', { component: DriftComponent }>
  | InstrumentationEvent<'consumer.crashed', { component: DriftComponent; error: string; restart: boolean }>
  /** The client supervisor replaced a component's Kafka client (reason: the error type). */
  | InstrumentationEvent<'kafka.client.restart', { component: DriftComponent; client: string; reason: string; error: string; attempt: number }>
  | InstrumentationEvent<'kafka.client.recovered', { component: DriftComponent; downMs: number }>
  | InstrumentationEvent<'kafka.client.gave-up', { component: DriftComponent; client: string; reason: string; downMs: number }>
  | InstrumentationEvent<'error', { component: DriftComponent; code: string; message: string; retriable: boolean }>;

export type DriftInstrumentation = Instrumentation<DriftServiceEvent>;
export const createDriftInstrumentation = (): DriftInstrumentation => new Instrumentation<DriftServiceEvent>();
