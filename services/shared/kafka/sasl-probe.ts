/**
 * One SASL authentication against a broker at start-up, outside the Kafka client: SaslHandshake (v1) then
 * SaslAuthenticate (v1) with PLAIN or SCRAM-SHA-256/512 (RFC 5802), read by the broker's protocol error
 * codes (33 UNSUPPORTED_SASL_MECHANISM, 58 SASL_AUTHENTICATION_FAILED).
 *
 * Why here: librdkafka reports a refused login only as a client-level error event, and the Node binding
 * passes those events on without their error code (only the text), so the adapter could not tell
 * "wrong password" from "broker down" by code. This probe makes that one distinction before the client
 * starts; everything after it is read from the client's own error codes.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionConfig, SaslConfig } from './connection.ts';

export type SaslProbeOutcome = { ok: true } | { ok: false; code: 'UNSUPPORTED_SASL_MECHANISM'; enabled: string[] } | { ok: false; code: 'SASL_AUTHENTICATION_FAILED'; message: string } | { ok: false; code: 'UNREACHABLE'; message: string };

const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

/** A Kafka request (header v1: api key, version, correlation id, client id) with `body`. */
export function kafkaRequest(apiKey: number, version: number, correlationId: number, clientId: string, body: Buffer): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(id.length, 8);
  const payload = Buffer.concat([header, id, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length, 0);
  return Buffer.concat([len, b]);
};
const bytes = (b: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
};

/** SaslHandshake v1 response: error code and the broker's enabled mechanisms. */
export function parseHandshake(r: Buffer): { errorCode: number; mechanisms: string[] } {
  let o = 4; // correlation id
  const errorCode = r.readInt16BE(o);
  o += 2;
  const n = r.readInt32BE(o);
  o += 4;
  const mechanisms: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = r.readInt16BE(o);
    o += 2;
    mechanisms.push(r.toString('utf8', o, o + len));
    o += len;
  }
  return { errorCode, mechanisms };
}

/** SaslAuthenticate v1 response: error code, message, the server's SASL bytes. */
export function parseAuthenticate(r: Buffer): { errorCode: number; message?: string; authBytes: Buffer } {
  let o = 4;
  const errorCode = r.readInt16BE(o);
  o += 2;
  const mlen = r.readInt16BE(o);
  o += 2;
  const message = mlen >= 0 ? r.toString('utf8', o, o + mlen) : undefined;
  o += Math.max(0, mlen);
  const blen = r.readInt32BE(o);
  o += 4;
  return { errorCode, ...(message ? { message } : {}), authBytes: r.subarray(o, o + Math.max(0, blen)) };
}

const saslName = (u: string) => u.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** The SCRAM client of RFC 5802 as pure steps (tested against RFC 7677's SHA-256 example). */
export function scramClientFirst(user: string, nonce: string): { message: string; bare: string } {
  const bare = `n=${saslName(user)},r=${nonce}`;
  return { message: `n,,${bare}`, bare };
}

export function scramClientFinal(hash: 'sha256' | 'sha512', password: string, clientFirstBare: string, serverFirst: string, clientNonce: string): string {
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
  const nonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(clientNonce) || !Number.isInteger(iterations) || iterations < 1) throw new Error(`malformed SCRAM server-first message`);
  const keyLen = hash === 'sha256' ? 32 : 64;
  const salted = pbkdf2Sync(password, salt, iterations, keyLen, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const signature = createHmac(hash, storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  return `${withoutProof},p=${proof.toString('base64')}`;
}

/** A socket that answers one Kafka response per request, in order. */
class FramedSocket {
  private buf = Buffer.alloc(0);
  private waiting?: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.deliver();
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.waiting?.reject(e);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  private deliver(): void {
    if (!this.waiting || this.buf.length < 4) return;
    const size = this.buf.readInt32BE(0);
    if (this.buf.length < 4 + size) return;
    const frame = this.buf.subarray(4, 4 + size);
    this.buf = this.buf.subarray(4 + size);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve(frame);
  }

  request(frame: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(frame);
      this.deliver();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function open(conn: ConnectionConfig, broker: string, timeoutMs: number): Promise<FramedSocket> {
  const host = broker.slice(0, broker.lastIndexOf(':'));
  const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const tls = conn.ssl;
    const socket: Socket = tls
      ? tlsConnect({ host, port, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key, passphrase: tls.passphrase } : {}), ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) }, () => resolve(new FramedSocket(socket)))
      : netConnect({ host, port }, () => resolve(new FramedSocket(socket)));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', reject);
  });
}

/** Logs in once as `sasl` on `broker`: ok, the mechanism is not enabled, or the credentials are refused. */
export function probeSasl(conn: ConnectionConfig & { sasl: SaslConfig }, broker: string, timeoutMs = 10_000): Promise<SaslProbeOutcome> {
  return withSocket(conn, broker, timeoutMs, (s) => login(s, conn));
}

/** Runs `fn` on a new connection to `broker`, closed after; a broker that cannot be reached is UNREACHABLE. */
async function withSocket<T>(conn: ConnectionConfig, broker: string, timeoutMs: number, fn: (s: FramedSocket) => Promise<T>): Promise<T | { ok: false; code: 'UNREACHABLE'; message: string }> {
  let s: FramedSocket;
  try {
    s = await open(conn, broker, timeoutMs);
  } catch (e) {
    return { ok: false, code: 'UNREACHABLE', message: (e as Error).message };
  }
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

async function login(s: FramedSocket, conn: ConnectionConfig & { sasl: SaslConfig }): Promise<SaslProbeOutcome> {
  const mechanism = conn.sasl.mechanism.toUpperCase();
  try {
    const hs = parseHandshake(await s.request(kafkaRequest(SASL_HANDSHAKE, 1, 1, conn.clientId, str(mechanism))));
    if (hs.errorCode === 33) return { ok: false, code: 'UNSUPPORTED_SASL_MECHANISM', enabled: hs.mechanisms };
    if (hs.errorCode !== 0) return { ok: false, code: 'UNREACHABLE', message: `SaslHandshake error ${hs.errorCode}` };
    const authenticate = async (payload: string) => parseAuthenticate(await s.request(kafkaRequest(SASL_AUTHENTICATE, 1, 2, conn.clientId, bytes(Buffer.from(payload, 'utf8')))));
    const refused = (r: { errorCode: number; message?: string }): SaslProbeOutcome | undefined =>
      r.errorCode === 58 ? { ok: false, code: 'SASL_AUTHENTICATION_FAILED', message: r.message ?? 'authentication failed' } : r.errorCode !== 0 ? { ok: false, code: 'UNREACHABLE', message: `SaslAuthenticate error ${r.errorCode}` } : undefined;
    if (mechanism === 'PLAIN') return refused(await authenticate(`\u0000${conn.sasl.username}\u0000${conn.sasl.password}`)) ?? { ok: true };
    const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    const nonce = randomBytes(18).toString('base64');
    const first = scramClientFirst(conn.sasl.username, nonce);
    const r1 = await authenticate(first.message);
    const f1 = refused(r1);
    if (f1) return f1;
    const r2 = await authenticate(scramClientFinal(hash, conn.sasl.password, first.bare, r1.authBytes.toString('utf8'), nonce));
    return refused(r2) ?? { ok: true };
  } catch (e) {
    return { ok: false, code: 'UNREACHABLE', message: (e as Error).message };
  }
}

const FIND_COORDINATOR = 10;
/** Kafka's protocol error codes a FindCoordinator answers while a fresh cluster creates __consumer_offsets. */
const COORDINATOR_NOT_READY = new Set([14, 15]); // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE

/** FindCoordinator v1 response: its error code (throttle time first). */
export function parseFindCoordinator(r: Buffer): { errorCode: number } {
  return { errorCode: r.readInt16BE(4 + 4) };
}

export type GroupProbeOutcome = { ok: true } | { ok: false; code: 'GROUP_AUTHORIZATION_FAILED' } | { ok: false; code: 'UNREACHABLE'; message: string };

/**
 * Whether this principal may use consumer group `group`: a FindCoordinator for it (after the SASL login
 * when configured), which the broker authorizes with the group's Describe ACL and answers with error 30
 * GROUP_AUTHORIZATION_FAILED when it is missing. Outside the client for the same reason as the login
 * check: refused by the coordinator, the binding's consumer only times out, and its AdminClient's group
 * calls crash the process (SIGSEGV) while a fresh cluster has no group coordinator yet. Asked again while
 * the coordinator is loading, within `timeoutMs`.
 */
export function probeGroup(conn: ConnectionConfig, broker: string, group: string, timeoutMs = 15_000): Promise<GroupProbeOutcome> {
  return withSocket(conn, broker, timeoutMs, async (s): Promise<GroupProbeOutcome> => {
    try {
      if (conn.sasl) {
        const l = await login(s, { ...conn, sasl: conn.sasl });
        if (!l.ok) return { ok: false, code: 'UNREACHABLE', message: `SASL login: ${l.code}` };
      }
      const deadline = Date.now() + timeoutMs;
      for (let id = 3, wait = 100; ; id++, wait = Math.min(1000, wait * 2)) {
        const body = Buffer.concat([str(group), Buffer.from([0])]); // key, key type 0 = group
        const { errorCode } = parseFindCoordinator(await s.request(kafkaRequest(FIND_COORDINATOR, 1, id, conn.clientId, body)));
        if (errorCode === 0) return { ok: true };
        if (errorCode === 30) return { ok: false, code: 'GROUP_AUTHORIZATION_FAILED' };
        if (!COORDINATOR_NOT_READY.has(errorCode) || Date.now() + wait > deadline) return { ok: false, code: 'UNREACHABLE', message: `FindCoordinator error ${errorCode}` };
        await new Promise((r) => setTimeout(r, wait));
      }
    } catch (e) {
      return { ok: false, code: 'UNREACHABLE', message: (e as Error).message };
    }
  });
}
