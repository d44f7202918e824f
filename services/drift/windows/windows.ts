/**
 * Window definitions and assignment. A window is [k·hop, k·hop + size) on a coordinate: event time
 * (submitted_at, epoch ms) for time windows, or the record's sequence number within its source partition
 * for count windows. hop = size gives tumbling windows, hop < size hopping (sliding) ones. Pure.
 *
 * A window closes for a source partition once the partition's progress (largest event time seen, or
 * records seen) reaches end + allowed lateness; a record whose windows have all closed is late.
 */
export type WindowBy = 'time' | 'count';

export interface WindowSpec {
  readonly by: WindowBy;
  /** ms or records. */
  readonly size: number;
  readonly hop: number;
  /** ms; 0 for count windows. */
  readonly lateness: number;
}

export function windowSpecProblems(s: WindowSpec): string[] {
  const p: string[] = [];
  if (!Number.isSafeInteger(s.size) || s.size <= 0) p.push('size must be a positive whole number');
  if (!Number.isSafeInteger(s.hop) || s.hop <= 0) p.push('hop must be a positive whole number');
  if (s.hop > s.size) p.push(`hop (${s.hop}) must not exceed size (${s.size}): windows would leave gaps`);
  if (s.size / s.hop > 100) p.push(`size/hop is ${s.size / s.hop}: a record would belong to more than 100 windows`);
  if (!Number.isSafeInteger(s.lateness) || s.lateness < 0) p.push('lateness must be a non-negative whole number');
  if (s.by === 'count' && s.lateness !== 0) p.push('count windows have no lateness');
  return p;
}

/** The canonical text of a window definition; partials of another definition are refused. */
export function windowingId(s: WindowSpec): string {
  return `${s.by}:size=${s.size}:hop=${s.hop}:lateness=${s.lateness}`;
}

export function windowStart(s: WindowSpec, k: number): number {
  return k * s.hop;
}
export function windowEnd(s: WindowSpec, k: number): number {
  return k * s.hop + s.size;
}

/** Indexes [first, last] of the windows containing coordinate x. */
export function windowsOf(s: WindowSpec, x: number): { first: number; last: number } {
  const last = Math.floor(x / s.hop);
  const first = Math.floor((x - s.size) / s.hop) + 1;
  return { first, last };
}

/** The last window closed at `progress` (isClosed below); -Infinity before any progress. */
export function lastClosedWindow(s: WindowSpec, progress: number): number {
  return Number.isFinite(progress) ? Math.floor((progress - s.lateness - s.size) / s.hop) : -Infinity;
}

/** True when window k is closed at `progress` (progress >= end + lateness). */
export function isClosed(s: WindowSpec, k: number, progress: number): boolean {
  return progress >= windowEnd(s, k) + s.lateness;
}
