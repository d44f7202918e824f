/** Drift monitor configuration from the environment: validated once at start-up, compiled, frozen. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { checkHeartbeat, deepFreeze, env, parseDuration, parseEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { compileInputBounds, inputBoundsEnv } from '../shared/input-bounds.ts';
import { compileConnection, connectionEnv, type ConnectionConfig } from '../shared/kafka/connection.ts';
import type { EventTimeBounds } from './windows/partition-windows.ts';
import { REPO_ROOT } from '../shared/schemas.ts';
import type { Bands } from './statistics/psi.ts';
import { windowingId, windowSpecProblems, type WindowSpec } from './windows/windows.ts';
import { fairLending } from '../shared/fair-lending.ts';
import type { FairnessOptions } from './fairness/summary.ts';

/** DRIFT_FAIRNESS_REFERENCES: 'attribute=group,...' overriding schemas/population.json's reference groups. */
function fairnessReferences(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const attributes = fairLending().attributes;
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const [name, group] = part.split('=').map((x) => x.trim());
    const a = attributes.find((x) => x.name === name);
    if (!a || !group || !a.categories.includes(group) || group === a.notProvided) {
      throw new ConfigError(`DRIFT_FAIRNESS_REFERENCES: "${part}" is not <attribute>=<group> of schemas/population.json (${attributes.map((x) => `${x.name}: ${x.categories.filter((c) => c !== x.notProvided).join('|')}`).join('; ')})`, ['DRIFT_FAIRNESS_REFERENCES']);
    }
    out[name!] = group;
  }
  return out;
}

export const driftEnv = {
  ...connectionEnv,
  DRIFT_GROUP_ID: env.string('drift-monitor'),
  DRIFT_INSTANCE_ID: env.string(hostname()),
  DRIFT_DEPLOYMENT: env.optionalString(),
  DRIFT_BACKFILL: env.bool(false),
  DRIFT_FOLLOW_MODEL_UPDATES: env.bool(true),
  MODEL_DIR: env.string('models/credit-default-classifier/1'),
  DRIFT_REFERENCE_RECORDS: z.coerce.number().int().positive().optional(),
  DRIFT_WINDOW_BY: env.oneOf(['time', 'count'], 'time'),
  DRIFT_WINDOW_SIZE: env.string('5m'),
  DRIFT_WINDOW_HOP: env.optionalString(),
  DRIFT_ALLOWED_LATENESS: env.duration('30s'),
  DRIFT_MIN_WINDOW_RECORDS: env.int(1000, 1),
  DRIFT_PSI_WARN: env.number(0.1, 0),
  DRIFT_PSI_ALERT: env.number(0.25, 0),
  DRIFT_EPSILON: env.number(1e-4, 1e-12, 0.01),
  DRIFT_RECOVERY_WINDOWS: env.int(1, 1, 1000),
  DRIFT_RETRAIN: env.oneOf(['off', 'notify', 'retrain'], 'notify'),
  DRIFT_RETRAIN_COMMAND: env.string('make retrain'),
  DRIFT_RETRAIN_MIN_FEATURES: env.int(2, 1),
  DRIFT_RETRAIN_TIMEOUT: env.duration('1h'),
  DRIFT_RETRAIN_COOLDOWN: env.duration('30m'),
  DRIFT_RETRAIN_MIN_OUTCOMES: env.int(2000, 0),
  DRIFT_RETRAIN_BACKOFF: env.duration('1m'),
  DRIFT_RETRAIN_MAX_BACKOFF: env.duration('30m'),
  DRIFT_RETRAIN_MAX_ATTEMPTS: env.int(3, 1, 100),
  DRIFT_IDLE_TIMEOUT: env.duration('30s'),
  DRIFT_FLUSH_INTERVAL: env.duration('500ms'),
  DRIFT_HISTORY_WINDOWS: env.int(48, 2, 10_000),
  DRIFT_JOIN_MAX_ENTRIES: env.int(200_000, 1),
  DRIFT_OUTCOMES: env.bool(true),
  DRIFT_FAIRNESS: env.bool(true),
  DRIFT_FAIRNESS_MAX_WAIT: env.duration('30s'),
  DRIFT_FAIRNESS_AIR_MIN: env.number(0.8, 0, 1),
  DRIFT_FAIRNESS_ALPHA: env.number(0.05, 1e-9, 0.5),
  DRIFT_FAIRNESS_MIN_COUNT: env.int(100, 1),
  DRIFT_FAIRNESS_REFERENCES: env.optionalString(),
  DRIFT_AGGREGATE: env.bool(true),
  DRIFT_FROM_BEGINNING: env.bool(true),
  DRIFT_CREATE_TOPICS: env.bool(true),
  DRIFT_SESSION_TIMEOUT: env.duration('30s'),
  DRIFT_HEARTBEAT_INTERVAL: env.duration('3s'),
  DRIFT_MAX_BYTES_PER_PARTITION: env.int(4_194_304, 1024),
  HTTP_HOST: env.string('0.0.0.0'),
  HTTP_PORT: env.int(8090, 0, 65535),
  LOG_LEVEL: env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  SHUTDOWN_TIMEOUT: env.duration('30s'),
  KAFKA_RECOVERY_DEADLINE: env.duration('5m'),
};

export type RetrainMode = 'off' | 'notify' | 'retrain';

export interface DriftConfig {
  readonly connection: ConnectionConfig;
  readonly groupId: string;
  readonly instanceId: string;
  /** Identity of this drift deployment on the shared drift topics (DRIFT_DEPLOYMENT, default the group id). */
  readonly deployment: string;
  /** A new deployment's aggregator reads drift-partials from the beginning instead of from its end. */
  readonly backfill: boolean;
  /** Follow model-updates and switch the reference to each announced champion (reference-schedule.ts). */
  readonly followModelUpdates: boolean;
  readonly modelDir: string;
  readonly referenceRecords: number | undefined;
  readonly window: WindowSpec;
  /** Usable event times: at most processing time + SUBMITTED_AT_MAX_SKEW, not before SUBMITTED_AT_EARLIEST. */
  readonly eventTime: EventTimeBounds;
  readonly windowing: string;
  readonly minWindowRecords: number;
  readonly bands: Bands;
  readonly epsilon: number;
  readonly recoveryWindows: number;
  readonly retrain: {
    readonly mode: RetrainMode;
    readonly command: string;
    readonly minFeatures: number;
    readonly timeoutMs: number;
    readonly cooldownMs: number;
    readonly minOutcomes: number;
    readonly backoffMs: number;
    readonly maxBackoffMs: number;
    readonly maxAttempts: number;
  };
  readonly idleTimeoutMs: number;
  readonly flushIntervalMs: number;
  readonly historyWindows: number;
  readonly joinMaxEntries: number;
  readonly outcomes: boolean;
  /** Fairness windows (docs/fairness.md): decisions joined with applicant-demographics; time windows only. */
  readonly fairness: {
    readonly enabled: boolean;
    /** Longest a decision waits for its demographics (processing time), ms. */
    readonly maxWaitMs: number;
    readonly options: FairnessOptions;
  };
  readonly aggregate: boolean;
  readonly fromBeginning: boolean;
  readonly createTopics: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  readonly shutdownTimeoutMs: number;
  /** A dead Kafka client not recovered within this long makes the process exit non-zero. */
  readonly kafkaRecoveryDeadlineMs: number;
}

/** A window size or hop: a duration for time windows ("5m", "30s"), a whole number of records for count windows. */
function windowAmount(by: 'time' | 'count', raw: string, variable: string): number {
  if (by === 'count') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${variable}: count windows need a whole number of records, got "${raw}"`, [variable]);
    return n;
  }
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) throw new ConfigError(`${variable}: time windows need a duration like 30s, 5m, 1h, got "${raw}"`, [variable]);
  return ms;
}

export function loadDriftConfig(rawEnv: NodeJS.ProcessEnv = process.env): DriftConfig {
  const raw = parseEnv(driftEnv, rawEnv);
  const inputBounds = compileInputBounds(parseEnv(inputBoundsEnv, rawEnv));
  const by = raw.DRIFT_WINDOW_BY;
  const size = windowAmount(by, raw.DRIFT_WINDOW_SIZE, 'DRIFT_WINDOW_SIZE');
  const hop = raw.DRIFT_WINDOW_HOP ? windowAmount(by, raw.DRIFT_WINDOW_HOP, 'DRIFT_WINDOW_HOP') : size;
  const window: WindowSpec = { by, size, hop, lateness: by === 'count' ? 0 : raw.DRIFT_ALLOWED_LATENESS };
  const problems = windowSpecProblems(window);
  if (problems.length) throw new ConfigError(`invalid window (DRIFT_WINDOW_SIZE, DRIFT_WINDOW_HOP): ${problems.join('; ')}`, ['DRIFT_WINDOW_SIZE', 'DRIFT_WINDOW_HOP']);
  if (raw.DRIFT_PSI_WARN >= raw.DRIFT_PSI_ALERT) {
    throw new ConfigError(`DRIFT_PSI_WARN (${raw.DRIFT_PSI_WARN}) must be below DRIFT_PSI_ALERT (${raw.DRIFT_PSI_ALERT})`, ['DRIFT_PSI_WARN', 'DRIFT_PSI_ALERT']);
  }
  if (raw.DRIFT_DEPLOYMENT !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(raw.DRIFT_DEPLOYMENT)) {
    throw new ConfigError(`DRIFT_DEPLOYMENT: letters, digits, '.', '_' and '-' only (1-100), got "${raw.DRIFT_DEPLOYMENT}"`, ['DRIFT_DEPLOYMENT']);
  }
  if (raw.DRIFT_RETRAIN_BACKOFF > raw.DRIFT_RETRAIN_MAX_BACKOFF) {
    throw new ConfigError(`DRIFT_RETRAIN_BACKOFF (${raw.DRIFT_RETRAIN_BACKOFF} ms) must not exceed DRIFT_RETRAIN_MAX_BACKOFF (${raw.DRIFT_RETRAIN_MAX_BACKOFF} ms)`, ['DRIFT_RETRAIN_BACKOFF', 'DRIFT_RETRAIN_MAX_BACKOFF']);
  }
  checkHeartbeat('DRIFT_HEARTBEAT_INTERVAL', raw.DRIFT_HEARTBEAT_INTERVAL, 'DRIFT_SESSION_TIMEOUT', raw.DRIFT_SESSION_TIMEOUT);
  return deepFreeze({
    connection: compileConnection(raw, rawEnv),
    groupId: raw.DRIFT_GROUP_ID,
    instanceId: raw.DRIFT_INSTANCE_ID,
    deployment: raw.DRIFT_DEPLOYMENT ?? raw.DRIFT_GROUP_ID,
    backfill: raw.DRIFT_BACKFILL,
    followModelUpdates: raw.DRIFT_FOLLOW_MODEL_UPDATES,
    modelDir: resolve(REPO_ROOT, raw.MODEL_DIR),
    referenceRecords: raw.DRIFT_REFERENCE_RECORDS,
    window,
    eventTime: { maxSkewMs: inputBounds.maxSkewMs, earliestMs: inputBounds.earliestSubmittedAtMs },
    windowing: windowingId(window),
    minWindowRecords: raw.DRIFT_MIN_WINDOW_RECORDS,
    bands: { warn: raw.DRIFT_PSI_WARN, alert: raw.DRIFT_PSI_ALERT },
    epsilon: raw.DRIFT_EPSILON,
    recoveryWindows: raw.DRIFT_RECOVERY_WINDOWS,
    retrain: {
      mode: raw.DRIFT_RETRAIN,
      command: raw.DRIFT_RETRAIN_COMMAND,
      minFeatures: raw.DRIFT_RETRAIN_MIN_FEATURES,
      timeoutMs: raw.DRIFT_RETRAIN_TIMEOUT,
      cooldownMs: raw.DRIFT_RETRAIN_COOLDOWN,
      minOutcomes: raw.DRIFT_RETRAIN_MIN_OUTCOMES,
      backoffMs: raw.DRIFT_RETRAIN_BACKOFF,
      maxBackoffMs: raw.DRIFT_RETRAIN_MAX_BACKOFF,
      maxAttempts: raw.DRIFT_RETRAIN_MAX_ATTEMPTS,
    },
    idleTimeoutMs: raw.DRIFT_IDLE_TIMEOUT,
    flushIntervalMs: raw.DRIFT_FLUSH_INTERVAL,
    historyWindows: raw.DRIFT_HISTORY_WINDOWS,
    joinMaxEntries: raw.DRIFT_JOIN_MAX_ENTRIES,
    outcomes: raw.DRIFT_OUTCOMES,
    fairness: {
      // Fairness windows are event-time windows: count windows (DRIFT_WINDOW_BY=count) have none.
      enabled: raw.DRIFT_FAIRNESS && by === 'time',
      maxWaitMs: raw.DRIFT_FAIRNESS_MAX_WAIT,
      options: {
        airMin: raw.DRIFT_FAIRNESS_AIR_MIN,
        alpha: raw.DRIFT_FAIRNESS_ALPHA,
        minCount: raw.DRIFT_FAIRNESS_MIN_COUNT,
        confidence: 0.95,
        ...(fairnessReferences(raw.DRIFT_FAIRNESS_REFERENCES) ? { references: fairnessReferences(raw.DRIFT_FAIRNESS_REFERENCES)! } : {}),
      },
    },
    aggregate: raw.DRIFT_AGGREGATE,
    fromBeginning: raw.DRIFT_FROM_BEGINNING,
    createTopics: raw.DRIFT_CREATE_TOPICS,
    sessionTimeoutMs: raw.DRIFT_SESSION_TIMEOUT,
    heartbeatIntervalMs: raw.DRIFT_HEARTBEAT_INTERVAL,
    maxBytesPerPartition: raw.DRIFT_MAX_BYTES_PER_PARTITION,
    http: { host: raw.HTTP_HOST, port: raw.HTTP_PORT },
    logLevel: raw.LOG_LEVEL,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT,
    kafkaRecoveryDeadlineMs: raw.KAFKA_RECOVERY_DEADLINE,
  });
}
