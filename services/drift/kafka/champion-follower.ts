/**
 * The drift monitor's view of model-updates: every announcement of its model is fetched and verified the
 * way the scorer does it (services/scorer/model: artifact.ts fetches the bundle, metadata.ts checks the
 * sha256 of model.onnx against the announcement and the metadata, and the feature order), its reference
 * compiled, and added to the reference schedule (reference-schedule.ts), which switches at the next window
 * boundary. A broken bundle is refused: the schedule stays, the refusal is an event (logged and counted).
 * Every process reads the whole topic with a throwaway group (like the scorer, through the shared
 * supervised TopicReader), so instances and the aggregator derive the same schedule; `start` returns once
 * the topic has been read to its end.
 */
import { join } from 'node:path';
import type { KafkaClient } from '../../shared/kafka/client.ts';
import { TopicReader, type TopicRecord } from '../../shared/kafka/topic-reader.ts';
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
  readonly kafka: KafkaClient;
  readonly registry: AvroRegistry;
  readonly schedule: ReferenceSchedule;
  readonly events: DriftInstrumentation;
  readonly topic: string;
  readonly instance: string;
  readonly referenceRecords: number | undefined;
  /** Called (in topic order) after an epoch was added. */
  readonly onSwitch?: (epoch: ReferenceEpoch, previous: ReferenceEpoch) => void;
  readonly catchUpTimeoutMs?: number;
  /** KAFKA_RECOVERY_DEADLINE (default 5 min). */
  readonly recoveryDeadlineMs?: number;
}

/** Who approved a promotion and why, when the announcement carries it (model-update.avsc approval fields). */
function approvalOf(u: ModelUpdate): { by: string; reason: string } {
  const x = u as ModelUpdate & { approved_by?: string | null; approval_reason?: string | null };
  return { by: x.approved_by || u.announced_by || '', reason: x.approval_reason || u.reason || '' };
}

export class ChampionFollower {
  private readonly reader: TopicReader;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly d: FollowerDeps) {
    const { events } = d;
    const component = 'references' as const;
    // Supervised like every long-lived client (services/shared/kafka/topic-reader.ts): a consumer that fails
    // for good is replaced and reading resumes where it was; past the deadline the monitor exits.
    this.reader = new TopicReader({
      kafka: d.kafka,
      topic: d.topic,
      groupPrefix: `drift-model-updates-${d.instance}`,
      name: 'drift model-updates',
      deadlineMs: d.recoveryDeadlineMs ?? 5 * 60_000,
      onMessage: (r) => this.onRecord(r),
      hooks: {
        onRestart: (e) => events.emit('kafka.client.restart', { component, ...e }),
        onRecovered: (e) => events.emit('kafka.client.recovered', { component, ...e }),
        onOpenFailed: (e) => events.emit('error', { component, code: 'KAFKA_UNAVAILABLE', message: `reopening the model-updates consumer failed: ${e.error}`, retriable: true }),
        onGiveUp: (e) => events.emit('kafka.client.gave-up', { component, ...e }),
      },
    });
  }

  /** Liveness: why the follower's consumer is not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.reader.deadReason;
  }

  async start(): Promise<void> {
    await this.reader.start(this.d.catchUpTimeoutMs ?? 60_000);
    await this.chain;
  }

  private async onRecord(r: TopicRecord): Promise<void> {
    const decoded = await this.d.registry.decode<ModelUpdate>(r.value, MODEL_UPDATE_RECORD);
    if (!decoded.ok) {
      this.d.events.emit('reference.refused', { version: '?', reason: `undecodable model update at offset ${r.offset}: ${decoded.error.reason}` });
    } else if (decoded.value.value.model_name === this.d.schedule.initial.reference.modelName) {
      const u = decoded.value.value;
      this.chain = this.chain.then(() => this.apply(u));
      await this.chain;
    }
  }

  /** Resolves once every announcement published before the call has been applied (or refused); false on timeout. */
  async sync(timeoutMs = 10_000): Promise<boolean> {
    if (!(await this.reader.sync(timeoutMs))) return false;
    await this.chain;
    return true;
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

  /** Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reader.stop();
    await this.chain.catch(() => undefined);
  }
}
