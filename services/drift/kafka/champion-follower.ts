/**
 * The drift monitor's view of model-updates: every announcement of its model is fetched and verified the
 * way the scorer does it (services/scorer/model: artifact.ts fetches the bundle, metadata.ts checks the
 * sha256 of model.onnx against the announcement and the metadata, and the feature order), its reference
 * compiled, and added to the reference schedule (reference-schedule.ts), which switches at the next window
 * boundary. A broken bundle is refused: the schedule stays, the refusal is an event (logged and counted).
 * Every process reads the whole topic with a throwaway group (like the scorer), so instances and the
 * aggregator derive the same schedule; `start` returns once the topic has been read to its end.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Consumer, Kafka } from 'kafkajs';
import { errorCode } from '../../shared/errors.ts';
import type { AvroRegistry } from '../../shared/registry.ts';
import { REPO_ROOT } from '../../shared/schemas.ts';
import { fetchArtifact } from '../../scorer/model/artifact.ts';
import { readModelFiles } from '../../scorer/model/metadata.ts';
import { MODEL_UPDATE_RECORD, type ModelUpdate } from '../../scorer/model/updates.ts';
import type { DriftInstrumentation } from '../events.ts';
import { compileReference } from '../statistics/reference.ts';
import type { ReferenceEpoch, ReferenceSchedule } from '../statistics/reference-schedule.ts';

export interface FollowerDeps {
  readonly kafka: Kafka;
  readonly registry: AvroRegistry;
  readonly schedule: ReferenceSchedule;
  readonly events: DriftInstrumentation;
  readonly topic: string;
  readonly instance: string;
  readonly referenceRecords: number | undefined;
  /** Called (in topic order) after an epoch was added. */
  readonly onSwitch?: (epoch: ReferenceEpoch, previous: ReferenceEpoch) => void;
  readonly catchUpTimeoutMs?: number;
}

/** Who approved a promotion and why, when the announcement carries it (model-update.avsc approval fields). */
function approvalOf(u: ModelUpdate): { by: string; reason: string } {
  const x = u as ModelUpdate & { approved_by?: string | null; approval_reason?: string | null };
  return { by: x.approved_by || u.announced_by || '', reason: x.approval_reason || u.reason || '' };
}

export class ChampionFollower {
  private consumer?: Consumer;
  private chain: Promise<void> = Promise.resolve();
  private readonly read = new Map<number, bigint>();
  private stopped = false;

  constructor(private readonly d: FollowerDeps) {}

  async start(): Promise<void> {
    const { kafka, topic } = this.d;
    this.consumer = kafka.consumer({ groupId: `drift-model-updates-${this.d.instance}-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const decoded = await this.d.registry.decode<ModelUpdate>(message.value, MODEL_UPDATE_RECORD);
        if (!decoded.ok) {
          this.d.events.emit('reference.refused', { version: '?', reason: `undecodable model update at offset ${message.offset}: ${decoded.error.reason}` });
        } else if (decoded.value.value.model_name === this.d.schedule.initial.reference.modelName) {
          const u = decoded.value.value;
          this.chain = this.chain.then(() => this.apply(u));
          await this.chain;
        }
        this.read.set(partition, BigInt(message.offset) + 1n);
      },
    });
    await this.sync(this.d.catchUpTimeoutMs ?? 60_000);
  }

  /** Resolves once every announcement published before the call has been applied (or refused); false on timeout. */
  async sync(timeoutMs = 10_000): Promise<boolean> {
    const admin = this.d.kafka.admin();
    await admin.connect();
    let ends;
    try {
      ends = await admin.fetchTopicOffsets(this.d.topic);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = ends.some((e) => BigInt(e.high) > BigInt(e.low) && (this.read.get(e.partition) ?? BigInt(e.low)) < BigInt(e.high));
      if (!behind) {
        await this.chain;
        return true;
      }
      if (this.stopped || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async apply(u: ModelUpdate): Promise<void> {
    if (this.stopped) return;
    const { schedule, events } = this.d;
    const started = performance.now();
    try {
      const dir = await fetchArtifact(u.artifact_uri, REPO_ROOT, join(REPO_ROOT, '.cache', 'models'), `${u.model_name}-${u.version}`);
      const files = await readModelFiles(dir, u.sha256);
      if (files.metadata.version !== u.version) throw new Error(`bundle metadata says version ${files.metadata.version}, the announcement says ${u.version}`);
      const reference = compileReference(files.metadata, this.d.referenceRecords);
      const approval = approvalOf(u);
      const out = schedule.add({ reference, sha256: u.sha256, announcedAt: Number(u.announced_at), action: u.action, reason: approval.reason, by: approval.by, metrics: u.metrics ?? {} });
      if (!out.added) {
        events.emit('reference.unchanged', { version: u.version, reason: out.why });
        return;
      }
      events.emit('reference.scheduled', { epoch: out.epoch, previous: out.previous, durationMs: performance.now() - started });
      this.d.onSwitch?.(out.epoch, out.previous);
    } catch (e) {
      events.emit('reference.refused', { version: u.version, reason: `${errorCode(e)}: ${(e as Error).message}` });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.chain.catch(() => undefined);
  }
}
