/**
 * Start-up checks against the cluster, so that a misconfigured service stops at once with ONE message that
 * names the cause and the variable (or the topic / group and the principal) instead of the client retrying
 * ECONNRESET or an authentication failure in a loop:
 *
 *   1. one raw round trip to a broker (TLS handshake if configured, then a Kafka ApiVersions request):
 *      an untrusted broker certificate, a wrong host name, a client certificate the broker refuses, or
 *      TLS spoken to a plaintext listener (and the reverse) are told apart here;
 *   2. one SASL login (sasl-probe.ts, read by the broker's error codes): mechanism not enabled, wrong user or
 *      password;
 *   3. every topic the service uses exists and this principal may see it; groups it commits to are
 *      accessible.
 *
 * Errors are ServiceErrors with stable codes and retriable=false. Messages never contain a password or a key.
 */
import { X509Certificate } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { KafkaClient } from './client.ts';
import { kafkaErrorCodes } from './errors.ts';
import { ServiceError } from '../errors.ts';
import { pollUntil } from '../retry.ts';
import type { ConnectionConfig, SaslConfig } from './connection.ts';
import { probeGroup, probeSasl } from './sasl-probe.ts';
import { topicDefinition } from './topic-catalog.ts';
import { TOPIC_VISIBLE_WITHIN_MS } from './topics.ts';

/** The principal the broker will see: the SASL user, else the client certificate's CN, else ANONYMOUS. */
export function principalOf(conn: ConnectionConfig): string {
  if (conn.sasl) return conn.sasl.username;
  if (conn.ssl && conn.ssl.cert) {
    try {
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(conn.ssl.cert).subject)?.[1];
      if (cn) return cn;
    } catch {
      /* fall through */
    }
  }
  return 'ANONYMOUS';
}

const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE']);

/** A Kafka ApiVersions v0 request (correlation id 1). Every listener answers it before authentication. */
function apiVersionsRequest(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + id.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(1, 4);
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

export type ProbeOutcome = { ok: true } | { ok: false; unreachable: true; reason: string } | { ok: false; unreachable?: false; error: ServiceError };

/** One round trip to `broker` with the connection's TLS settings. */
export function probeBroker(conn: ConnectionConfig, broker: string, timeoutMs = 5000): Promise<ProbeOutcome> {
  const [host, portText] = [broker.slice(0, broker.lastIndexOf(':')), broker.slice(broker.lastIndexOf(':') + 1)];
  const port = Number(portText);
  const tls = conn.ssl;
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    // TCP is up (with TLS: before the handshake); a listener that resets the handshake is not a TLS one.
    let tcpUp = false;
    let socket: Socket;
    const done = (o: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(o);
    };
    const fail = (code: ServiceError['code'], message: string, variables: string[]) =>
      done({ ok: false, error: new ServiceError(code, message, false, { broker, variables }) });
    const onConnected = () => {
      connected = true;
      socket.write(apiVersionsRequest(conn.clientId));
    };
    if (tls) {
      socket = tlsConnect({ host, port, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key, passphrase: tls.passphrase } : {}), ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) }, onConnected);
    } else {
      socket = netConnect({ host, port }, onConnected);
    }
    socket.once('connect', () => (tcpUp = true));
    const notTls = () =>
      fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the listener closed the connection during the TLS handshake, so it does not speak TLS; unset KAFKA_SSL or use the broker's TLS port in KAFKA_BROKERS`, ['KAFKA_SSL', 'KAFKA_BROKERS']);
    // A Kafka answer: size, then our correlation id 1. A TLS listener answers plaintext bytes with a TLS
    // alert record (0x15) instead, which is not an answer.
    let answer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      if (!tls && (answer[0] === 0x15 || answer[0] === 0x16)) {
        fail('KAFKA_TLS_FAILED', `broker ${broker} answered a plaintext request with TLS: the listener requires TLS; set KAFKA_SSL=true (and KAFKA_SSL_CA_FILE)`, ['KAFKA_SSL']);
        return;
      }
      if (answer.length < 8) return;
      if (answer.readInt32BE(4) === 1) done({ ok: true });
      else fail('KAFKA_TLS_FAILED', `broker ${broker} answered with something that is not a Kafka response: is KAFKA_BROKERS a Kafka listener?`, ['KAFKA_BROKERS']);
    });
    socket.setTimeout(timeoutMs, () => {
      if (!connected) done({ ok: false, unreachable: true, reason: `no answer within ${timeoutMs} ms` });
      else if (tls) fail('KAFKA_TLS_FAILED', `broker ${broker} accepted the TLS connection but did not answer: is it a TLS listener? (KAFKA_BROKERS, KAFKA_SSL)`, ['KAFKA_BROKERS', 'KAFKA_SSL']);
      else fail('KAFKA_TLS_FAILED', `broker ${broker} did not answer a plaintext request: the listener may require TLS; set KAFKA_SSL=true (and KAFKA_SSL_CA_FILE)`, ['KAFKA_SSL']);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(code) && !connected) {
        done({ ok: false, unreachable: true, reason: code });
      } else if (UNTRUSTED.has(code)) {
        fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the broker's certificate is not trusted (${code}); set KAFKA_SSL_CA_FILE to the PEM of the CA that signed it`, ['KAFKA_SSL_CA_FILE']);
      } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the broker's certificate is not valid for host "${host}"; use a host name in its certificate in KAFKA_BROKERS`, ['KAFKA_BROKERS']);
      } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
        fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the broker's certificate is not valid now (${code})`, ['KAFKA_BROKERS']);
      } else if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN/i.test(code) && tls) {
        const have = tls.cert ? 'refused the client certificate in KAFKA_SSL_CERT_FILE (is it signed by a CA the broker trusts?)' : 'requires a client certificate (mTLS); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE';
        fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the broker ${have} (${code})`, tls.cert ? ['KAFKA_SSL_CERT_FILE'] : ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
      } else if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER/i.test(code) || /wrong version number|packet length too long/i.test(e.message)) {
        fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the listener does not speak TLS; unset KAFKA_SSL or use the broker's TLS port in KAFKA_BROKERS`, ['KAFKA_SSL', 'KAFKA_BROKERS']);
      } else if (tls && tcpUp && !connected && (code === 'ECONNRESET' || code === 'EPIPE')) {
        notTls();
      } else if (!tls && (code === 'ECONNRESET' || code === 'EPIPE')) {
        fail('KAFKA_TLS_FAILED', `broker ${broker} closed a plaintext connection: the listener probably requires TLS; set KAFKA_SSL=true (and KAFKA_SSL_CA_FILE)`, ['KAFKA_SSL']);
      } else if (connected) {
        fail('KAFKA_TLS_FAILED', `connection to broker ${broker} failed: ${code || e.message}`, ['KAFKA_BROKERS', 'KAFKA_SSL']);
      } else {
        done({ ok: false, unreachable: true, reason: code || e.message });
      }
    });
    socket.on('close', () => {
      if (settled) return;
      if (tls && tcpUp && !connected) notTls();
      else if (!connected) done({ ok: false, unreachable: true, reason: 'closed' });
      else if (tls) fail('KAFKA_TLS_FAILED', `TLS to broker ${broker}: the broker closed the connection after the handshake${tls.cert ? '' : ': it may require a client certificate (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)'}`, tls.cert ? ['KAFKA_SSL_CERT_FILE'] : ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
      else fail('KAFKA_TLS_FAILED', `broker ${broker} closed a plaintext connection: the listener probably requires TLS; set KAFKA_SSL=true (and KAFKA_SSL_CA_FILE)`, ['KAFKA_SSL']);
    });
  });
}

/**
 * Probes the brokers in order: the first one that answers decides. A definite misconfiguration throws;
 * if none is reachable, nothing is decided (the broker may be starting: the client's reconnects take over).
 */
export async function checkTransport(conn: ConnectionConfig): Promise<void> {
  for (const b of conn.brokers) {
    const r = await probeBroker(conn, b);
    if (!r.ok && !r.unreachable) throw r.error;
    if (!r.ok) continue;
    if (conn.sasl) await checkSasl({ ...conn, sasl: conn.sasl }, b);
    return;
  }
}

/** One login with the configured SASL credentials (sasl-probe.ts): a refused one names the variables. */
async function checkSasl(conn: ConnectionConfig & { sasl: SaslConfig }, broker: string): Promise<void> {
  const r = await probeSasl(conn, broker);
  if (r.ok || r.code === 'UNREACHABLE') return; // the client's own connection decides then
  if (r.code === 'UNSUPPORTED_SASL_MECHANISM') {
    throw new ServiceError('KAFKA_AUTH_FAILED', `the broker does not accept SASL mechanism ${conn.sasl.mechanism.toUpperCase()} (it enables ${r.enabled.join(', ') || 'none'}): set KAFKA_SASL_MECHANISM to one it enables`, false, { broker, variables: ['KAFKA_SASL_MECHANISM'] });
  }
  throw new ServiceError('KAFKA_AUTH_FAILED', `SASL authentication as "${conn.sasl.username}" (${conn.sasl.mechanism.toUpperCase()}) failed: the broker rejected the credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM)`, false, {
    broker,
    variables: ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_MECHANISM'],
  });
}

function groupNotAuthorized(principal: string, group: string | undefined): ServiceError {
  return new ServiceError('KAFKA_NOT_AUTHORIZED', `User:${principal} is not authorized to use consumer group ${group ?? '(unknown)'}; grant it in infra/acls.json (make acls)`, false, { principal, group });
}

/** Turns a Kafka client error into one of ours with a message naming the cause, or returns undefined. Reads librdkafka's error codes only. */
export function explainKafkaError(e: unknown, conn: ConnectionConfig, what: { topic?: string; group?: string; transactionalId?: string } = {}): ServiceError | undefined {
  const codes = new Set(kafkaErrorCodes(e));
  const principal = principalOf(conn);
  if (codes.has('UNSUPPORTED_SASL_MECHANISM')) {
    return new ServiceError('KAFKA_AUTH_FAILED', `the broker does not accept SASL mechanism ${conn.sasl?.mechanism ?? '(none)'}: set KAFKA_SASL_MECHANISM to one it enables`, false, { variables: ['KAFKA_SASL_MECHANISM'] });
  }
  if (codes.has('_AUTHENTICATION') || codes.has('SASL_AUTHENTICATION_FAILED')) {
    const who = conn.sasl ? `"${conn.sasl.username}" (${conn.sasl.mechanism.toUpperCase()})` : 'this client';
    return new ServiceError('KAFKA_AUTH_FAILED', `SASL authentication as ${who} failed: the broker rejected the credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM)`, false, {
      variables: ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_MECHANISM'],
    });
  }
  const grant = 'grant it in infra/acls.json (make acls)';
  if (codes.has('TOPIC_AUTHORIZATION_FAILED')) return new ServiceError('KAFKA_NOT_AUTHORIZED', `User:${principal} is not authorized for topic ${what.topic ?? '(unknown)'}; ${grant}`, false, { principal, topic: what.topic });
  if (codes.has('GROUP_AUTHORIZATION_FAILED')) return groupNotAuthorized(principal, what.group);
  if (codes.has('TRANSACTIONAL_ID_AUTHORIZATION_FAILED')) {
    return new ServiceError('KAFKA_NOT_AUTHORIZED', `User:${principal} is not authorized to use transactional id ${what.transactionalId ?? '(unknown)'}; ${grant}`, false, { principal, transactionalId: what.transactionalId });
  }
  if (codes.has('CLUSTER_AUTHORIZATION_FAILED')) return new ServiceError('KAFKA_NOT_AUTHORIZED', `User:${principal} is not authorized for this cluster operation (e.g. IDEMPOTENT_WRITE or CREATE); ${grant}`, false, { principal });
  return undefined;
}

export interface ClusterNeeds {
  /** Topic names by role (the service's TopicNames). */
  readonly names: Readonly<Record<string, string>>;
  readonly roles: readonly string[];
  /** Consumer groups it commits offsets to (checked with a FindCoordinator: the group's Describe ACL). */
  readonly groups?: readonly string[];
}

/**
 * Authenticates, then checks each topic exists and is visible to this principal and each group is
 * accessible. `createVar` names the variable that would have created a missing topic.
 */
export async function checkAccess(kafka: KafkaClient, conn: ConnectionConfig, needs: ClusterNeeds, createVar: string): Promise<void> {
  const admin = kafka.admin();
  try {
    try {
      await admin.listTopics(15_000);
    } catch (e) {
      throw explainKafkaError(e, conn) ?? e;
    }
    for (const role of needs.roles) {
      const topic = needs.names[role] ?? topicDefinition(role).name;
      // On a multi-broker cluster a topic just created (by this service or an admin) reaches each broker's
      // metadata a moment later: an unknown topic is asked again for TOPIC_VISIBLE_WITHIN_MS before it is missing.
      let cause: unknown;
      await pollUntil(async () => {
        try {
          await admin.describeTopics([topic], 10_000);
          cause = undefined;
          return true;
        } catch (e) {
          cause = e;
          return !kafkaErrorCodes(e).includes('UNKNOWN_TOPIC_OR_PART'); // another error: report it now
        }
      }, TOPIC_VISIBLE_WITHIN_MS);
      if (cause === undefined) continue;
      const explained = explainKafkaError(cause, conn, { topic });
      if (explained) throw new ServiceError(explained.code, `${explained.message} (role ${role}, ${topicDefinition(role).env})`, false, { ...explained.context, role });
      throw new ServiceError('TOPIC_MISSING', `topic ${topic} (role ${role}, ${topicDefinition(role).env}) does not exist; create it as an admin (from infra/topics.json) or set ${createVar}=true`, false, { topic, role, variables: [topicDefinition(role).env, createVar] }, { cause });
    }
    for (const group of needs.groups ?? []) {
      // A refused group by its protocol error code (sasl-probe.ts); an unreachable broker is the client's to report.
      const r = await probeGroup(conn, conn.brokers[0]!, group);
      if (!r.ok && r.code === 'GROUP_AUTHORIZATION_FAILED') throw groupNotAuthorized(principalOf(conn), group);
    }
  } finally {
    admin.disconnect();
  }
}
