/**
 * Typed errors. Every error carries a stable `code` (usable as a metric label), a `retriable` flag that
 * retry logic reads (and nothing else), and a context object for logs.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MODEL_INVALID'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_TREES_MISMATCH'
  | 'INFERENCE_FAILED'
  | 'REGISTRY_UNAVAILABLE'
  | 'SCHEMA_REGISTRATION_FAILED'
  | 'KAFKA_UNAVAILABLE'
  | 'KAFKA_PRODUCER_FAILED'
  | 'KAFKA_CLIENT_DEAD'
  | 'TOPIC_SETUP_FAILED'
  | 'TOPIC_MISSING'
  | 'KAFKA_TLS_FAILED'
  | 'KAFKA_AUTH_FAILED'
  | 'KAFKA_NOT_AUTHORIZED'
  | 'SHUTDOWN_TIMEOUT'
  | 'STATE_INVALID';

export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retriable: boolean,
    readonly context: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ConfigError extends ServiceError {
  override readonly name = 'ConfigError';
  constructor(message: string, readonly variables: readonly string[]) {
    super('CONFIG_INVALID', message, false, { variables });
  }
}

export class ShutdownTimeoutError extends ServiceError {
  override readonly name = 'ShutdownTimeoutError';
  constructor(readonly timeoutMs: number) {
    super('SHUTDOWN_TIMEOUT', `graceful shutdown did not finish within ${timeoutMs} ms`, false, { timeoutMs });
  }
}

/** Errors that are not ours (network, library) are retriable unless they say otherwise. */
export function isRetriable(e: unknown): boolean {
  if (e instanceof ServiceError) return e.retriable;
  if (e && typeof e === 'object' && 'retriable' in e) return Boolean((e as { retriable: unknown }).retriable);
  return false;
}

export function errorCode(e: unknown): string {
  if (e instanceof ServiceError) return e.code;
  if (e instanceof Error) return e.name;
  return 'UNKNOWN';
}
