/**
 * Hot swap: follows the compacted model-updates topic. At start it reads the topic to its end and serves
 * the latest announced version of its model; afterwards each announcement is fetched, verified (sha256,
 * input signature against the schema, trees.json's sha256 and that its trees reproduce the ONNX model on
 * the golden rows, a warm-up run) and swapped in between batches. A broken artifact is
 * refused, the serving model stays, and the outcome is published on model-events, logged and counted.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { errorCode } from '../../shared/errors.ts';
import { idempotentRetry } from '../../shared/kafka/client.ts';
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
  readonly kafka: Kafka;
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
}

export const MODEL_UPDATE_RECORD = recordName('model-update');

export class ModelUpdateWatcher {
  private consumer?: Consumer;
  private producer?: Producer;
  private stopped = false;
  /** Applies run one at a time, in topic order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: WatcherDeps) {}

  /** Connects, reads model-updates to its end and applies the latest announcement for our model. */
  async start(): Promise<void> {
    const { kafka, updatesTopic } = this.deps;
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: idempotentRetry(300) });
    await this.producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(updatesTopic).finally(() => admin.disconnect());
    const high = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    const pending = new Set(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => e.partition));
    let latest: ModelUpdate | undefined;
    let caughtUp!: () => void;
    const caughtUpP = new Promise<void>((r) => (caughtUp = r));
    if (pending.size === 0) caughtUp();

    // Every instance must see every announcement: a throwaway group, from the beginning, never committing.
    this.consumer = kafka.consumer({ groupId: `model-updates-${this.deps.instance}-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [updatesTopic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const decoded = await this.deps.registry.decode<ModelUpdate>(message.value, MODEL_UPDATE_RECORD);
        const isCatchUp = pending.has(partition);
        if (isCatchUp && BigInt(message.offset) + 1n >= high.get(partition)!) pending.delete(partition);
        if (!decoded.ok) {
          this.deps.events.emit('model.swap', { result: 'refused', version: '?', reason: `undecodable model update at offset ${message.offset}: ${decoded.error.reason}`, durationMs: 0 });
        } else if (decoded.value.value.model_name === this.deps.slot.current.name) {
          if (isCatchUp) latest = decoded.value.value;
          else this.enqueue(decoded.value.value);
        }
        if (isCatchUp && pending.size === 0) {
          if (latest) this.enqueue(latest);
          caughtUp();
        }
      },
    });
    const timeout = this.deps.catchUpTimeoutMs ?? 60_000;
    await Promise.race([caughtUpP, new Promise((_, rej) => setTimeout(() => rej(new Error(`model-updates catch-up took over ${timeout} ms`)), timeout).unref())]);
    await this.chain;
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
    await this.producer!.send({ topic: this.deps.eventsTopic, messages: [{ key: this.deps.instance, value: this.deps.registry.encodeSync(this.deps.modelEventSchemaId, value) }] }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.chain.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}
