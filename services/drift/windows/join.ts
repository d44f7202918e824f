/**
 * Joins loan outcomes to scored records by application_id, within one source partition (scoring-log and
 * loan-outcomes are both keyed by application_id and co-partitioned). Outcomes usually arrive long after the
 * score; one that arrives first waits. Both sides are bounded: the oldest entries are evicted first, in
 * batches (services/shared/bounded.ts: a side may hold a tenth more than maxEntries before). Pure.
 */
import { trimOldest } from '../../shared/bounded.ts';
export interface Scored {
  readonly probability: number;
  /** Windows the scored record belongs to, [first, last]. */
  readonly first: number;
  readonly last: number;
}

export interface Joined extends Scored {
  readonly defaulted: boolean;
}

export class OutcomeJoin {
  private readonly scored = new Map<string, Scored>();
  private readonly waiting = new Map<string, boolean>();
  evicted = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.scored.size + this.waiting.size;
  }

  private bound<V>(m: Map<string, V>): void {
    this.evicted += trimOldest(m, this.maxEntries);
  }

  /** Records a scored application; returns the join if its outcome was waiting. */
  onScored(id: string, s: Scored): Joined | undefined {
    const y = this.waiting.get(id);
    if (y !== undefined) {
      this.waiting.delete(id);
      return { ...s, defaulted: y };
    }
    this.scored.set(id, s);
    this.bound(this.scored);
    return undefined;
  }

  /** Joins an outcome to its scored record, or keeps it waiting. A repeated outcome joins again (the caller de-duplicates upstream). */
  onOutcome(id: string, defaulted: boolean): Joined | undefined {
    const s = this.scored.get(id);
    if (s) {
      this.scored.delete(id);
      return { ...s, defaulted };
    }
    this.waiting.set(id, defaulted);
    this.bound(this.waiting);
    return undefined;
  }
}
