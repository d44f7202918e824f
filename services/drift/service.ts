/**
 * The drift service: wires config, reference, registry, the instance (windows per source partition), the
 * aggregator (merge, evaluate, alert), the view (recent results) and HTTP together and owns their
 * lifecycle. States: created -> starting -> running -> stopping -> stopped (failed if start fails).
 */
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createKafka } from '../shared/kafka/client.ts';
import type { Logger } from '../shared/log.ts';
import { ServiceError } from '../shared/errors.ts';
import { AvroRegistry, type RegistryConfig } from '../shared/registry.ts';
import { withRetry } from '../shared/retry.ts';
import { createMissingTopics, registerWithRetry, startupRetry } from '../shared/startup.ts';
import { DriftAggregator } from './kafka/aggregator.ts';
import type { DriftConfig } from './config.ts';
import { createDriftInstrumentation, type DriftInstrumentation } from './events.ts';
import { buildDriftHttp, driftSummary, type DriftHttpDeps } from './http/http.ts';
import { DriftInstance } from './kafka/instance.ts';
import { layoutOf, type Layout } from './windows/layout.ts';
import { attachDriftMetrics } from './http/metrics.ts';
import { ScoringLogDecoder } from './windows/record-decoder.ts';
import { loadReference, type Reference } from './statistics/reference.ts';
import type { CommandOutcome } from './aggregation/retrain.ts';
import { DriftView } from './kafka/view.ts';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export const DRIFT_TOPIC_ROLES = ['scoringLog', 'outcomes', 'driftPartials', 'driftWindows', 'driftAlerts'] as const;

export interface DriftServiceOptions {
  /** Replaces running the retrain command (tests of the loop). */
  readonly runRetrain?: (command: string, env: Record<string, string>, timeoutMs: number) => Promise<CommandOutcome>;
}

/** The writer schema (parsed JSON) of a registry schema id; undefined when the registry does not know it. */
export async function writerSchema(registry: RegistryConfig, id: number): Promise<unknown | undefined> {
  const headers: Record<string, string> = registry.username ? { authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password ?? ''}`).toString('base64')}` } : {};
  let res: Response;
  try {
    res = await fetch(`${registry.url}/schemas/ids/${id}`, { headers, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new ServiceError('REGISTRY_UNAVAILABLE', `schema registry at ${registry.url} unreachable: ${(e as Error).message}`, true, { id }, { cause: e });
  }
  if (res.status === 404) return undefined;
  if (!res.ok) throw new ServiceError('REGISTRY_UNAVAILABLE', `schema id ${id}: registry answered ${res.status}`, res.status >= 500, { id });
  const body = (await res.json()) as { schema?: string };
  return body.schema ? (JSON.parse(body.schema) as unknown) : undefined;
}

export class DriftService {
  private _state: ServiceState = 'created';
  readonly events: DriftInstrumentation = createDriftInstrumentation();
  readonly metrics: Registry;
  private reference?: Reference;
  private layout?: Layout;
  private kafka?: Kafka;
  private instance?: DriftInstance;
  private aggregator?: DriftAggregator;
  private view?: DriftView;
  private http?: FastifyInstance;
  private httpDeps?: DriftHttpDeps;
  private stopping?: Promise<void>;
  private _httpAddress?: string;

  constructor(
    readonly config: DriftConfig,
    private readonly log: Logger,
    private readonly options: DriftServiceOptions = {},
  ) {
    this.metrics = attachDriftMetrics(this.events);
    this.attachLogs();
  }

  get state(): ServiceState {
    return this._state;
  }
  get httpAddress(): string | undefined {
    return this._httpAddress;
  }
  get referenceVersion(): string | undefined {
    return this.reference?.version;
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
    this.events.on('consumer.crashed', ({ payload }) => log.error(payload, `${payload.component}: consumer crashed`));
    this.events.on('error', ({ payload }) => log.warn(payload, `${payload.component}: error`));
    this.events.on('window.finalized', ({ payload: { result: w } }) =>
      log.info(
        { window: w.index, records: w.records, evaluated: w.evaluated, psi: Object.fromEntries(w.targets.map((t) => [t.target, Number(t.psi.toFixed(4))])), late: w.late },
        'drift window finalized',
      ),
    );
    this.events.on('alert', ({ payload: { alert: a } }) => log.warn({ kind: a.kind, target: a.target, severity: a.severity, window: a.window_index, psi: a.psi, outcome: a.outcome }, `drift ${a.kind.toLowerCase()}`));
    this.events.on('partial.ignored', ({ payload }) => log.debug(payload, 'partials ignored'));
  }

  notReadyReasons(): string[] {
    const r: string[] = [];
    if (this._state !== 'running') r.push(`service is ${this._state}`);
    if (!this.instance?.ready) r.push('the instance has not joined its consumer group');
    if (this.config.aggregate && !this.aggregator?.ready) r.push('the aggregator has not joined its consumer group');
    return r;
  }

  async start(): Promise<void> {
    if (this._state !== 'created') throw new Error(`cannot start from ${this._state}`);
    this._state = 'starting';
    const c = this.config;
    try {
      const reference = await loadReference(c.modelDir, c.referenceRecords);
      const layout = layoutOf(reference);
      this.reference = reference;
      this.layout = layout;

      const kafka = createKafka(c.connection, `drift-${c.instanceId}`, (level, msg, extra) => this.log[level](extra, msg));
      this.kafka = kafka;
      const registry = new AvroRegistry(c.connection.registry);
      this.view = new DriftView({ kafka, registry, config: c, events: this.events });

      // HTTP first, so /health answers and /ready explains while Kafka connects.
      this.httpDeps = {
        metrics: this.metrics,
        instance: c.instanceId,
        windowing: c.windowing,
        bands: c.bands,
        reference: { modelName: reference.modelName, version: reference.version, records: reference.records },
        targets: reference.targets.map((t) => t.name),
        history: () => this.view?.history() ?? [],
        alerts: () => this.view?.recentAlerts() ?? [],
        aggregatorActive: () => this.aggregatorActive,
        partitions: () => this.sourcePartitions,
        notReadyReasons: () => this.notReadyReasons(),
        state: () => this._state,
      };
      this.http = buildDriftHttp(this.httpDeps);
      this._httpAddress = await this.http.listen({ host: c.http.host, port: c.http.port });

      const topics = c.connection.topics;
      const retry = startupRetry(this.log);
      if (c.createTopics) await createMissingTopics(kafka, topics, DRIFT_TOPIC_ROLES, this.log);
      const register = (topic: string, schema: string) => registerWithRetry(registry, topic, schema, this.log);
      const [partial, window, alert] = await Promise.all([register(topics.driftPartials!, 'drift-partial'), register(topics.driftWindows!, 'drift-window'), register(topics.driftAlerts!, 'drift-alert')]);
      await Promise.all([registry.warm(partial), registry.warm(window), registry.warm(alert)]);

      const decoder = new ScoringLogDecoder(registry, (id) => withRetry(() => writerSchema(c.connection.registry, id), retry));
      this.instance = new DriftInstance({ kafka, registry, config: c, reference, layout, events: this.events, partialSchemaId: partial, decoder });
      if (c.aggregate) {
        this.aggregator = new DriftAggregator({
          kafka,
          registry,
          config: c,
          reference,
          layout,
          events: this.events,
          schemaIds: { window, alert },
          log: this.log,
          ...(this.options.runRetrain ? { runRetrain: this.options.runRetrain } : {}),
        });
      }
      await this.view.start();
      await this.aggregator?.start();
      await this.instance.start();
      this._state = 'running';
      this.log.info({ groupId: c.groupId, input: topics.scoringLog, windowing: c.windowing, reference: `${reference.modelName} v${reference.version}`, http: this._httpAddress }, 'drift monitor running');
    } catch (e) {
      this._state = 'failed';
      await this.shutdown();
      throw e;
    }
  }

  private async shutdown(): Promise<void> {
    // The instance first (it commits its last counts), then the aggregator (it publishes what completed).
    await this.instance?.stop();
    await this.aggregator?.stop();
    await this.view?.stop();
    await this.http?.close().catch(() => undefined);
  }

  /** Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this._state === 'stopped') return;
      this._state = 'stopping';
      await this.shutdown();
      this._state = 'stopped';
      this.log.info('drift monitor stopped');
    })();
    return this.stopping;
  }
}
