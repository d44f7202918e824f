/**
 * Which reference each drift window is compared with, when the champion changes while the monitor runs.
 *
 * Rule: window k is compared with the reference of the model that was champion when the window started —
 * the latest announcement (model-updates) whose `announced_at` is at or before the window's start. So an
 * announcement at time T switches the monitor at the first window boundary at or after T; a window that
 * straddles T stays whole on the previous reference. The rule depends only on the announcement and the
 * window definition, so every instance and the aggregator agree on it without talking to each other, and a
 * restart re-derives the same schedule from the (compacted) model-updates topic.
 *
 * Count windows have no event-time bounds shared by all partitions (their coordinate is the record's
 * sequence within its partition), so they cannot switch at a common boundary: with `DRIFT_WINDOW_BY=count`
 * announcements are recorded but the monitor stays on its start-up reference (`switchBoundary` answers
 * undefined). Pure.
 */
import { layoutOf, type Layout } from '../windows/layout.ts';
import type { Reference } from './reference.ts';
import { type WindowSpec } from '../windows/windows.ts';

export interface ReferenceEpoch {
  /** First window index compared with this reference (-Infinity for the start-up reference). */
  readonly fromWindow: number;
  readonly reference: Reference;
  readonly layout: Layout;
  /** sha256 of the model.onnx the reference belongs to ('' when unknown). */
  readonly sha256: string;
  /** Epoch ms of the announcement (-Infinity for the start-up reference). */
  readonly announcedAt: number;
  /** PROMOTE, ROLLBACK, or START for the start-up reference. */
  readonly action: string;
  readonly reason: string;
  readonly by: string;
  /** Holdout metrics of the announcement (the gate's: roc_auc, pr_auc, brier …). */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** First window index (time windows) starting at or after `announcedAt`; undefined for count windows. */
export function switchBoundary(spec: WindowSpec, announcedAt: number): number | undefined {
  if (spec.by !== 'time') return undefined;
  return Math.ceil(announcedAt / spec.hop);
}

export type AddOutcome = { readonly added: true; readonly epoch: ReferenceEpoch; readonly previous: ReferenceEpoch } | { readonly added: false; readonly why: string };

export class ReferenceSchedule {
  private readonly list: ReferenceEpoch[];

  constructor(
    private readonly spec: WindowSpec,
    initial: Reference,
    sha256 = '',
  ) {
    this.list = [{ fromWindow: -Infinity, reference: initial, layout: layoutOf(initial), sha256, announcedAt: -Infinity, action: 'START', reason: '', by: '' }];
  }

  get epochs(): readonly ReferenceEpoch[] {
    return this.list;
  }
  get latest(): ReferenceEpoch {
    return this.list[this.list.length - 1]!;
  }
  /** The start-up reference. */
  get initial(): ReferenceEpoch {
    return this.list[0]!;
  }

  /** The epoch window `index` is compared with. */
  at(index: number): ReferenceEpoch {
    for (let i = this.list.length - 1; i > 0; i--) if (this.list[i]!.fromWindow <= index) return this.list[i]!;
    return this.list[0]!;
  }

  /** True when some epoch compares windows with reference `version`. */
  knows(version: string): boolean {
    return this.list.some((e) => e.reference.version === version);
  }

  /**
   * Adds an announced champion. An announcement of the reference already in force from that boundary is a
   * no-op; a later announcement for the same boundary replaces the earlier one (the topic's order wins).
   */
  add(a: { reference: Reference; sha256: string; announcedAt: number; action: string; reason: string; by: string; metrics?: Readonly<Record<string, number>> }): AddOutcome {
    const fromWindow = switchBoundary(this.spec, a.announcedAt);
    if (fromWindow === undefined) return { added: false, why: 'count windows do not switch references (see reference-schedule.ts)' };
    const previous = this.at(fromWindow);
    if (previous.reference.version === a.reference.version && previous.sha256 === a.sha256) return { added: false, why: `v${a.reference.version} is already the reference from window ${fromWindow}` };
    const sameVersion = this.list.find((e) => e.reference.version === a.reference.version);
    const layout = sameVersion && sameVersion.sha256 === a.sha256 ? sameVersion.layout : layoutOf(a.reference);
    const epoch: ReferenceEpoch = { fromWindow, reference: a.reference, layout, sha256: a.sha256, announcedAt: a.announcedAt, action: a.action, reason: a.reason, by: a.by, ...(a.metrics ? { metrics: a.metrics } : {}) };
    // Epochs after this boundary were announced earlier in the topic but for later windows (clock skew): the newest announcement wins.
    const keep = this.list.filter((e) => e.fromWindow < fromWindow);
    this.list.length = 0;
    this.list.push(...keep, epoch);
    return { added: true, epoch, previous };
  }
}
