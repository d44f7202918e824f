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
import { errorCode, ServiceError } from '../../shared/errors.ts';
import { idempotentRetry } from '../../shared/kafka/client.ts';
import { createGroupConsumer } from '../../shared/kafka/consumer.ts';
import { ClientSupervisor, StaleSessionError, type SessionContext } from '../../shared/kafka/supervisor.ts';
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
  /** KAFKA_RECOVERY_DEADLINE: a session not back within this long is fatal (default 5 min). */
  readonly recoveryDeadlineMs?: number;
  /** The watcher's clients could not be recovered: the service cannot follow promotions and must exit. */
  readonly onFatal?: (e: Error) => void;
}

/** One session of the watcher: its consumer (a throwaway group) and the producer of model-events. */
interface WatcherSession {
  readonly consumer: Consumer;
  readonly producer: Producer;
  /** Resolves once this session has read model-updates up to the end offsets it saw when it opened. */
  readonly caughtUp: Promise<void>;
}

export const MODEL_UPDATE_RECORD = recordName('model-update');

/** The identity of one announcement: a re-read after a session recovery must not apply (or refuse) it again. */
const announcementKey = (u: ModelUpdate) => `${u.version}|${u.sha256}|${u.announced_at}`;

/**
 * The watcher's consumer and producer form one session under the shared client supervisor: when kafkajs
 * gives up on the consumer (a crash it does not restart, e.g. no group coordinator after a broker restart)
 * or a model-event cannot be sent, the session is replaced with backoff, the new one reads the compacted
 * topic again from the beginning and applies the latest announcement unless it was already handled, and
 * any outcome not yet published is sent first. Restarts are counted with client "model-updates"; while the
 * session is down `/health` fails, and past KAFKA_RECOVERY_DEADLINE the scorer exits 1.
 */
export class ModelUpdateWatcher {
  private readonly supervisor: ClientSupervisor<WatcherSession>;
  private stopped = false;
  /** Applies run one at a time, in topic order. */
  private chain: Promise<void> = Promise.resolve();
  private readonly handled = new Set<string>();
  /** model-events records whose send failed; the next session sends them first. */
  private unsent: object[] = [];

  constructor(private readonly deps: WatcherDeps) {
    const { events } = deps;
    const deadlineMs = deps.recoveryDeadlineMs ?? 5 * 60_000;
    this.supervisor = new ClientSupervisor<WatcherSession>({
      name: 'scorer model-updates',
      open: (ctx) => this.open(ctx),
      close: (s) => this.close(s),
      deadlineMs,
      maxBackoffMs: 10_000,
      onRestart: (e) => events.emit('kafka.client.restart', { ...e, client: `model-updates-${e.client}` }),
      onRecovered: (e) => events.emit('kafka.client.recovered', e),
      onOpenFailed: (e) => events.emit('kafka.client.open-failed', e),
      onGiveUp: (e) => {
        events.emit('kafka.client.gave-up', e);
        deps.onFatal?.(new ServiceError('KAFKA_CLIENT_DEAD', `kafka model-updates ${e.client} not recovered within ${deadlineMs} ms (${e.reason})`, false, e));
      },
    });
  }

  /** Liveness: why the watcher's clients are not alive (dead and being replaced, or gave up). */
  get deadReason(): string | undefined {
    return this.stopped ? undefined : this.supervisor.deadReason;
  }

  /** Connects, reads model-updates to its end and applies the latest announcement for our model. */
  async start(): Promise<void> {
    await this.supervisor.start();
    const first = this.supervisor.current;
    if (!first) throw new Error('model-updates: the first session failed while it opened');
    const timeout = this.deps.catchUpTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      first.caughtUp,
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`model-updates catch-up took over ${timeout} ms`)), timeout);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
    await this.chain;
  }

  private async open(ctx: SessionContext): Promise<WatcherSession> {
    const { kafka, updatesTopic } = this.deps;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: idempotentRetry(300) });
    let consumer: Consumer | undefined;
    try {
      await producer.connect();
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
      const c = createGroupConsumer(
        kafka,
        { groupId: `model-updates-${this.deps.instance}-${randomUUID()}`, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000 },
        {
          keepRunning: () => !this.stopped && ctx.current,
          onJoin: () => ctx.healthy(),
          onDead: (error) => ctx.fail('consumer', error),
        },
      );
      consumer = c;
      await c.connect();
      await c.subscribe({ topics: [updatesTopic], fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (!ctx.current) throw new StaleSessionError('model-updates');
          const decoded = await this.deps.registry.decode<ModelUpdate>(message.value, MODEL_UPDATE_RECORD);
          const isCatchUp = pending.has(partition);
          if (isCatchUp && BigInt(message.offset) + 1n >= high.get(partition)!) pending.delete(partition);
          if (!decoded.ok) {
            if (ctx.attempt === 0 || !isCatchUp) this.deps.events.emit('model.swap', { result: 'refused', version: '?', reason: `undecodable model update at offset ${message.offset}: ${decoded.error.reason}`, durationMs: 0 });
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
      const session: WatcherSession = { consumer: c, producer, caughtUp: caughtUpP };
      // Outcomes the previous session could not publish, in order; a failure fails this open (retried).
      while (this.unsent.length) {
        await this.send(session, this.unsent[0]!);
        this.unsent.shift();
      }
      return session;
    } catch (e) {
      await consumer?.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      throw e;
    }
  }

  private async close(s: WatcherSession): Promise<void> {
    await s.consumer.disconnect().catch(() => undefined);
    await s.producer.disconnect().catch(() => undefined);
  }

  private enqueue(u: ModelUpdate): void {
    const key = announcementKey(u);
    if (this.handled.has(key)) return;
    this.handled.add(key);
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
    const session = this.supervisor.current;
    if (!session || this.unsent.length) {
      this.unsent.push(value); // the next session sends it, after those before it
      return;
    }
    try {
      await this.send(session, value);
    } catch (e) {
      // kafkajs retried and gave up: keep the outcome for the next session and replace this one.
      this.unsent.push(value);
      if (!this.stopped) this.supervisor.fail('producer', e);
    }
  }

  private async send(session: WatcherSession, value: object): Promise<void> {
    await session.producer.send({ topic: this.deps.eventsTopic, messages: [{ key: this.deps.instance, value: this.deps.registry.encodeSync(this.deps.modelEventSchemaId, value) }] });
  }

  /** Idempotent: lets the apply in progress finish, then closes the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain.catch(() => undefined);
    await this.supervisor.stop();
  }
}
