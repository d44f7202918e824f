/**
 * The scorer service: wires config, model, registry, Kafka runner and HTTP together and owns their
 * lifecycle. States: created -> starting -> running -> stopping -> stopped (failed if start fails).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createKafka } from '../shared/kafka/client.ts';
import { Lifecycle, type LifecycleState } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/log.ts';
import { AvroRegistry } from '../shared/registry.ts';
import { prepareCluster, registerWithRetry } from '../shared/startup.ts';
import type { ScorerConfig } from './config.ts';
import { createScorerInstrumentation, type ScorerInstrumentation } from './events.ts';
import { buildHttp } from './http.ts';
import { attachScorerMetrics } from './metrics.ts';
import { ModelHost } from './model/model-host.ts';
import { ModelSlot } from './model/model-slot.ts';
import { ModelUpdateWatcher } from './model/updates.ts';
import { ScoringRunner } from './runner.ts';
import { buildValidator } from './validate.ts';

export type ServiceState = LifecycleState;

export const SCORER_TOPIC_ROLES = ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents'] as const;

export class ScorerService {
  private readonly life: Lifecycle;
  readonly events: ScorerInstrumentation = createScorerInstrumentation();
  readonly metrics: Registry;
  private slot?: ModelSlot;
  private shadow?: ModelHost;
  private watcher?: ModelUpdateWatcher;
  private runner?: ScoringRunner;
  private http?: FastifyInstance;
  private _httpAddress?: string;

  constructor(
    readonly config: ScorerConfig,
    private readonly log: Logger,
  ) {
    this.life = new Lifecycle('scorer', config.shutdownTimeoutMs);
    this.metrics = attachScorerMetrics(this.events);
    this.attachLogs();
  }

  get state(): ServiceState {
    return this.life.state;
  }
  get httpAddress(): string | undefined {
    return this._httpAddress;
  }
  get modelVersion(): string | undefined {
    return this.slot?.current.version;
  }
  get shadowVersion(): string | undefined {
    return this.shadow?.version;
  }
  /** Resolves once every model announcement seen so far has been applied or refused. */
  modelUpdatesIdle(): Promise<void> {
    return this.watcher?.idle() ?? Promise.resolve();
  }

  private attachLogs(): void {
    const log = this.log;
    // Info: one line per committed chunk with its source offsets and model version. Debug: one line per
    // decision. Neither carries features or other personal fields (those live only in the scoring log topic).
    const input = this.config.connection.topics.applications;
    this.events.on('batch.end', ({ payload: p }) => {
      const trace = { topic: input, partitions: p.partitions };
      if (p.ok) log.info({ ...trace, size: p.size, scored: p.scored, deadLettered: p.deadLettered, ms: Math.round(p.durationMs * 10) / 10, modelVersion: p.modelVersion }, 'batch committed');
      else log.warn({ ...trace, size: p.size, ms: Math.round(p.durationMs * 10) / 10 }, 'batch not committed');
    });
    this.events.on('decision.records', ({ payload }) => {
      if (!log.isLevelEnabled('debug')) return;
      for (const d of payload.records) {
        log.debug(
          {
            applicationId: d.application_id,
            decision: d.decision,
            riskCategory: d.risk_category,
            probability: d.probability_of_default,
            modelVersion: d.model_version,
            topic: d.source_topic,
            partition: d.source_partition,
            offset: d.source_offset,
          },
          'decision',
        );
      }
    });
    this.events.on('consumer.joined', ({ payload }) => log.info(payload, 'joined consumer group'));
    this.events.on('consumer.rebalancing', () => log.info('consumer group rebalancing'));
    // A crash kafkajs restarts itself is a warning; one it gives up on is replaced by the client supervisor.
    this.events.on('consumer.crashed', ({ payload }) => log.warn(payload, payload.restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed; the client supervisor replaces it'));
    this.events.on('kafka.client.restart', ({ payload }) => log.warn(payload, 'kafka client died; replacing the kafka session'));
    this.events.on('kafka.client.open-failed', ({ payload }) => log.warn(payload, 'kafka session could not be opened; retrying'));
    this.events.on('kafka.client.recovered', ({ payload }) => log.info(payload, 'kafka session recovered'));
    this.events.on('kafka.client.gave-up', ({ payload }) => log.fatal(payload, 'kafka clients not recovered within the deadline; exiting'));
    this.events.on('error', ({ payload }) =>
      payload.fenced ? log.warn(payload, 'commit refused: this instance no longer owns the partition (stale generation); work dropped, rejoining') : log.warn(payload, 'batch failed; it will be retried'),
    );
    this.events.on('model.loaded', ({ payload }) => log.info(payload, 'model loaded'));
    this.events.on('model.swap', ({ payload }) =>
      payload.result === 'activated' ? log.info(payload, 'model swapped in') : log.error(payload, 'model announcement refused; the serving model stays'),
    );
  }

  /** Liveness (for /health): non-empty while a Kafka client is dead (being replaced) or after giving up. */
  deadReasons(): string[] {
    return [this.runner?.deadReason, this.watcher?.deadReason].filter((r): r is string => r !== undefined);
  }

  /** Settles once, with the error, if the service can no longer do its job (runService then exits non-zero). */
  readonly fatal: Promise<Error> = new Promise((resolve) => (this.reportFatal = resolve));
  private reportFatal!: (e: Error) => void;

  notReadyReasons(): string[] {
    const r: string[] = [];
    if (this.life.state !== 'running') r.push(`service is ${this.life.state}`);
    if (!this.slot) r.push('no model loaded');
    if (!this.runner?.ready) r.push('consumer has not joined the group');
    return r;
  }

  /** Why liveness fails (empty while alive): a failed service, or a Kafka client that is dead. */
  notAliveReasons(): string[] {
    return [...(this.life.state === 'failed' ? ['service failed'] : []), ...this.deadReasons()];
  }

  start(): Promise<void> {
    return this.life.start(
      () => this.startAll(),
      () => this.shutdown(),
    );
  }

  private async startAll(): Promise<void> {
    const c = this.config;
    const initial = await ModelHost.load(c.modelDir, { intraOpThreads: c.intraOpThreads, explain: c.explain });
    this.slot = new ModelSlot(initial);
    this.events.emit('model.loaded', initial.loadedEvent);
    if (c.shadowModelDir) {
      this.shadow = await ModelHost.load(c.shadowModelDir, { intraOpThreads: c.intraOpThreads, explain: false });
      this.log.info({ version: this.shadow.version }, 'shadow model loaded: it scores every batch into the scoring log only');
    }

    // HTTP first, so /health answers and /ready explains while Kafka connects.
    this.http = await buildHttp({
      model: () => this.slot?.current,
      policy: c.policy,
      validate: buildValidator(c.inputBounds),
      metrics: this.metrics,
      events: this.events,
      notReadyReasons: () => this.notReadyReasons(),
      notAliveReasons: () => this.notAliveReasons(),
      state: () => this.life.state,
    });
    this._httpAddress = await this.http.listen({ host: c.http.host, port: c.http.port });

    const kafka = createKafka(c.connection, `scorer-${c.instanceId}`, (level, msg, extra) => this.log[level](extra, msg));
    const registry = new AvroRegistry(c.connection.registry);
    const topics = c.connection.topics;
    await prepareCluster(kafka, c.connection, { names: topics, roles: SCORER_TOPIC_ROLES, groups: [c.groupId] }, { create: c.createTopics, createVar: 'SCORER_CREATE_TOPICS' }, this.log);
    const register = (topic: string, schema: string) => registerWithRetry(registry, topic, schema, this.log);
    const [, decision, scoringLog, deadLetter] = await Promise.all([
      register(topics.applications, 'loan-application'),
      register(topics.decisions, 'loan-decision'),
      register(topics.scoringLog, 'scoring-log'),
      register(topics.deadLetters, 'dead-letter'),
    ]);
    await Promise.all([registry.warm(decision), registry.warm(scoringLog), registry.warm(deadLetter)]);
    if (c.followModelUpdates) {
      const modelEventSchemaId = await register(topics.modelEvents, 'model-event');
      await register(topics.modelUpdates, 'model-update');
      await registry.warm(modelEventSchemaId);
      this.watcher = new ModelUpdateWatcher({
        kafka,
        registry,
        slot: this.slot,
        events: this.events,
        updatesTopic: topics.modelUpdates,
        eventsTopic: topics.modelEvents,
        modelEventSchemaId,
        instance: `scorer@${c.instanceId}`,
        intraOpThreads: c.intraOpThreads,
        explain: c.explain,
        recoveryDeadlineMs: c.kafkaRecoveryDeadlineMs,
        onFatal: (e) => this.reportFatal(e),
      });
      // Serve the latest announced champion before consuming the first application.
      await this.watcher.start();
    }
    this.runner = new ScoringRunner({
      kafka,
      registry,
      useModel: (fn) => this.slot!.use(fn),
      shadow: () => this.shadow,
      config: c,
      events: this.events,
      schemaIds: { decision, scoringLog, deadLetter },
      onFatal: (e) => this.reportFatal(e),
    });
    await this.runner.start();
    this.log.info({ delivery: c.delivery, groupId: c.groupId, input: topics.applications, http: this._httpAddress, model: this.slot.current.version }, 'scorer running');
  }

  private async shutdown(): Promise<void> {
    await this.runner?.stop();
    await this.http?.close().catch(() => undefined);
    await this.watcher?.stop();
    await this.slot?.close();
    await this.shadow?.close();
  }

  /** Idempotent: finishes or abandons the in-flight chunk (an abandoned transaction is aborted), then disconnects. */
  stop(): Promise<void> {
    return this.life.stop(async () => {
      await this.shutdown();
      this.log.info('scorer stopped');
    });
  }
}
