/**
 * Joins decisions (scoring-log records) with applicant demographics by application_id, with bounded
 * lateness on event time, for the fairness windows. Pure and deterministic given the order of its inputs.
 *
 * Either side may come first (the simulator publishes demographics right after the application, so they
 * usually precede the decision). A decision whose demographics have not arrived when the watermark passes
 * its event time + `latenessMs` is released unjoined (counted in the window's unjoined cell); demographics
 * without a decision by then are dropped and counted as orphans. Joined applications are remembered (bounded)
 * so that their outcome, arriving much later, is attributed to the same groups, score and decision.
 */
import type { Decision } from './layout.ts';

export type Groups = Readonly<Record<string, string>>;

export interface DecidedApplication {
  readonly decision: Decision;
  readonly probability: number;
  /** Event time (submitted_at), epoch ms. */
  readonly at: number;
}

export interface JoinedDecision extends DecidedApplication {
  readonly id: string;
  /** Undefined when released without demographics. */
  readonly groups: Groups | undefined;
}

export class DemographicsJoin {
  private readonly decisions = new Map<string, DecidedApplication>();
  private readonly demographics = new Map<string, { groups: Groups; at: number }>();
  private readonly joined = new Map<string, JoinedDecision>();
  orphans = 0;
  evicted = 0;

  constructor(
    private readonly latenessMs: number,
    private readonly maxEntries: number,
  ) {
    if (!(latenessMs >= 0) || !Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new Error(`DemographicsJoin needs latenessMs >= 0 and maxEntries >= 1, got ${latenessMs}, ${maxEntries}`);
  }

  get waiting(): number {
    return this.decisions.size + this.demographics.size;
  }

  private remember(j: JoinedDecision): JoinedDecision {
    this.joined.set(j.id, j);
    while (this.joined.size > this.maxEntries) {
      this.joined.delete(this.joined.keys().next().value!);
      this.evicted++;
    }
    return j;
  }

  /** A decision: joined at once when its demographics wait, else it waits (undefined). */
  onDecision(id: string, d: DecidedApplication): JoinedDecision | undefined {
    const demo = this.demographics.get(id);
    if (demo) {
      this.demographics.delete(id);
      return this.remember({ id, ...d, groups: demo.groups });
    }
    this.decisions.set(id, d);
    return undefined;
  }

  /** Demographics: the waiting decision joined (returned), or they wait; a repeat of a joined id is ignored. */
  onDemographics(id: string, groups: Groups, at: number): JoinedDecision | undefined {
    const d = this.decisions.get(id);
    if (d) {
      this.decisions.delete(id);
      return this.remember({ id, ...d, groups });
    }
    if (!this.joined.has(id)) this.demographics.set(id, { groups, at });
    return undefined;
  }

  /**
   * Moves the watermark (the largest event time seen, as the drift windows' progress): returns the decisions
   * released unjoined (event time + lateness <= watermark), oldest first, and drops orphan demographics.
   */
  advance(watermark: number): JoinedDecision[] {
    const released: JoinedDecision[] = [];
    for (const [id, d] of this.decisions) {
      if (d.at + this.latenessMs > watermark) continue;
      this.decisions.delete(id);
      released.push(this.remember({ id, ...d, groups: undefined }));
    }
    for (const [id, demo] of this.demographics) {
      if (demo.at + this.latenessMs > watermark) continue;
      this.demographics.delete(id);
      this.orphans++;
    }
    return released.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  }

  /** The joined (or released) decision an outcome belongs to, if still remembered. */
  forOutcome(id: string): JoinedDecision | undefined {
    return this.joined.get(id);
  }
}
