/**
 * Late-arriving loan outcomes. For each valid application the simulator draws whether the loan defaults
 * from the population's true default probability (seeded by the application's index, so reruns agree) and
 * publishes it on loan-outcomes once `delayMs` has passed. The schedule is a pure queue; `OutcomePublisher`
 * is the Kafka edge.
 */
import type { IdempotentProducer } from '../shared/kafka/producers.ts';
import type { AvroRegistry } from '../shared/registry.ts';
import { defaultProbability, type PopulationSpec } from './population.ts';
import { createRng } from './rng.ts';

export interface Outcome {
  readonly application_id: string;
  readonly defaulted: boolean;
  readonly observed_at: number;
}

/** Whether application `index` (features `features`) defaults: a Bernoulli draw seeded by (seed, index). */
export function drawDefault(features: Readonly<Record<string, unknown>>, spec: PopulationSpec, seed: number, index: number): boolean {
  const rng = createRng((Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.imul(index, 0xc2b2ae35) ^ 0x5bd1e995) >>> 0);
  return rng.next() < defaultProbability(features, spec);
}

/** FIFO of outcomes due at a time; outcomes are scheduled in non-decreasing due order. */
export class OutcomeSchedule {
  private readonly queue: { due: number; outcome: Omit<Outcome, 'observed_at'> }[] = [];
  private head = 0;

  schedule(applicationId: string, defaulted: boolean, due: number): void {
    this.queue.push({ due, outcome: { application_id: applicationId, defaulted } });
  }

  /** Removes and returns every outcome due at `now`, stamped with `now`. */
  takeDue(now: number): Outcome[] {
    const out: Outcome[] = [];
    while (this.head < this.queue.length && this.queue[this.head]!.due <= now) out.push({ ...this.queue[this.head++]!.outcome, observed_at: now });
    if (this.head > 10_000 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }
}

/** Publishes due outcomes every `intervalMs` until stopped. */
export class OutcomePublisher {
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  published = 0;

  constructor(
    private readonly producer: Pick<IdempotentProducer, 'send'>,
    private readonly registry: AvroRegistry,
    private readonly schemaId: number,
    private readonly topic: string,
    readonly schedule: OutcomeSchedule,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => (this.inFlight = this.inFlight.then(() => this.flush(Date.now()))), this.intervalMs);
  }

  async flush(now: number): Promise<void> {
    const due = this.schedule.takeDue(now);
    if (due.length === 0) return;
    await this.producer.send([{ topic: this.topic, messages: due.map((o) => ({ key: o.application_id, value: this.registry.encodeSync(this.schemaId, o) })) }]);
    this.published += due.length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
  }
}
