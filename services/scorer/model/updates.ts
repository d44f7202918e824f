/**
 * Hot swap: follows the compacted model-updates topic. At start it reads the topic to its end and serves
 * the latest announced version of its model; afterwards each announcement is fetched, verified (sha256,
 * input signature against the schema, trees.json's sha256 and that its trees reproduce the ONNX model on
 * the golden rows, a warm-up run) and swapped in between batches. A broken artifact is
 * refused, the serving model stays, and the outcome is published on model-events, logged and counted.
 */
import { join } from 'node:path';
import { errorCode, ServiceError } from '../../shared/errors.ts';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import type { IdempotentProducer } from '../../shared/kafka/producers.ts';
import { failureReason } from '../../shared/kafka/supervisor.ts';
import { TopicReader, type TopicRecord } from '../../shared/kafka/topic-reader.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { recordName, REPO_ROOT } from '../../shared/schemas.ts';
import type { ScorerInstrumentation } from '../events.ts';
import { fetchArtifact } from './artifact.ts';
import { ModelHost } from './model-host.ts';
import type { ModelSlot } from './model-slot.ts';

/** Who approved a change of champion and why (schemas/model-update.avsc). */
export interface Approval {
  approved_by: string;
  reason: string;
  approved_at: number;
  mode: 'MANUAL' | 'AUTOMATIC';
  evidence: Record<string, string>;
}

export interface ModelUpdate {
  model_name: string;
  version: string;
  artifact_uri: string;
  sha256: string;
  action: 'PROMOTE' | 'ROLLBACK';
  previous_version: string | null;
  metrics: Record<string, number>;
  reason: string;
  announced_at: number;
  announced_by: string;
  /** Absent in records written before approvals existed. */
  approval?: Approval | null;
}

export interface WatcherDeps {
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  readonly slot: ModelSlot;
  readonly events: ScorerInstrumentation;
  readonly updatesTopic: string;
  readonly eventsTopic: string;
  readonly modelEventSchemaId: number;
  readonly instance: string;
  readonly intraOpThreads: number;
  /** Load announced versions with their trees and explain (default true). */
  readonly explain?: boolean;
  readonly catchUpTimeoutMs?: number;
  /** KAFKA_RECOVERY_DEADLINE: a session not back within this long is fatal (default 5 min). */
  readonly recoveryDeadlineMs?: number;
  /** The watcher's clients could not be recovered: the service cannot follow promotions and must exit. */
  readonly onFatal?: (e: Error) => void;
}

export const MODEL_UPDATE_RECORD = recordName('model-update');

/**
 * Every announcement is read through the shared supervised TopicReader (services/shared/kafka/
 * topic-reader.ts): a consumer that fails for good is replaced with backoff and reading resumes where it
 * was (counted as scorer_kafka_client_restarts_total{client="model-updates-consumer"}; /health fails while
 * it is down; past KAFKA_RECOVERY_DEADLINE the scorer exits 1). The model-events producer is replaced
 * after a failed send and the outcomes it could not send go out first with the next one.
 */
export class ModelUpdateWatcher {
  private readonly reader: TopicReader;
  private producer?: IdempotentProducer;
  private stopped = false;
  /** Applies run one at a time, in topic order. */
  private chain: Promise<void> = Promise.resolve();
  /** model-events records whose send failed; sent first with the next outcome. */
  private unsent: object[] = [];
  private latestInitial?: ModelUpdate;

  constructor(private readonly deps: WatcherDeps) {
    const { events } = deps;
    const deadlineMs = deps.recoveryDeadlineMs ?? 5 * 60_000;
    this.reader = new TopicReader({
      kafka: deps.kafka,
      topic: deps.updatesTopic,
      groupPrefix: `model-updates-${deps.instance}`,
      name: 'scorer model-updates',
      deadlineMs,
      onMessage: (r) => this.onRecord(r),
      hooks: {
        onRestart: (e) => events.emit('kafka.client.restart', { ...e, client: `model-updates-${e.client}` }),
        onRecovered: (e) => events.emit('kafka.client.recovered', e),
        onOpenFailed: (e) => events.emit('kafka.client.open-failed', e),
        onGiveUp: (e) => {
          events.emit('kafka.client.gave-up', e);
          deps.onFatal?.(new ServiceError('KAFKA_CLIENT_DEAD', `kafka model-updates ${e.client} not recovered within ${deadlineMs} ms (${e.reason})`, false, e));
        },
      },
    });
  }

  /** Liveness: why the watcher's consumer is not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.reader.deadReason;
  }

  /** Connects, reads model-updates to its end and applies the latest announcement for our model. */
  async start(): Promise<void> {
    this.producer = this.newProducer();
    await this.producer.connect();
    await this.reader.start(this.deps.catchUpTimeoutMs ?? 60_000);
    if (this.latestInitial) this.enqueue(this.latestInitial);
    this.latestInitial = undefined;
    await this.chain;
  }

  private async onRecord(r: TopicRecord): Promise<void> {
    const decoded = await this.deps.registry.decode<ModelUpdate>(r.value, MODEL_UPDATE_RECORD);
    if (!decoded.ok) {
      this.deps.events.emit('model.swap', { result: 'refused', version: '?', reason: `undecodable model update at offset ${r.offset}: ${decoded.error.reason}`, durationMs: 0 });
    } else if (decoded.value.value.model_name === this.deps.slot.current.name) {
      // At start only the latest announcement counts (it is the champion); afterwards each one, in order.
      if (r.initial) this.latestInitial = decoded.value.value;
      else this.enqueue(decoded.value.value);
    }
  }

  private newProducer(): IdempotentProducer {
    return this.deps.kafka.producer();
  }

  private enqueue(u: ModelUpdate): void {
    this.chain = this.chain.then(() => this.apply(u));
  }

  /** Resolves once every announcement seen so far has been applied or refused. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async apply(u: ModelUpdate): Promise<void> {
    if (this.stopped) return;
    const { slot, events } = this.deps;
    const current = slot.current;
    if (u.version === current.version && u.sha256 === current.metadata.model_sha256) return;
    const started = performance.now();
    let next: ModelHost | undefined;
    try {
      const dir = await fetchArtifact(u.artifact_uri, REPO_ROOT, join(REPO_ROOT, '.cache', 'models'), `${u.model_name}-${u.version}`);
      next = await ModelHost.load(dir, { expectedSha256: u.sha256, intraOpThreads: this.deps.intraOpThreads, explain: this.deps.explain ?? true });
      if (next.version !== u.version) throw new Error(`artifact metadata says version ${next.version}, the announcement says ${u.version}`);
      if (next.name !== u.model_name) throw new Error(`artifact is model ${next.name}, the announcement is for ${u.model_name}`);
      const previous = await slot.swap(next);
      events.emit('model.loaded', next.loadedEvent);
      events.emit('model.swap', { result: 'activated', version: u.version, previousVersion: previous.version, reason: `${u.action} ${u.reason}`.trim(), durationMs: performance.now() - started });
      const approved = u.approval ? ` (approved by ${u.approval.approved_by}: ${u.approval.reason})` : '';
      await this.publish(u, 'ACTIVATED', `${u.action}${u.reason ? `: ${u.reason}` : ''}${approved}`);
    } catch (e) {
      if (next && slot.current !== next) await next.close();
      const reason = `${errorCode(e)}: ${(e as Error).message}`;
      events.emit('model.swap', { result: 'refused', version: u.version, reason, durationMs: performance.now() - started });
      await this.publish(u, 'REFUSED', reason);
    }
  }

  private async publish(u: ModelUpdate, outcome: 'ACTIVATED' | 'REFUSED', reason: string): Promise<void> {
    const value = {
      instance: this.deps.instance,
      model_name: u.model_name,
      version: u.version,
      outcome,
      reason,
      serving_version: this.deps.slot.current.version,
      at: Date.now(),
      // The approval travels with the activation, so model-events shows who approved what a scorer serves.
      approval: outcome === 'ACTIVATED' ? (u.approval ?? null) : null,
    };
    this.unsent.push(value);
    const producer = this.producer;
    if (!producer || this.stopped) return;
    try {
      while (this.unsent.length) {
        await producer.send([{ topic: this.deps.eventsTopic, messages: [{ key: this.deps.instance, value: this.deps.registry.encodeSync(this.deps.modelEventSchemaId, this.unsent[0]!) }] }]);
        this.unsent.shift();
      }
    } catch (e) {
      // librdkafka retried until delivery.timeout.ms and gave up: a fresh producer sends what is left with the next outcome.
      this.deps.events.emit('kafka.client.restart', { client: 'model-events-producer', reason: failureReason(e), error: (e as Error).message, attempt: 0 });
      this.producer = this.newProducer();
      await producer.disconnect().catch(() => undefined);
      await this.producer.connect().catch(() => undefined);
    }
  }

  /** Idempotent: stops reading, lets the apply in progress finish, then closes the producer. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reader.stop();
    await this.chain.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}
