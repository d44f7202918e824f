/** Scorer configuration from the environment: validated once at start-up, compiled, frozen. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { checkHeartbeat, deepFreeze, env, parseEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { compileInputBounds, inputBoundsEnv, type InputBounds } from '../shared/input-bounds.ts';
import { compileConnection, connectionEnv, type ConnectionConfig } from '../shared/kafka/connection.ts';
import { FEATURE_NAMES, REPO_ROOT } from '../shared/schemas.ts';
import { DEFAULT_POLICY, DEFAULT_REASONS_MAX, policyProblems, type DecisionPolicy } from './policy.ts';

export const scorerEnv = {
  ...connectionEnv,
  SCORER_GROUP_ID: env.string('credit-scorer'),
  SCORER_INSTANCE_ID: env.string(hostname()),
  SCORER_DELIVERY: env.oneOf(['exactly-once', 'at-least-once'], 'exactly-once'),
  SCORER_MAX_BATCH: env.int(2000, 1, 100_000),
  SCORER_MAX_BYTES_PER_PARTITION: env.int(1_048_576, 1024),
  SCORER_SESSION_TIMEOUT: env.duration('30s'),
  SCORER_HEARTBEAT_INTERVAL: env.duration('3s'),
  SCORER_FROM_BEGINNING: env.bool(true),
  SCORER_CREATE_TOPICS: env.bool(true),
  SCORER_LAG_POLL_INTERVAL: env.duration('5s'),
  MODEL_DIR: env.string('models/credit-default-classifier/1'),
  SCORER_SHADOW_MODEL_DIR: env.optionalString(),
  SCORER_FOLLOW_MODEL_UPDATES: env.bool(true),
  ORT_INTRA_OP_THREADS: env.int(1, 1, 64),
  CLASSIFICATION_THRESHOLD: env.number(DEFAULT_POLICY.classificationThreshold, 0, 1),
  RISK_MEDIUM_AT: env.number(DEFAULT_POLICY.risk.mediumAt, 0, 1),
  RISK_HIGH_AT: env.number(DEFAULT_POLICY.risk.highAt, 0, 1),
  DECISION_REVIEW_AT: env.number(DEFAULT_POLICY.decision.reviewAt, 0, 1),
  DECISION_DECLINE_AT: env.number(DEFAULT_POLICY.decision.declineAt, 0, 1),
  REASONS_MAX: env.int(DEFAULT_REASONS_MAX, 0, FEATURE_NAMES.length),
  EXPLAIN_DECISIONS: env.bool(true),
  HTTP_HOST: env.string('0.0.0.0'),
  HTTP_PORT: env.int(8080, 0, 65535),
  LOG_LEVEL: env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  SHUTDOWN_TIMEOUT: env.duration('30s'),
  KAFKA_RECOVERY_DEADLINE: env.duration('5m'),
};

export type Delivery = 'exactly-once' | 'at-least-once';

export interface ScorerConfig {
  readonly connection: ConnectionConfig;
  readonly groupId: string;
  readonly instanceId: string;
  readonly transactionalId: string;
  readonly delivery: Delivery;
  readonly maxBatch: number;
  readonly maxBytesPerPartition: number;
  /** Upper bound on the bytes of one produce request (below the broker's max.message.bytes). */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly fromBeginning: boolean;
  readonly createTopics: boolean;
  readonly lagPollIntervalMs: number;
  readonly modelDir: string;
  readonly shadowModelDir?: string;
  readonly followModelUpdates: boolean;
  readonly intraOpThreads: number;
  /** Explain every decision (TreeSHAP contributions, reasons); off only to measure what it costs. */
  readonly explain: boolean;
  readonly policy: DecisionPolicy;
  /** Sanity bounds of the input (SUBMITTED_AT_EARLIEST, SUBMITTED_AT_MAX_SKEW, MAX_*; schemas/input-bounds.json). */
  readonly inputBounds: InputBounds;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  readonly shutdownTimeoutMs: number;
  /** A dead Kafka client not recovered within this long makes the process exit non-zero. */
  readonly kafkaRecoveryDeadlineMs: number;
}

export function loadScorerConfig(rawEnv: NodeJS.ProcessEnv = process.env): ScorerConfig {
  const raw = parseEnv(scorerEnv, rawEnv);
  const inputBounds = compileInputBounds(parseEnv(inputBoundsEnv, rawEnv));
  const policy: DecisionPolicy = {
    classificationThreshold: raw.CLASSIFICATION_THRESHOLD,
    risk: { mediumAt: raw.RISK_MEDIUM_AT, highAt: raw.RISK_HIGH_AT },
    decision: { reviewAt: raw.DECISION_REVIEW_AT, declineAt: raw.DECISION_DECLINE_AT },
    reasonsMax: raw.REASONS_MAX,
  };
  const problems = policyProblems(policy);
  if (problems.length) {
    throw new ConfigError(`invalid decision policy: ${problems.join('; ')} (RISK_MEDIUM_AT, RISK_HIGH_AT, DECISION_REVIEW_AT, DECISION_DECLINE_AT, CLASSIFICATION_THRESHOLD)`, [
      'RISK_MEDIUM_AT',
      'RISK_HIGH_AT',
      'DECISION_REVIEW_AT',
      'DECISION_DECLINE_AT',
    ]);
  }
  checkHeartbeat('SCORER_HEARTBEAT_INTERVAL', raw.SCORER_HEARTBEAT_INTERVAL, 'SCORER_SESSION_TIMEOUT', raw.SCORER_SESSION_TIMEOUT);
  return deepFreeze({
    connection: compileConnection(raw, rawEnv),
    groupId: raw.SCORER_GROUP_ID,
    instanceId: raw.SCORER_INSTANCE_ID,
    // Stable per instance, so a restarted instance fences its own zombie and aborts its open transaction.
    transactionalId: `${raw.SCORER_GROUP_ID}-${raw.SCORER_INSTANCE_ID}`,
    delivery: raw.SCORER_DELIVERY,
    maxBatch: raw.SCORER_MAX_BATCH,
    maxBytesPerPartition: raw.SCORER_MAX_BYTES_PER_PARTITION,
    sessionTimeoutMs: raw.SCORER_SESSION_TIMEOUT,
    heartbeatIntervalMs: raw.SCORER_HEARTBEAT_INTERVAL,
    fromBeginning: raw.SCORER_FROM_BEGINNING,
    createTopics: raw.SCORER_CREATE_TOPICS,
    lagPollIntervalMs: raw.SCORER_LAG_POLL_INTERVAL,
    modelDir: resolve(REPO_ROOT, raw.MODEL_DIR),
    ...(raw.SCORER_SHADOW_MODEL_DIR ? { shadowModelDir: resolve(REPO_ROOT, raw.SCORER_SHADOW_MODEL_DIR) } : {}),
    followModelUpdates: raw.SCORER_FOLLOW_MODEL_UPDATES,
    intraOpThreads: raw.ORT_INTRA_OP_THREADS,
    explain: raw.EXPLAIN_DECISIONS,
    policy,
    inputBounds,
    http: { host: raw.HTTP_HOST, port: raw.HTTP_PORT },
    logLevel: raw.LOG_LEVEL,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT,
    kafkaRecoveryDeadlineMs: raw.KAFKA_RECOVERY_DEADLINE,
  });
}
