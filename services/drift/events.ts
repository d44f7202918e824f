/** The drift monitor's instrumentation events. Metrics (metrics.ts), logs and the live view attach as listeners. */
import type { InstrumentationEvent } from '../shared/instrumentation.ts';
import { Instrumentation } from '../shared/instrumentation.ts';
import type { DriftAlertValue, DriftWindowValue } from './windows/codec.ts';
import type { WindowResult } from './statistics/evaluate.ts';

export type DriftComponent = 'instance' | 'aggregator' | 'view';

export type DriftServiceEvent =
  | InstrumentationEvent<'records', { partition: number; count: number; dropped: Record<string, number> }>
  | InstrumentationEvent<'late', { stage: 'instance' | 'aggregator'; records: number }>
  | InstrumentationEvent<'open-windows', { open: number; pending?: number }>
  | InstrumentationEvent<'flush', { component: DriftComponent; messages: number; durationMs: number; ok: boolean }>
  | InstrumentationEvent<'outcomes', { joined: number; waiting: number; evicted: number; dropped: number }>
  | InstrumentationEvent<'window.finalized', { result: WindowResult }>
  | InstrumentationEvent<'partial.ignored', { reason: string; count: number }>
  | InstrumentationEvent<'alert', { alert: DriftAlertValue }>
  | InstrumentationEvent<'retrain', { action: string; outcome: string; detail: string; targets: string[] }>
  | InstrumentationEvent<'view.window', { window: DriftWindowValue; latest: boolean }>
  | InstrumentationEvent<'view.alert', { alert: DriftAlertValue }>
  | InstrumentationEvent<'consumer.joined', { component: DriftComponent; memberId: string; partitions: Record<string, number[]> }>
  | InstrumentationEvent<'consumer.rebalancing', { component: DriftComponent }>
  | InstrumentationEvent<'consumer.crashed', { component: DriftComponent; error: string; restart: boolean }>
  | InstrumentationEvent<'error', { component: DriftComponent; code: string; message: string; retriable: boolean }>;

export type DriftInstrumentation = Instrumentation<DriftServiceEvent>;
export const createDriftInstrumentation = (): DriftInstrumentation => new Instrumentation<DriftServiceEvent>();
