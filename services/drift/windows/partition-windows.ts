/**
 * The windows of one source partition: assigns each record to its windows, keeps the open ones, closes
 * them as the partition's progress passes end + lateness, and says where to restart after a crash.
 * Deterministic given the partition's records from a checkpoint, which is what makes a restart (or a
 * rebalance to another instance) reproduce the same windows. Pure.
 *
 * Restart: the checkpoint's offset is the first record of the oldest open window (nothing before it is
 * needed); its progress is the partition's progress when the checkpoint was taken, so windows that had
 * closed stay closed; `through` marks records already processed once, so re-reading them is not counted
 * as lateness again.
 */
import { accumulate, type DriftRecord, type Layout } from './layout.ts';
import { isClosed, windowEnd, windowStart, windowsOf, type WindowSpec } from './windows.ts';

export interface PartitionCheckpoint {
  /** Offset to resume reading from. */
  readonly offset: number;
  /** Progress at checkpoint time (-Infinity: none yet). */
  readonly progress: number;
  /** Sequence number (records before it in the partition) of the record at `offset`. */
  readonly seq: number;
  /** Offset after the last record processed when the checkpoint was taken. */
  readonly through: number;
}

export const INITIAL_CHECKPOINT: PartitionCheckpoint = Object.freeze({ offset: 0, progress: -Infinity, seq: 0, through: 0 });

interface OpenWindow {
  readonly index: number;
  readonly counts: Uint32Array;
  records: number;
  readonly firstOffset: number;
  readonly firstSeq: number;
  firstEventAt: number;
  lastEventAt: number;
}

export interface ClosedWindow {
  readonly partition: number;
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly counts: Uint32Array;
  readonly records: number;
  readonly firstEventAt: number;
  readonly lastEventAt: number;
}

const NONE: readonly ClosedWindow[] = Object.freeze([]);

export class PartitionWindows {
  private readonly open = new Map<number, OpenWindow>();
  private _progress: number;
  private seq: number;
  private readonly replayUntil: number;
  /** Late records since `takeLate()` was last called. */
  private late = 0;
  private processedThrough: number;
  private _lastWindows = { first: 0, last: -1 };

  constructor(
    readonly partition: number,
    private readonly spec: WindowSpec,
    private readonly layout: Layout,
    from: PartitionCheckpoint = INITIAL_CHECKPOINT,
  ) {
    this._progress = from.progress;
    this.seq = from.seq;
    this.replayUntil = from.through;
    this.processedThrough = from.offset;
  }

  get progress(): number {
    return this._progress;
  }
  get openWindows(): number {
    return this.open.size;
  }
  /** Lowest open window index, or undefined. */
  get openFrom(): number | undefined {
    let min: number | undefined;
    for (const k of this.open.keys()) if (min === undefined || k < min) min = k;
    return min;
  }

  /** The windows the last added record went into, [first, last] (empty when first > last). */
  get lastWindows(): { readonly first: number; readonly last: number } {
    return this._lastWindows;
  }

  takeLate(): number {
    const n = this.late;
    this.late = 0;
    return n;
  }

  /** Adds the record at `offset`; returns the windows this closed, in index order. */
  add(rec: DriftRecord, offset: number): readonly ClosedWindow[] {
    const s = this.spec;
    const x = s.by === 'time' ? rec.eventAt : this.seq;
    const { last } = windowsOf(s, x);
    // Count windows that would start before the partition's first record are never complete: skipped.
    const first = s.by === 'count' ? Math.max(0, windowsOf(s, x).first) : windowsOf(s, x).first;
    let missed = false;
    for (let k = first; k <= last; k++) {
      if (isClosed(s, k, this._progress)) {
        missed = true;
        continue;
      }
      let w = this.open.get(k);
      if (!w) {
        w = { index: k, counts: new Uint32Array(this.layout.size), records: 0, firstOffset: offset, firstSeq: this.seq, firstEventAt: rec.eventAt, lastEventAt: rec.eventAt };
        this.open.set(k, w);
      }
      accumulate(w.counts, this.layout, rec);
      w.records++;
      if (rec.eventAt < w.firstEventAt) w.firstEventAt = rec.eventAt;
      if (rec.eventAt > w.lastEventAt) w.lastEventAt = rec.eventAt;
    }
    let lo = last + 1;
    for (let k = first; k <= last; k++) if (this.open.has(k)) { lo = k; break; }
    this._lastWindows = { first: lo, last: lo <= last ? last : lo - 1 };
    if (missed && offset >= this.replayUntil) this.late++;
    this.seq++;
    this.processedThrough = offset + 1;
    const before = this._progress;
    this._progress = s.by === 'time' ? Math.max(before, x) : Math.max(before, this.seq);
    return this._progress === before ? NONE : this.closeUpTo(this._progress);
  }

  private closeUpTo(progress: number): readonly ClosedWindow[] {
    let out: ClosedWindow[] | undefined;
    for (;;) {
      const k = this.openFrom;
      if (k === undefined || !isClosed(this.spec, k, progress)) break;
      const w = this.open.get(k)!;
      this.open.delete(k);
      (out ??= []).push({
        partition: this.partition,
        index: k,
        start: windowStart(this.spec, k),
        end: windowEnd(this.spec, k),
        counts: w.counts,
        records: w.records,
        firstEventAt: w.firstEventAt,
        lastEventAt: w.lastEventAt,
      });
    }
    return out ?? NONE;
  }

  /** Where to resume if the process died now: the first record of the oldest open window. */
  checkpoint(): PartitionCheckpoint {
    let oldest: OpenWindow | undefined;
    for (const w of this.open.values()) if (!oldest || w.firstOffset < oldest.firstOffset) oldest = w;
    return {
      offset: oldest ? oldest.firstOffset : this.processedThrough,
      progress: this._progress,
      seq: oldest ? oldest.firstSeq : this.seq,
      through: Math.max(this.processedThrough, this.replayUntil),
    };
  }

  /** Counts of the open windows (for memory accounting and tests). */
  openIndexes(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }
}
