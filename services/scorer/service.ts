/**
 * The scorer service: wires config, model, registry, Kafka runner and HTTP together and owns their
 * lifecycle. States: created -> starting -> running -> stopping -> stopped (failed if start fails).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createKafka } from '../shared/kafka/client.ts';
import type { Logger } from '../shared/log.ts';
import { AvroRegistry } from '../shared/registry.ts';
import { createMissingTopics, registerWithRetry } from '../shared/startup.ts';
import type { ScorerConfig } from './config.ts';
import { createScorerInstrumentation, type ScorerInstrumentation } from './events.ts';
import { buildHttp } from './http.ts';
import { attachScorerMetrics } from './metrics.ts';
import { ModelHost } from './model/model-host.ts';
import { ModelSlot } from './model/model-slot.ts';
import { ModelUpdateWatcher } from './model/updates.ts';
import { ScoringRunner } from './runner.ts';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export const SCORER_TOPIC_ROLES = ['applications', 'decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents'] as const;

export class ScorerService {
  private _state: ServiceState = 'created';
  readonly events: ScorerInstrumentation = createScorerInstrumentation();
  readonly metrics: Registry;
  private slot?: ModelSlot;
  private shadow?: ModelHost;
  private watcher?: ModelUpdateWatcher;
  private runner?: ScoringRunner;
  private http?: FastifyInstance;
  private stopping?: Promise<void>;
  private _httpAddress?: string;

  constructor(
    readonly config: ScorerConfig,
    private readonly log: Logger,
  ) {
    this.metrics = attachScorerMetrics(this.events);
    this.attachLogs();
  }

  get state(): ServiceState {
    return this._state;
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
      const trace = { topic: input, partition: p.partition, firstOffset: p.firstOffset, lastOffset: p.lastOffset };
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
    this.events.on('consumer.crashed', ({ payload }) => log.error(payload, 'consumer crashed'));
    this.events.on('error', ({ payload }) => log.warn(payload, 'batch failed; it will be retried'));
    this.events.on('model.loaded', ({ payload }) => log.info(payload, 'model loaded'));
    this.events.on('model.swap', ({ payload }) =>
      payload.result === 'activated' ? log.info(payload, 'model swapped in') : log.error(payload, 'model announcement refused; the serving model stays'),
    );
  }

  notReadyReasons(): string[] {
    const r: string[] = [];
    if (this._state !== 'running') r.push(`service is ${this._state}`);
    if (!this.slot) r.push('no model loaded');
    if (!this.runner?.ready) r.push('consumer has not joined the group');
    return r;
  }

  async start(): Promise<void> {
    if (this._state !== 'created') throw new Error(`cannot start from ${this._state}`);
    this._state = 'starting';
    const c = this.config;
    try {
      const initial = await ModelHost.load(c.modelDir, { intraOpThreads: c.intraOpThreads, explain: c.explain });
      this.slot = new ModelSlot(initial);
      this.events.emit('model.loaded', initial.loadedEvent);
      if (c.shadowModelDir) {
        this.shadow = await ModelHost.load(c.shadowModelDir, { intraOpThreads: c.intraOpThreads, explain: false });
        this.log.info({ version: this.shadow.version }, 'shadow model loaded: it scores every batch into the scoring log only');
      }

      // HTTP first, so /health answers and /ready explains while Kafka connects.
      this.http = buildHttp({
        model: () => this.slot?.current,
        policy: c.policy,
        metrics: this.metrics,
        events: this.events,
        notReadyReasons: () => this.notReadyReasons(),
        state: () => this._state,
      });
      this._httpAddress = await this.http.listen({ host: c.http.host, port: c.http.port });

      const kafka = createKafka(c.connection, `scorer-${c.instanceId}`, (level, msg, extra) => this.log[level](extra, msg));
      const registry = new AvroRegistry(c.connection.registry);
      const topics = c.connection.topics;
      if (c.createTopics) await createMissingTopics(kafka, topics, SCORER_TOPIC_ROLES, this.log);
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
      });
      await this.runner.start();
      this._state = 'running';
      this.log.info({ delivery: c.delivery, groupId: c.groupId, input: topics.applications, http: this._httpAddress, model: this.slot.current.version }, 'scorer running');
    } catch (e) {
      this._state = 'failed';
      await this.shutdown();
      throw e;
    }
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
    this.stopping ??= (async () => {
      if (this._state === 'stopped') return;
      this._state = 'stopping';
      await this.shutdown();
      this._state = 'stopped';
      this.log.info('scorer stopped');
    })();
    return this.stopping;
  }
}
