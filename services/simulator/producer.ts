/**
 * Produces loan applications to Kafka, Avro-encoded through the registry, at an optional rate, with an
 * optional share of invalid messages of every kind (see invalid.ts). Used by the simulator CLI, `make
 * start` and the tests.
 */
import type { IdempotentProducer } from '../shared/kafka/producers.ts';
import type { AvroRegistry } from '../shared/registry.ts';
import { INVALID_KINDS, invalidMessage, isInvalidIndex, type Application, type InvalidKind } from './invalid.ts';

/** Supplies application i of the stream. */
export type ApplicationSource = (i: number) => Application;

export interface ProduceOptions {
  readonly topic: string;
  /** How many to produce; Infinity runs until `signal` aborts. */
  readonly count: number;
  /** Messages per second; undefined or 0 for as fast as the broker takes them. */
  readonly ratePerSec?: number;
  /** Share of messages (0-1) replaced by invalid ones, spread evenly, cycling through the kinds. */
  readonly invalidShare?: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ProduceStats) => void;
  /** Called for each valid application sent, after its batch was acknowledged. */
  readonly onSent?: (index: number, app: Application) => void;
  /**
   * A record about each valid application for another topic (the applicant's demographics), sent after the
   * applications of its batch were acknowledged, in one send per batch.
   */
  readonly companion?: { readonly topic: string; readonly message: (index: number, app: Application) => { key: string; value: Buffer } };
}

export interface ProduceStats {
  sent: number;
  invalid: number;
  byKind: Partial<Record<InvalidKind, number>>;
  /** application_ids of the valid applications sent. */
  validIds?: string[];
}

export async function produceApplications(
  producer: Pick<IdempotentProducer, 'send'>,
  registry: AvroRegistry,
  schemaId: number,
  source: ApplicationSource,
  opts: ProduceOptions & { collectIds?: boolean },
): Promise<ProduceStats> {
  const share = opts.invalidShare ?? 0;
  const batchSize = opts.batchSize ?? (opts.ratePerSec ? Math.max(1, Math.min(500, Math.ceil(opts.ratePerSec / 20))) : 500);
  const stats: ProduceStats = { sent: 0, invalid: 0, byKind: {}, ...(opts.collectIds ? { validIds: [] } : {}) };
  const encode = (v: Application) => registry.encodeSync(schemaId, v);
  const started = Date.now();
  let i = 0;
  while (i < opts.count && !opts.signal?.aborted) {
    const n = Math.min(batchSize, opts.count - i);
    const messages: { key: string; value: Buffer }[] = [];
    const valid: [number, Application][] = [];
    const companions: { key: string; value: Buffer }[] = [];
    for (let k = 0; k < n; k++, i++) {
      const app = source(i);
      const key = String(app.application_id);
      if (share > 0 && isInvalidIndex(i, share)) {
        const kind = INVALID_KINDS[stats.invalid % INVALID_KINDS.length]!;
        messages.push({ key, value: invalidMessage(kind, app, encode) });
        stats.invalid++;
        stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      } else {
        messages.push({ key, value: encode(app) });
        stats.validIds?.push(key);
        if (opts.onSent) valid.push([i, app]);
        if (opts.companion) companions.push(opts.companion.message(i, app));
      }
    }
    // The applications and their companions (the applicants' demographics) in one acknowledged send.
    await producer.send(opts.companion && companions.length > 0 ? [{ topic: opts.topic, messages }, { topic: opts.companion.topic, messages: companions }] : [{ topic: opts.topic, messages }]);
    stats.sent += n;
    for (const [index, app] of valid) opts.onSent?.(index, app);
    opts.onProgress?.(stats);
    if (opts.ratePerSec) {
      const due = started + (stats.sent / opts.ratePerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  return stats;
}
