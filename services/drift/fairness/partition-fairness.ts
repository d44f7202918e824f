/**
 * The fairness windows of one source partition: joins its decisions (scoring-log records) with the
 * applicants' demographics (applicant-demographics, co-partitioned: same key, same partition count) by
 * application_id, counts each joined decision into its windows' per-group counts (layout.ts), closes windows
 * in order and says where to restart after a crash. The windows are the drift windows (same WindowSpec and
 * indexes); a fairness window closes later than the drift window when a decision of it still waits for its
 * demographics. Pure: time comes in as arguments.
 *
 * Join: either side may come first. A decision waits for its demographics until the demographics'
 * watermark (largest collected_at read on the partition) passes its event time + lateness, or until it has
 * waited `maxWaitMs` of processing time (no demographics are coming, e.g. an upstream that sends none);
 * then it is counted without groups (the window's unjoined cell). Demographics without a decision are
 * dropped (orphans) once the decisions' progress passes their time + lateness.
 *
 * Closing: window k closes once the decisions' progress reaches end(k) + lateness and no decision dated
 * before end(k) still waits: fairness progress = min(progress, oldest waiting decision + lateness), the
 * progress reported to the aggregator (aggregation.ts treats a partition as past window k at the same
 * point). Windows close in index order and never reopen: a decision whose windows are all closed is late.
 *
 * Restart (exactly once, like partition-windows.ts): the checkpoint holds the scoring-log offset of the
 * first decision of the oldest open window or waiting decision, the demographics offset of the oldest
 * demographics still needed (waiting, or joined to a decision of an open window), the last closed window
 * and how far both topics were read. Re-reading from there rebuilds the open windows; nothing closes
 * before the re-read passes where the checkpoint was taken, so a window is emitted once, whole.
 */
import { trimOldest } from '../../shared/bounded.ts';
import { lastClosedWindow, windowsOf, type WindowSpec } from '../windows/windows.ts';
import { addDecision, addOutcome, emptyCounts, type Decision, type FairnessLayout } from './layout.ts';

export type Groups = Readonly<Record<string, string>>;

export interface FairnessCheckpoint {
  /** scoring-log offset to resume from. */
  readonly offset: number;
  /** applicant-demographics offset to resume from (-1: nothing read yet). */
  readonly demographicsOffset: number;
  /** The last closed window (-Infinity: none). */
  readonly closedThrough: number;
  /** The decisions' progress (largest event time seen) when the checkpoint was taken. */
  readonly progress: number;
  /** scoring-log offset after the last decision read when the checkpoint was taken. */
  readonly through: number;
  /** applicant-demographics offset after the last record read then. */
  readonly demographicsThrough: number;
}

export const INITIAL_FAIRNESS_CHECKPOINT: FairnessCheckpoint = Object.freeze({ offset: 0, demographicsOffset: -1, closedThrough: -Infinity, progress: -Infinity, through: 0, demographicsThrough: -1 });

export interface ClosedFairnessWindow {
  readonly partition: number;
  readonly index: number;
  readonly counts: Float64Array;
  /** Decisions counted (joined or not). */
  readonly decisions: number;
}

export interface FairnessOutcomeDelta {
  readonly index: number;
  readonly counts: Float64Array;
}

interface OpenWindow {
  readonly index: number;
  readonly counts: Float64Array;
  decisions: number;
  firstOffset: number;
  /** Smallest demographics offset joined into this window (Infinity: none). */
  demographicsOffset: number;
}

interface WaitingDecision {
  readonly offset: number;
  readonly decision: Decision;
  readonly probability: number;
  readonly at: number;
  readonly readAt: number;
}

interface WaitingDemographics {
  readonly offset: number;
  readonly groups: Groups;
  readonly at: number;
}

/** A counted decision remembered for its outcome: its windows are first..last (contiguous). */
interface Counted {
  readonly groups: Groups | undefined;
  readonly decision: Decision;
  readonly probability: number;
  readonly first: number;
  readonly last: number;
}

export interface PartitionFairnessOptions {
  /** Longest a decision waits for its demographics in processing time, ms. */
  readonly maxWaitMs: number;
  /** Most decisions or demographics waiting, and counted decisions remembered for their outcomes. */
  readonly maxEntries: number;
  /** Remember counted decisions for their outcomes (false when no outcomes are read: nothing to keep). */
  readonly outcomes?: boolean;
}

const DECISIONS: readonly string[] = ['APPROVE', 'REVIEW', 'DECLINE'];

/** Waiting decisions by event time (a binary min-heap; entries of decisions no longer waiting are skipped lazily). */
class ByTime {
  private readonly heap: { at: number; id: string; offset: number }[] = [];

  push(at: number, id: string, offset: number): void {
    const h = this.heap;
    h.push({ at, id, offset });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** The earliest entry still `live`, dropping the others on the way. */
  peek(live: (id: string, offset: number) => boolean): { at: number; id: string } | undefined {
    while (this.heap.length > 0 && !live(this.heap[0]!.id, this.heap[0]!.offset)) this.pop();
    return this.heap[0];
  }

  pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.at < h[m]!.at) m = l;
      if (r < h.length && h[r]!.at < h[m]!.at) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}

export class PartitionFairness {
  private readonly open = new Map<number, OpenWindow>();
  /** In read order (the order of their wait's end); `byTime` orders the same entries by event time. */
  private readonly waitingDecisions = new Map<string, WaitingDecision>();
  private readonly byTime = new ByTime();
  private readonly isWaiting = (id: string, offset: number): boolean => this.waitingDecisions.get(id)?.offset === offset;
  private readonly waitingDemographics = new Map<string, WaitingDemographics>();
  private readonly counted = new Map<string, Counted>();
  /** One object per distinct combination of groups (a handful), shared by every decision remembered. */
  private readonly interned = new Map<string, Groups>();
  private readonly outcomeDeltas = new Map<number, Float64Array>();
  private _progress: number;
  private demographicsWatermark = -Infinity;
  private closedThrough: number;
  private processedThrough: number;
  private demographicsProcessedThrough: number;
  private readonly replayUntil: number;
  private readonly demographicsReplayUntil: number;
  private readonly resumeAt: number;
  private readonly demographicsResumeAt: number;
  /** Since the last take*(): decisions late, released without demographics, demographics dropped. */
  private stats = { late: 0, unjoined: 0, orphans: 0, invalid: 0 };

  constructor(
    readonly partition: number,
    private readonly spec: WindowSpec,
    private readonly layout: FairnessLayout,
    private readonly options: PartitionFairnessOptions,
    from: FairnessCheckpoint = INITIAL_FAIRNESS_CHECKPOINT,
  ) {
    if (spec.by !== 'time') throw new Error('fairness windows need time windows (DRIFT_WINDOW_BY=time)');
    this._progress = from.progress;
    this.closedThrough = from.closedThrough;
    this.resumeAt = from.offset;
    this.processedThrough = from.offset;
    this.replayUntil = from.through;
    this.demographicsResumeAt = from.demographicsOffset;
    this.demographicsProcessedThrough = from.demographicsOffset;
    this.demographicsReplayUntil = from.demographicsThrough;
  }

  get progress(): number {
    return this._progress;
  }

  /** What the aggregator reads as this partition's progress: windows ending (+ lateness) before it are closed. */
  get fairnessProgress(): number {
    const oldest = this.byTime.peek(this.isWaiting);
    return oldest ? Math.min(this._progress, oldest.at + this.spec.lateness) : this._progress;
  }

  /** Lowest window still open or that a waiting decision belongs to; undefined when none. */
  get openFrom(): number | undefined {
    let min: number | undefined;
    for (const k of this.open.keys()) if (min === undefined || k < min) min = k;
    const oldest = this.byTime.peek(this.isWaiting);
    if (oldest) {
      const k = Math.max(windowsOf(this.spec, oldest.at).first, this.closedThrough + 1);
      if (min === undefined || k < min) min = k;
    }
    return min;
  }

  get waiting(): { decisions: number; demographics: number } {
    return { decisions: this.waitingDecisions.size, demographics: this.waitingDemographics.size };
  }

  openIndexes(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  /** Counters since the last call. */
  takeStats(): { late: number; unjoined: number; orphans: number; invalid: number } {
    const s = this.stats;
    this.stats = { late: 0, unjoined: 0, orphans: 0, invalid: 0 };
    return s;
  }

  private get replaying(): boolean {
    return this.processedThrough < this.replayUntil;
  }

  /**
   * A decision read at `offset` of scoring-log at processing time `now`; returns the windows it closed.
   * Decisions before the checkpoint's offset are re-read for the drift windows only and ignored here.
   */
  onDecision(offset: number, id: string, decision: string | undefined, probability: number, at: number, now: number): ClosedFairnessWindow[] {
    if (offset < this.resumeAt) return [];
    this.processedThrough = Math.max(this.processedThrough, offset + 1);
    if (decision === undefined || !DECISIONS.includes(decision) || !Number.isFinite(at) || !Number.isFinite(probability)) {
      if (offset >= this.replayUntil) this.stats.invalid++;
      return this.close();
    }
    if (windowsOf(this.spec, at).last <= this.closedThrough) {
      if (offset >= this.replayUntil) this.stats.late++;
      this.waitingDemographics.delete(id);
      return this.close();
    }
    this._progress = Math.max(this._progress, at);
    const demo = this.waitingDemographics.get(id);
    const d: WaitingDecision = { offset, decision: decision as Decision, probability, at, readAt: now };
    if (demo) {
      this.waitingDemographics.delete(id);
      this.count(id, d, demo.groups, demo.offset);
    } else {
      this.waitingDecisions.set(id, d);
      this.byTime.push(at, id, offset);
      this.evict();
    }
    return this.close();
  }

  /** Demographics read at `offset` of applicant-demographics; returns the windows this closed. */
  onDemographics(offset: number, id: string, groups: Groups, at: number): ClosedFairnessWindow[] {
    if (offset < this.demographicsResumeAt) return [];
    this.demographicsProcessedThrough = Math.max(this.demographicsProcessedThrough, offset + 1);
    if (Number.isFinite(at)) this.demographicsWatermark = Math.max(this.demographicsWatermark, at);
    const d = this.waitingDecisions.get(id);
    if (d) {
      this.waitingDecisions.delete(id);
      this.count(id, d, groups, offset);
    } else if (!this.counted.has(id)) {
      this.waitingDemographics.set(id, { offset, groups, at });
      this.evict();
    }
    return this.close();
  }

  /** An outcome of a counted decision: its per-group delta goes to each window the decision was counted in. */
  onOutcome(id: string, defaulted: boolean): boolean {
    const c = this.counted.get(id);
    if (!c || !c.groups) return false;
    for (let k = c.first; k <= c.last; k++) {
      let delta = this.outcomeDeltas.get(k);
      if (!delta) this.outcomeDeltas.set(k, (delta = emptyCounts(this.layout)));
      addOutcome(delta, this.layout, c.groups, c.decision, c.probability, defaulted);
    }
    this.counted.delete(id);
    return true;
  }

  /** Outcome deltas since the last call, per window. */
  takeOutcomeDeltas(): FairnessOutcomeDelta[] {
    const out = [...this.outcomeDeltas.entries()].sort((a, b) => a[0] - b[0]).map(([index, counts]) => ({ index, counts }));
    this.outcomeDeltas.clear();
    return out;
  }

  /**
   * Processing time moved on (the instance calls it at each flush): decisions waiting longer than maxWaitMs
   * are counted without groups, orphan demographics dropped. Not on every record: a Map walked from its
   * oldest entry also walks the entries deleted before it (V8 compacts them only when it rehashes).
   */
  tick(now: number): ClosedFairnessWindow[] {
    if (this.replaying) return [];
    // Waited long enough: in read order, so from the oldest read until one has not.
    for (const [id, d] of this.waitingDecisions) {
      if (now - d.readAt < this.options.maxWaitMs) break;
      this.waitingDecisions.delete(id);
      this.count(id, d, undefined, undefined);
    }
    // Orphans: in read order (about event-time order), from the oldest until one is still in time.
    if (this.demographicsProcessedThrough >= this.demographicsReplayUntil) {
      for (const [id, demo] of this.waitingDemographics) {
        if (demo.at + this.spec.lateness > this._progress) break;
        this.waitingDemographics.delete(id);
        if (demo.offset >= this.demographicsReplayUntil) this.stats.orphans++;
      }
    }
    return this.close();
  }

  private intern(groups: Groups): Groups {
    const key = Object.values(groups).join('\u0000');
    let g = this.interned.get(key);
    if (!g) this.interned.set(key, (g = Object.freeze({ ...groups })));
    return g;
  }

  private count(id: string, d: WaitingDecision, groups: Groups | undefined, demographicsOffset: number | undefined): void {
    const windows = windowsOf(this.spec, d.at);
    const first = Math.max(windows.first, this.closedThrough + 1);
    const last = windows.last;
    for (let k = first; k <= last; k++) {
      let w = this.open.get(k);
      if (!w) this.open.set(k, (w = { index: k, counts: emptyCounts(this.layout), decisions: 0, firstOffset: d.offset, demographicsOffset: Infinity }));
      addDecision(w.counts, this.layout, groups, d.decision, d.probability);
      w.decisions++;
      w.firstOffset = Math.min(w.firstOffset, d.offset);
      if (demographicsOffset !== undefined) w.demographicsOffset = Math.min(w.demographicsOffset, demographicsOffset);
    }
    if (!groups && d.offset >= this.replayUntil) this.stats.unjoined++;
    if (!this.options.outcomes || !groups || first > last) return;
    this.counted.set(id, { groups: this.intern(groups), decision: d.decision, probability: d.probability, first, last });
    trimOldest(this.counted, this.options.maxEntries);
  }

  private evict(): void {
    const max = this.options.maxEntries;
    trimOldest(this.waitingDecisions, max, (id, d) => this.count(id, d, undefined, undefined));
    trimOldest(this.waitingDemographics, max, (_id, demo) => {
      if (demo.offset >= this.demographicsReplayUntil) this.stats.orphans++;
    });
  }

  /** Releases the decisions the demographics' watermark has passed and closes the windows fairness progress has passed, in order. */
  private close(): ClosedFairnessWindow[] {
    // Nothing is decided while re-reading what the checkpoint had already read: the state is not whole yet.
    if (this.replaying) return [];
    const L = this.spec.lateness;
    // Costs only what it releases (a decision stream without demographics must stay linear).
    // The demographics read are dated past a decision's time + lateness: its own are not coming.
    for (let d = this.byTime.peek(this.isWaiting); d && d.at + L <= this.demographicsWatermark; d = this.byTime.peek(this.isWaiting)) {
      const w = this.waitingDecisions.get(d.id)!;
      this.waitingDecisions.delete(d.id);
      this.byTime.pop();
      this.count(d.id, w, undefined, undefined);
    }
    const through = lastClosedWindow(this.spec, this.fairnessProgress);
    if (through <= this.closedThrough) return [];
    const out: ClosedFairnessWindow[] = [];
    for (const k of this.openIndexes()) {
      if (k > through) break;
      const w = this.open.get(k)!;
      this.open.delete(k);
      out.push({ partition: this.partition, index: k, counts: w.counts, decisions: w.decisions });
    }
    this.closedThrough = through;
    return out;
  }

  /** Where to resume if the process died now. */
  checkpoint(): FairnessCheckpoint {
    let offset = this.processedThrough;
    let demographics = this.demographicsProcessedThrough;
    for (const w of this.open.values()) {
      offset = Math.min(offset, w.firstOffset);
      if (Number.isFinite(w.demographicsOffset)) demographics = Math.min(demographics, w.demographicsOffset);
    }
    for (const d of this.waitingDecisions.values()) offset = Math.min(offset, d.offset);
    for (const d of this.waitingDemographics.values()) demographics = Math.min(demographics, d.offset);
    return {
      offset,
      demographicsOffset: demographics,
      closedThrough: this.closedThrough,
      progress: this._progress,
      through: Math.max(this.processedThrough, this.replayUntil),
      demographicsThrough: Math.max(this.demographicsProcessedThrough, this.demographicsReplayUntil),
    };
  }
}
