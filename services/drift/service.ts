/**
 * The drift service: wires config, reference, registry, the instance (windows per source partition), the
 * aggregator (merge, evaluate, alert), the view (recent results) and HTTP together and owns their
 * lifecycle. States: created -> starting -> running -> stopping -> stopped (failed if start fails).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ServiceError } from '../shared/errors.ts';
import { createKafka, type KafkaClient } from '../shared/kafka/client.ts';
import { Lifecycle, type LifecycleState } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/log.ts';
import { AvroRegistry } from '../shared/registry.ts';
import { withRetry } from '../shared/retry.ts';
import { prepareCluster, registerWithRetry, startupRetry } from '../shared/startup.ts';
import { DriftAggregator } from './kafka/aggregator.ts';
import type { DriftConfig } from './config.ts';
import { createDriftInstrumentation, type DriftInstrumentation } from './events.ts';
import { buildDriftHttp, driftSummary, type DriftHttpDeps } from './http/http.ts';
import { DriftInstance } from './kafka/instance.ts';
import { layoutOf, type Layout } from './windows/layout.ts';
import { attachDriftMetrics } from './http/metrics.ts';
import { ScoringLogDecoder } from './windows/record-decoder.ts';
import { compileReference, type Reference } from './statistics/reference.ts';
import { readMetadata } from '../scorer/model/metadata.ts';
import { ChampionFollower } from './kafka/champion-follower.ts';
import { ReferenceSchedule } from './statistics/reference-schedule.ts';
import type { CommandOutcome } from './aggregation/retrain.ts';
import { DriftView } from './kafka/view.ts';
import { fairLending } from '../shared/fair-lending.ts';
import { fairnessLayout, type FairnessLayout } from './fairness/layout.ts';

export type ServiceState = LifecycleState;

export const DRIFT_TOPIC_ROLES = ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts', 'modelUpdates'] as const;
/** With fairness windows (DRIFT_FAIRNESS): the demographics it joins and the windows it publishes. */
export const FAIRNESS_TOPIC_ROLES = ['demographics', 'fairnessWindows'] as const;

export interface DriftServiceOptions {
  /** Replaces running the retrain command (tests of the loop). */
  readonly runRetrain?: (command: string, env: Record<string, string>, timeoutMs: number) => Promise<CommandOutcome>;
}

export class DriftService {
  private readonly life: Lifecycle;
  readonly events: DriftInstrumentation = createDriftInstrumentation();
  readonly metrics: Registry;
  private reference?: Reference;
  private layout?: Layout;
  private kafka?: KafkaClient;
  private instance?: DriftInstance;
  private aggregator?: DriftAggregator;
  private view?: DriftView;
  private schedule?: ReferenceSchedule;
  private follower?: ChampionFollower;
  private http?: FastifyInstance;
  private httpDeps?: DriftHttpDeps;
  private _httpAddress?: string;

  constructor(
    readonly config: DriftConfig,
    private readonly log: Logger,
    private readonly options: DriftServiceOptions = {},
  ) {
    this.life = new Lifecycle('drift monitor', config.shutdownTimeoutMs);
    this.metrics = attachDriftMetrics(this.events);
    this.attachLogs();
  }

  get state(): ServiceState {
    return this.life.state;
  }
  get httpAddress(): string | undefined {
    return this._httpAddress;
  }
  /** The reference of the newest epoch (what windows from now on are compared with). */
  get referenceVersion(): string | undefined {
    return this.schedule?.latest.reference.version ?? this.reference?.version;
  }
  /** Which reference each window is compared with. */
  get referenceSchedule(): ReferenceSchedule | undefined {
    return this.schedule;
  }
  get aggregatorActive(): boolean {
    return this.aggregator?.isActive ?? false;
  }
  get sourcePartitions(): readonly number[] {
    return this.instance?.partitions ?? [];
  }
  /** The JSON of GET /drift. */
  summary(): ReturnType<typeof driftSummary> | undefined {
    return this.httpDeps ? driftSummary(this.httpDeps) : undefined;
  }

  private attachLogs(): void {
    const log = this.log;
    this.events.on('consumer.joined', ({ payload }) => log.info(payload, `${payload.component}: joined consumer group`));
    this.events.on('consumer.rebalancing', ({ payload }) => log.info(payload, `${payload.component}: consumer group rebalancing`));
    this.events.on('consumer.crashed', ({ payload }) =>
      log.warn(payload, `${payload.component}: consumer failed; ${payload.restart ? 'the client restarts it' : 'the client supervisor replaces it'}`),
    );
    this.events.on('kafka.client.restart', ({ payload }) => log.warn(payload, `${payload.component}: kafka ${payload.client} died; replacing it`));
    this.events.on('kafka.client.recovered', ({ payload }) => log.info(payload, `${payload.component}: kafka client recovered`));
    this.events.on('kafka.client.gave-up', ({ payload }) => {
      log.fatal(payload, `${payload.component}: kafka ${payload.client} not recovered within the deadline; exiting`);
      this.reportFatal(new ServiceError('KAFKA_CLIENT_DEAD', `${payload.component}: kafka ${payload.client} not recovered within ${this.config.kafkaRecoveryDeadlineMs} ms (${payload.reason})`, false, payload));
    });
    this.events.on('error', ({ payload }) => log.warn(payload, `${payload.component}: error`));
    this.events.on('window.finalized', ({ payload: { result: w } }) =>
      log.info(
        { window: w.index, records: w.records, evaluated: w.evaluated, psi: Object.fromEntries(w.targets.map((t) => [t.target, Number(t.psi.toFixed(4))])), late: w.late },
        'drift window finalized',
      ),
    );
    this.events.on('fairness.finalized', ({ payload: { window: w } }) => {
      const lowest = Object.fromEntries(w.attributes.map((a) => [a.attribute, a.min_air_group ? `${a.min_air_group} ${a.min_air?.toFixed(3)}` : 'n/a']));
      log[w.transition === 'RAISED' ? 'warn' : 'info']({ window: w.window_index, decisions: w.decisions, unjoined: w.unjoined, lowestAir: lowest, flagged: w.flagged, transition: w.transition }, w.transition === 'RAISED' ? `FAIRNESS ALERT: adverse impact on ${w.flagged.join(', ')}` : w.transition === 'CLEARED' ? 'fairness alert cleared' : 'fairness window finalized');
    });
    this.events.on('alert', ({ payload: { alert: a } }) => log.warn({ kind: a.kind, target: a.target, severity: a.severity, window: a.window_index, psi: a.psi, outcome: a.outcome }, `drift ${a.kind.toLowerCase()}`));
    this.events.on('partial.ignored', ({ payload }) => log.debug(payload, 'partials ignored'));
    this.events.on('reference.scheduled', ({ payload: { epoch: e, previous, durationMs } }) =>
      log.info({ version: e.reference.version, previous: previous.reference.version, fromWindow: e.fromWindow, sha256: e.sha256, action: e.action, by: e.by, durationMs: Math.round(durationMs) }, `drift: reference v${e.reference.version} verified; windows from ${e.fromWindow} on are compared with it`),
    );
    this.events.on('reference.refused', ({ payload }) => log.error(payload, `drift: model update v${payload.version} refused; the reference stays`));
    this.events.on('reference.switched', ({ payload }) => log.warn(payload, `drift: reference switched v${payload.previousVersion} -> v${payload.version} at window ${payload.window}`));
  }

  /** Liveness (for /health): non-empty while a Kafka client is dead (being replaced) or after giving up. */
  deadReasons(): string[] {
    return [this.instance?.deadReason, this.aggregator?.deadReason, this.view?.deadReason, this.follower?.deadReason].filter((r): r is string => r !== undefined);
  }

  /** Settles once, with the error, if the service can no longer do its job (runService then exits non-zero). */
  readonly fatal: Promise<Error> = new Promise((resolve) => (this.reportFatal = resolve));
  private reportFatal!: (e: Error) => void;

  notReadyReasons(): string[] {
    const r: string[] = [];
    if (this.life.state !== 'running') r.push(`service is ${this.life.state}`);
    if (!this.instance?.ready) r.push('the instance has not joined its consumer group');
    if (this.config.aggregate && !this.aggregator?.ready) r.push('the aggregator has not joined its consumer group');
    return r;
  }

  start(): Promise<void> {
    return this.life.start(
      () => this.startAll(),
      () => this.shutdown(),
    );
  }

  private async startAll(): Promise<void> {
    const c = this.config;
    {
      const metadata = await readMetadata(c.modelDir);
      const reference = compileReference(metadata, c.referenceRecords);
      const attributes = fairLending().attributes;
      const fairness: FairnessLayout | undefined = c.fairness.enabled && attributes.length > 0 ? fairnessLayout(attributes) : undefined;
      if (!fairness) this.log.warn({ DRIFT_FAIRNESS: c.fairness.enabled, windowBy: c.window.by }, 'drift: no fairness windows (DRIFT_FAIRNESS=false, count windows, or no protected attributes in schemas/population.json)');
      const layout = layoutOf(reference);
      const schedule = new ReferenceSchedule(c.window, reference, metadata.model_sha256);
      this.schedule = schedule;
      this.reference = reference;
      this.layout = layout;

      const kafka = createKafka(c.connection, `drift-${c.instanceId}`, (level, msg, extra) => this.log[level](extra, msg));
      this.kafka = kafka;
      const registry = new AvroRegistry(c.connection.registry);
      this.view = new DriftView({ kafka, registry, config: c, events: this.events, fairness: fairness !== undefined });

      // HTTP first, so /health answers and /ready explains while Kafka connects.
      this.httpDeps = {
        metrics: this.metrics,
        instance: c.instanceId,
        windowing: c.windowing,
        bands: c.bands,
        reference: { modelName: reference.modelName, version: reference.version, records: reference.records },
        targets: reference.targets.map((t) => t.name),
        history: () => this.view?.history() ?? [],
        fairness: {
          enabled: fairness !== undefined,
          options: c.fairness.options,
          references: Object.fromEntries(attributes.map((a) => [a.name, c.fairness.options.references?.[a.name] ?? a.reference])),
          history: () => this.view?.fairnessHistory() ?? [],
        },
        alerts: () => this.view?.recentAlerts() ?? [],
        aggregatorActive: () => this.aggregatorActive,
        partitions: () => this.sourcePartitions,
        notReadyReasons: () => this.notReadyReasons(),
        notAliveReasons: () => [...(this.life.state === 'failed' ? ['service failed'] : []), ...this.deadReasons()],
        state: () => this.life.state,
      };
      this.http = await buildDriftHttp(this.httpDeps);
      this._httpAddress = await this.http.listen({ host: c.http.host, port: c.http.port });

      const topics = c.connection.topics;
      const retry = startupRetry(this.log);
      const roles = [...DRIFT_TOPIC_ROLES, ...(fairness ? FAIRNESS_TOPIC_ROLES : [])];
      await prepareCluster(kafka, c.connection, { names: topics, roles, groups: [c.groupId] }, { create: c.createTopics, createVar: 'DRIFT_CREATE_TOPICS' }, this.log);
      const register = (topic: string, schema: string) => registerWithRetry(registry, topic, schema, this.log);
      const [partial, window, alert, fairnessWindow] = await Promise.all([
        register(topics.driftPartials!, 'drift-partial'),
        register(topics.driftWindows!, 'drift-window'),
        register(topics.driftAlerts!, 'drift-alert'),
        fairness ? register(topics.fairnessWindows!, 'fairness-window') : Promise.resolve(undefined),
      ]);
      await Promise.all([registry.warm(partial), registry.warm(window), registry.warm(alert), ...(fairnessWindow !== undefined ? [registry.warm(fairnessWindow)] : [])]);

      if (c.followModelUpdates) {
        if (c.window.by !== 'time') this.log.warn('drift: DRIFT_WINDOW_BY=count cannot switch references at a shared window boundary; announcements are verified and logged, the start-up reference stays');
        this.follower = new ChampionFollower({
          kafka,
          registry,
          schedule,
          events: this.events,
          topic: topics.modelUpdates,
          instance: c.instanceId,
          referenceRecords: c.referenceRecords,
          recoveryDeadlineMs: c.kafkaRecoveryDeadlineMs,
          onSwitch: () => this.instance?.onReferenceSwitch(),
        });
        // The schedule is complete before any window is counted or finalized.
        await this.follower.start();
      }

      const decoder = new ScoringLogDecoder(registry, (id) => withRetry(() => registry.writerSchema(id), retry));
      this.instance = new DriftInstance({ kafka, registry, config: c, reference, layout, schedule, events: this.events, partialSchemaId: partial, decoder, ...(fairness ? { fairnessLayout: fairness } : {}) });
      if (c.aggregate) {
        this.aggregator = new DriftAggregator({
          kafka,
          registry,
          config: c,
          reference,
          layout,
          schedule,
          ...(this.follower ? { syncReferences: () => this.follower!.sync(5000) } : {}),
          events: this.events,
          schemaIds: { window, alert, ...(fairnessWindow !== undefined ? { fairness: fairnessWindow } : {}) },
          ...(fairness ? { fairnessLayout: fairness } : {}),
          log: this.log,
          ...(this.options.runRetrain ? { runRetrain: this.options.runRetrain } : {}),
        });
      }
      await this.view.start();
      await this.aggregator?.start();
      await this.instance.start();
      this.log.info({ groupId: c.groupId, input: topics.scoringLog, windowing: c.windowing, reference: `${reference.modelName} v${reference.version}`, http: this._httpAddress }, 'drift monitor running');
    }
  }

  private async shutdown(): Promise<void> {
    // The instance first (it commits its last counts), then the aggregator (it publishes what completed).
    await this.instance?.stop();
    await this.aggregator?.stop();
    await this.view?.stop();
    await this.follower?.stop();
    await this.http?.close().catch(() => undefined);
  }

  /** Idempotent and bounded by SHUTDOWN_TIMEOUT (services/shared/lifecycle.ts). */
  stop(): Promise<void> {
    return this.life.stop(async () => {
      await this.shutdown();
      this.log.info('drift monitor stopped');
    });
  }
}
