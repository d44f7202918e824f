/**
 * The aggregator's core: merges the partial windows of all source partitions (counts are additive) and
 * decides when a window is complete. Pure.
 *
 * A window is complete when every source partition has either sent its part, or is past the window
 * (progress >= end + lateness, so it had nothing for it), or is idle without an open window at or before
 * it. Windows complete in index order. A part that arrives for a window already finalized is late: its
 * records are counted, not merged. A part seen twice (an instance re-reading after a crash or rebalance
 * produces the same counts) is merged once.
 */
import { PerformanceCounts } from '../statistics/performance.ts';
import { isClosed, windowEnd, windowStart, type WindowSpec } from '../windows/windows.ts';

export interface WindowPart {
  readonly partition: number;
  readonly index: number;
  readonly counts: ArrayLike<number>;
  readonly records: number;
  readonly firstEventAt: number;
  readonly lastEventAt: number;
}

export interface ProgressReport {
  readonly partition: number;
  /** -Infinity before the partition's first record. */
  readonly progress: number;
  readonly idle: boolean;
  /** Lowest window still open on the partition, or undefined. */
  readonly openFrom: number | undefined;
  readonly late: number;
}

export interface MergedWindow {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly counts: Float64Array;
  readonly records: number;
  readonly firstEventAt: number;
  readonly lastEventAt: number;
  readonly partitions: readonly number[];
  /** Late records reported since the previous finalized window. */
  readonly late: number;
  readonly performance: PerformanceCounts | undefined;
}

interface Pending {
  readonly index: number;
  readonly counts: Float64Array;
  records: number;
  firstEventAt: number;
  lastEventAt: number;
  readonly parts: Set<number>;
  /** Offset of the first partials-topic message about this window. */
  readonly firstOffset: number;
  performance?: PerformanceCounts;
}

interface PartitionProgress {
  progress: number;
  idle: boolean;
  openFrom: number | undefined;
}

/** What survives a restart of the aggregator (kept as offset-commit metadata). */
export interface AggregationCheckpoint {
  readonly offset: number;
  readonly lastFinalized: number;
  readonly through: number;
  readonly partitions: readonly { partition: number; progress: number; idle: boolean; openFrom: number | undefined }[];
}

export type PartOutcome = 'merged' | 'duplicate' | 'late' | 'replayed';

const RECENT = 2048;

export class Aggregation {
  private readonly pending = new Map<number, Pending>();
  private readonly progress = new Map<number, PartitionProgress>();
  /** Source partitions of recently finalized windows, to tell a duplicate from a late part. */
  private readonly finalizedParts = new Map<number, Set<number>>();
  private _lastFinalized: number;
  private readonly replayUntil: number;
  private processedThrough: number;
  private lateSinceFinalized = 0;
  private _lateTotal = 0;
  private readonly sizeOf: (index: number) => number;

  constructor(
    private readonly spec: WindowSpec,
    /** Counts per window: one size, or the size of window k's reference layout. */
    countsSize: number | ((index: number) => number),
    private readonly partitionCount: number,
    from?: AggregationCheckpoint,
  ) {
    this.sizeOf = typeof countsSize === 'number' ? () => countsSize : countsSize;
    this._lastFinalized = from?.lastFinalized ?? -Infinity;
    this.replayUntil = from?.through ?? 0;
    this.processedThrough = from?.offset ?? 0;
    for (const p of from?.partitions ?? []) this.progress.set(p.partition, { progress: p.progress, idle: p.idle, openFrom: p.openFrom });
  }

  get lastFinalized(): number {
    return this._lastFinalized;
  }
  get pendingWindows(): number {
    return this.pending.size;
  }
  get lateTotal(): number {
    return this._lateTotal;
  }

  private pendingFor(index: number, offset: number): Pending {
    let w = this.pending.get(index);
    if (!w) {
      w = { index, counts: new Float64Array(this.sizeOf(index)), records: 0, firstEventAt: Infinity, lastEventAt: -Infinity, parts: new Set(), firstOffset: offset };
      this.pending.set(index, w);
    }
    return w;
  }

  private seen(offset: number): void {
    this.processedThrough = Math.max(this.processedThrough, offset + 1);
  }

  /** Merges partition `part.partition`'s counts of window `part.index`, read at `offset` of the partials topic. */
  onWindow(part: WindowPart, offset: number): PartOutcome {
    this.seen(offset);
    const size = this.pending.get(part.index)?.counts.length ?? this.sizeOf(part.index);
    if (part.counts.length !== size) throw new Error(`partial window ${part.index} has ${part.counts.length} counts, the reference layout ${size}`);
    if (part.index <= this._lastFinalized) {
      if (offset < this.replayUntil) return 'replayed';
      if (this.finalizedParts.get(part.index)?.has(part.partition)) return 'duplicate';
      this.lateSinceFinalized += part.records;
      this._lateTotal += part.records;
      return 'late';
    }
    const w = this.pendingFor(part.index, offset);
    if (w.parts.has(part.partition)) return 'duplicate';
    w.parts.add(part.partition);
    for (let i = 0; i < size; i++) w.counts[i]! += part.counts[i]!;
    w.records += part.records;
    w.firstEventAt = Math.min(w.firstEventAt, part.firstEventAt);
    w.lastEventAt = Math.max(w.lastEventAt, part.lastEventAt);
    return 'merged';
  }

  onProgress(r: ProgressReport, offset: number): void {
    this.seen(offset);
    const prev = this.progress.get(r.partition);
    // Progress never goes back: an instance that took the partition over re-reads from its checkpoint.
    this.progress.set(r.partition, { progress: Math.max(prev?.progress ?? -Infinity, r.progress), idle: r.idle, openFrom: r.openFrom });
    if (offset >= this.replayUntil) {
      this.lateSinceFinalized += r.late;
      this._lateTotal += r.late;
    }
  }

  /** True for a message at `offset` that the checkpoint this aggregation resumed from had already processed. */
  replayed(offset: number): boolean {
    return offset < this.replayUntil;
  }

  /** Adds joined outcomes of window `index`; returns false when the window is already finalized. */
  onPerformance(index: number, delta: PerformanceCounts, offset: number): 'pending' | 'finalized' | 'replayed' {
    this.seen(offset);
    if (index <= this._lastFinalized) return offset < this.replayUntil ? 'replayed' : 'finalized';
    const w = this.pendingFor(index, offset);
    (w.performance ??= new PerformanceCounts(delta.bins)).merge(delta);
    return 'pending';
  }

  private complete(w: Pending): boolean {
    for (let p = 0; p < this.partitionCount; p++) {
      if (w.parts.has(p)) continue;
      const r = this.progress.get(p);
      if (!r) return false;
      if (isClosed(this.spec, w.index, r.progress)) continue;
      if (r.idle && (r.openFrom === undefined || r.openFrom > w.index)) continue;
      return false;
    }
    return true;
  }

  /** Removes and returns the complete windows, in index order. */
  finalize(): MergedWindow[] {
    const out: MergedWindow[] = [];
    const order = [...this.pending.keys()].sort((a, b) => a - b);
    for (const k of order) {
      const w = this.pending.get(k)!;
      if (!this.complete(w)) break;
      this.pending.delete(k);
      this._lastFinalized = k;
      this.finalizedParts.set(k, w.parts);
      if (this.finalizedParts.size > RECENT) this.finalizedParts.delete(this.finalizedParts.keys().next().value!);
      out.push({
        index: k,
        start: windowStart(this.spec, k),
        end: windowEnd(this.spec, k),
        counts: w.counts,
        records: w.records,
        firstEventAt: w.records ? w.firstEventAt : 0,
        lastEventAt: w.records ? w.lastEventAt : 0,
        partitions: [...w.parts].sort((a, b) => a - b),
        late: this.lateSinceFinalized,
        performance: w.performance,
      });
      this.lateSinceFinalized = 0;
    }
    return out;
  }

  checkpoint(): AggregationCheckpoint {
    let offset = this.processedThrough;
    for (const w of this.pending.values()) offset = Math.min(offset, w.firstOffset);
    return {
      offset,
      lastFinalized: this._lastFinalized,
      through: Math.max(this.processedThrough, this.replayUntil),
      partitions: [...this.progress.entries()].sort((a, b) => a[0] - b[0]).map(([partition, r]) => ({ partition, ...r })),
    };
  }

  /** Progress per source partition (for /drift and the report). */
  partitionProgress(): { partition: number; progress: number; idle: boolean }[] {
    return [...this.progress.entries()].sort((a, b) => a[0] - b[0]).map(([partition, r]) => ({ partition, progress: r.progress, idle: r.idle }));
  }
}
