/**
 * ACL bindings of a cluster: describe, create, delete. The Node binding of librdkafka has no ACL admin
 * API, so each call runs pipeline/kafka/acl_admin.py (confluent-kafka's AdminClient: the same librdkafka)
 * with the project's Python (.venv), JSON on stdin and stdout. It connects with the KAFKA_* variables of
 * `env` (brokers, TLS files, SASL), read by pipeline/kafka/settings.py exactly as the services read them;
 * they reach the helper through its environment, never its command line.
 *
 * Only the I/O lives here; what to create and delete is infra/acls.ts's (pure) plan.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError, type ErrorCode } from '../errors.ts';
import { REPO_ROOT } from '../schemas.ts';

export type AclResourceType = 'topic' | 'group' | 'transactional-id' | 'cluster' | 'delegation-token';
/** Kafka's ACL operations, lower case with dashes. */
export type AclOperation =
  | 'all' | 'read' | 'write' | 'create' | 'delete' | 'alter' | 'describe' | 'cluster-action' | 'describe-configs' | 'alter-configs' | 'idempotent-write';

/** One ACL binding as the cluster stores it. */
export interface AclEntry {
  readonly principal: string;
  readonly resourceType: AclResourceType;
  readonly resourceName: string;
  readonly patternType: 'literal' | 'prefixed';
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: 'allow' | 'deny';
}

/** The connection variables the helper may see (and nothing else of the caller's environment). */
const CONNECTION_VARIABLES = /^KAFKA_(BROKERS|CLIENT_ID|SSL|SSL_CA_FILE|SSL_CERT_FILE|SSL_KEY_FILE|SSL_KEY_PASSWORD|SASL_MECHANISM|SASL_USERNAME|SASL_PASSWORD)$/;
const KNOWN_CODES: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'KAFKA_UNAVAILABLE', 'KAFKA_TLS_FAILED', 'KAFKA_AUTH_FAILED', 'KAFKA_NOT_AUTHORIZED']);
export const ACL_HELPER = 'pipeline.kafka.acl_admin';

interface HelperError {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
  readonly kafkaCode?: number;
  readonly kafkaName?: string;
}

export interface AclAdminOptions {
  /** The Python that runs the helper (default: <repo>/.venv/bin/python). */
  readonly python?: string;
  /** Bound on one call, helper start-up included (default 90 s; the helper's own requests time out at 30 s). */
  readonly timeoutMs?: number;
}

/** The error of a refused or failed ACL call: a librdkafka code as its cause, so errors.ts kafkaErrorCodes reads it. */
function toError(op: string, e: HelperError): ServiceError {
  const kafkaName = e.kafkaName ?? '';
  const disabled = kafkaName === 'SECURITY_DISABLED';
  const code: ErrorCode = KNOWN_CODES.has(e.code) ? (e.code as ErrorCode) : /AUTHORIZATION_FAILED$/.test(kafkaName) ? 'KAFKA_NOT_AUTHORIZED' : disabled ? 'CONFIG_INVALID' : 'KAFKA_UNAVAILABLE';
  const hint =
    code === 'KAFKA_NOT_AUTHORIZED'
      ? ' (ACLs are managed as a super user: connect with its KAFKA_SASL_* or certificate)'
      : disabled
        ? ' (the cluster in KAFKA_BROKERS has no authorizer, e.g. the plaintext local stack: ACLs apply to a secured cluster such as STACK_SECURITY=sasl_ssl make stack)'
        : '';
  const cause = e.kafkaCode === undefined ? undefined : Object.assign(new Error(e.message), { code: e.kafkaCode, errno: e.kafkaCode, origin: 'kafka', isRetriable: e.retriable, isFatal: false });
  return new ServiceError(code, `${op} ACLs: ${e.message}${hint}`, e.retriable, { kafkaCode: kafkaName || undefined }, cause ? { cause } : undefined);
}

export class AclAdmin {
  private readonly env: Record<string, string>;
  private readonly python: string;
  private readonly timeoutMs: number;

  /** `env`: the KAFKA_* variables of the cluster and of a principal allowed to manage ACLs (a super user). */
  constructor(env: NodeJS.ProcessEnv | Readonly<Record<string, string>>, opts: AclAdminOptions = {}) {
    this.env = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => CONNECTION_VARIABLES.test(e[0]) && typeof e[1] === 'string' && e[1] !== ''));
    if (!this.env.KAFKA_BROKERS) throw new ServiceError('CONFIG_INVALID', 'ACL admin: KAFKA_BROKERS is not set', false, { variables: ['KAFKA_BROKERS'] });
    this.python = opts.python ?? join(REPO_ROOT, '.venv', 'bin', 'python');
    this.timeoutMs = opts.timeoutMs ?? 90_000;
  }

  /** Every binding of `principals` (User:<name>): any resource, pattern, host, operation and permission. */
  async describe(principals: readonly string[]): Promise<AclEntry[]> {
    if (principals.length === 0) return [];
    return ((await this.call('describe', { principals })) as { bindings: AclEntry[] }).bindings;
  }

  async create(bindings: readonly AclEntry[]): Promise<number> {
    if (bindings.length === 0) return 0;
    return ((await this.call('create', { bindings })) as { created: number }).created;
  }

  /** Deletes exactly `bindings`; returns how many the cluster removed. */
  async delete(bindings: readonly AclEntry[]): Promise<number> {
    if (bindings.length === 0) return 0;
    return ((await this.call('delete', { bindings })) as { deleted: number }).deleted;
  }

  private call(op: string, body: Record<string, unknown>): Promise<unknown> {
    if (!existsSync(this.python)) {
      return Promise.reject(new ServiceError('CONFIG_INVALID', `${op} ACLs: runs ${ACL_HELPER} with ${this.python}, which does not exist (make install creates .venv)`, false));
    }
    return new Promise((resolve, reject) => {
      // PATH only: the helper must not fall back to .local/stack.env or pick up other KAFKA_* settings.
      const child = spawn(this.python, ['-m', ACL_HELPER], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONPATH: REPO_ROOT, ...this.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      timer.unref();
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new ServiceError('KAFKA_UNAVAILABLE', `${op} ACLs: could not run ${this.python} -m ${ACL_HELPER}: ${e.message}`, false, {}, { cause: e }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        let answer: { error?: HelperError } | undefined;
        try {
          answer = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { error?: HelperError };
        } catch {
          answer = undefined;
        }
        if (answer?.error) return reject(toError(op, answer.error));
        if (code === 0 && answer) return resolve(answer);
        // librdkafka's own log lines on stderr never carry a password; the last ones say what happened.
        const why = signal ? `killed after ${this.timeoutMs} ms` : `exit ${code}`;
        reject(new ServiceError('KAFKA_UNAVAILABLE', `${op} ACLs: ${ACL_HELPER} failed (${why}): ${err.trim().split('\n').slice(-3).join(' | ')}`, true));
      });
      child.stdin.end(JSON.stringify({ op, ...body }));
    });
  }
}
