/**
 * KIP-447 for kafkajs 2.2.4: zombie-safe transactional offset commits.
 *
 * kafkajs sends TxnOffsetCommit v0/v1, which carry no consumer-group generation: the group coordinator
 * accepts offsets from any producer, however stale its view of the group. This module adds, for the pinned
 * kafkajs version only (like kafkajs-patch.ts):
 *
 * - TxnOffsetCommit v3 (flexible): generation id, member id and (null) group instance id of the consumer
 *   generation a batch was fetched under. A thawed zombie whose partitions moved on gets ILLEGAL_GENERATION
 *   or UNKNOWN_MEMBER_ID (FENCED_INSTANCE_ID with static membership): its transaction is aborted.
 * - OffsetFetch v7 (flexible) with require_stable=true: the new owner of a partition does not read its
 *   committed offset while a transaction that commits offsets for it is still pending; the broker answers
 *   UNSTABLE_OFFSET_COMMIT (code 88, retriable in kafkajs) until that transaction completes.
 * - A record of the generation each fetched batch was fetched under (generationOf(batch)), and
 *   withGeneration(topics, generation), the carrier that hands it to the TxnOffsetCommit request through
 *   kafkajs' transaction.sendOffsets (which passes its `topics` array through unchanged).
 *
 * Both versions are registered in kafkajs' request tables; its lookupRequest picks the highest version the
 * broker supports, and a broker without them keeps getting the versions kafkajs implements.
 *
 * Flexible versions (KIP-482): the request header v2 is header v1 plus an empty tagged-field buffer — kafkajs
 * writes header v1, so the payload starts with that buffer; the response header v1 is the correlation id plus
 * tagged fields — kafkajs consumes the correlation id, so the payload starts with the tagged fields.
 */
import { createRequire } from 'node:module';

export const KIP447_KAFKAJS_VERSION = '2.2.4';
export const TXN_OFFSET_COMMIT_VERSION = 3;
export const OFFSET_FETCH_STABLE_VERSION = 7;

/** The consumer generation a batch was fetched under. generationId -1 with memberId '' = no check. */
export interface Generation {
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export const NO_GENERATION: Generation = Object.freeze({ generationId: -1, memberId: '', groupInstanceId: null });

const require = createRequire(import.meta.url);

interface KEncoder {
  writeInt16(v: number): KEncoder;
  writeInt32(v: number): KEncoder;
  writeInt64(v: string | number | bigint): KEncoder;
  writeBoolean(v: boolean): KEncoder;
  writeUVarInt(v: number): KEncoder;
  writeUVarIntString(v: string | null): KEncoder;
  writeUVarIntArray(v: KEncoder[] | null, type?: 'object'): KEncoder;
  writeBuffer(v: Buffer): KEncoder;
  buffer: Buffer;
}
interface KDecoder {
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readUVarInt(): number;
  readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (d: KDecoder) => T): T[] | null;
  readTaggedFields(): unknown;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KEncoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KDecoder;
const { failure, createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  failure: (code: number) => boolean;
  createErrorFromCode: (code: number) => Error;
};
const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js') as Record<string, number>;

// ---------------------------------------------------------------------------------------------------------
// Generation carrier

const GENERATION = Symbol('kip447.generation');
const fetchedUnder = new WeakMap<object, Generation>();

/** The generation the batch was fetched under (NO_GENERATION if unknown, e.g. another kafkajs version). */
export function generationOf(batch: object): Generation {
  return fetchedUnder.get(batch) ?? NO_GENERATION;
}

/** Attaches the generation to the `topics` array passed to transaction.sendOffsets. */
export function withGeneration<T extends object[]>(topics: T, generation: Generation): T {
  Object.defineProperty(topics, GENERATION, { value: generation, enumerable: false });
  return topics;
}

/** Of several batches' generations, the one to send: the oldest (a mixed group is then rejected, never wrongly accepted). */
export function oldestGeneration(gens: readonly Generation[]): Generation {
  let out: Generation | undefined;
  for (const g of gens) if (!out || g.generationId < out.generationId || (g.generationId === out.generationId && g.memberId !== out.memberId)) out = g;
  return out ?? NO_GENERATION;
}

/** Protocol errors that mean "this instance no longer owns what it fetched": abort, drop the work, rejoin. */
export const FENCED_COMMIT_ERRORS: ReadonlySet<string> = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

// ---------------------------------------------------------------------------------------------------------
// TxnOffsetCommit v3

export interface TxnOffsetCommitArgs {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: string | number;
  readonly producerEpoch: number;
  readonly topics: readonly { topic: string; partitions: readonly { partition: number; offset: string; metadata?: string | null }[] }[];
}

export function encodeTxnOffsetCommitV3(args: TxnOffsetCommitArgs, generation: Generation): Buffer {
  const topics = args.topics.map(({ topic, partitions }) =>
    new Encoder()
      .writeUVarIntString(topic)
      .writeUVarIntArray(
        partitions.map((p) =>
          new Encoder()
            .writeInt32(p.partition)
            .writeInt64(p.offset)
            .writeInt32(-1) // committed_leader_epoch: unknown
            .writeUVarIntString(p.metadata ?? null)
            .writeUVarInt(0),
        ),
        'object',
      )
      .writeUVarInt(0),
  );
  return new Encoder()
    .writeUVarInt(0) // request header v2 tagged fields
    .writeUVarIntString(args.transactionalId)
    .writeUVarIntString(args.groupId)
    .writeInt64(args.producerId)
    .writeInt16(args.producerEpoch)
    .writeInt32(generation.generationId)
    .writeUVarIntString(generation.memberId)
    .writeUVarIntString(generation.groupInstanceId)
    .writeUVarIntArray(topics, 'object')
    .writeUVarInt(0).buffer;
}

export interface TxnOffsetCommitResponse {
  throttleTime: number;
  clientSideThrottleTime: number;
  topics: { topic: string; partitions: { partition: number; errorCode: number }[] }[];
}

export function decodeTxnOffsetCommitV3(raw: Buffer): TxnOffsetCommitResponse {
  const d = new Decoder(raw);
  d.readTaggedFields(); // response header v1
  const throttleTime = d.readInt32();
  const topics =
    d.readUVarIntArray((t) => {
      const topic = t.readUVarIntString() ?? '';
      const partitions =
        t.readUVarIntArray((p) => {
          const r = { partition: p.readInt32(), errorCode: p.readInt16() };
          p.readTaggedFields();
          return r;
        }) ?? [];
      t.readTaggedFields();
      return { topic, partitions };
    }) ?? [];
  d.readTaggedFields();
  return { throttleTime: 0, clientSideThrottleTime: throttleTime, topics };
}

function parseTxnOffsetCommit(data: TxnOffsetCommitResponse): TxnOffsetCommitResponse {
  for (const t of data.topics) for (const p of t.partitions) if (failure(p.errorCode)) throw createErrorFromCode(p.errorCode);
  return data;
}

// ---------------------------------------------------------------------------------------------------------
// OffsetFetch v7 (require_stable)

export interface OffsetFetchArgs {
  readonly groupId: string;
  readonly topics: readonly { topic: string; partitions: readonly { partition: number }[] }[] | null;
}

/**
 * Marks the topic list of an OffsetFetch sent by a consumer (its start position after an assignment) as
 * needing stable offsets. Other readers of committed offsets (admin.fetchOffsets: lag monitoring, tests)
 * want the last committed offset even while a transaction is pending, not UNSTABLE_OFFSET_COMMIT.
 */
const REQUIRE_STABLE = Symbol('kip447.requireStable');
export function markRequireStable<T extends object>(topics: T): T {
  (topics as Record<symbol, boolean>)[REQUIRE_STABLE] = true;
  return topics;
}
export function requiresStable(topics: unknown): boolean {
  return typeof topics === 'object' && topics !== null && (topics as Record<symbol, boolean>)[REQUIRE_STABLE] === true;
}

export function encodeOffsetFetchV7(args: OffsetFetchArgs, requireStable = requiresStable(args.topics)): Buffer {
  const topics =
    args.topics === null || args.topics.length === 0
      ? null // kafkajs: an empty list means all topics
      : args.topics.map(({ topic, partitions }) => {
          const e = new Encoder().writeUVarIntString(topic).writeUVarInt(partitions.length + 1);
          for (const p of partitions) e.writeInt32(p.partition);
          return e.writeUVarInt(0);
        });
  const e = new Encoder()
    .writeUVarInt(0) // request header v2 tagged fields
    .writeUVarIntString(args.groupId);
  if (topics === null) e.writeUVarInt(0);
  else e.writeUVarIntArray(topics, 'object');
  return e
    .writeBoolean(requireStable)
    .writeUVarInt(0).buffer;
}

export interface OffsetFetchResponse {
  throttleTime: number;
  clientSideThrottleTime: number;
  responses: { topic: string; partitions: { partition: number; offset: string; metadata: string | null; errorCode: number }[] }[];
  errorCode: number;
}

export function decodeOffsetFetchV7(raw: Buffer): OffsetFetchResponse {
  const d = new Decoder(raw);
  d.readTaggedFields(); // response header v1
  const throttleTime = d.readInt32();
  const responses =
    d.readUVarIntArray((t) => {
      const topic = t.readUVarIntString() ?? '';
      const partitions =
        t.readUVarIntArray((p) => {
          const partition = p.readInt32();
          const offset = p.readInt64().toString();
          p.readInt32(); // committed_leader_epoch
          const metadata = p.readUVarIntString();
          const errorCode = p.readInt16();
          p.readTaggedFields();
          return { partition, offset, metadata, errorCode };
        }) ?? [];
      t.readTaggedFields();
      return { topic, partitions };
    }) ?? [];
  const errorCode = d.readInt16();
  d.readTaggedFields();
  return { throttleTime: 0, clientSideThrottleTime: throttleTime, responses, errorCode };
}

function parseOffsetFetch(data: OffsetFetchResponse): OffsetFetchResponse {
  if (failure(data.errorCode)) throw createErrorFromCode(data.errorCode);
  for (const t of data.responses) for (const p of t.partitions) if (failure(p.errorCode)) throw createErrorFromCode(p.errorCode);
  return data;
}

// ---------------------------------------------------------------------------------------------------------
// Installation into kafkajs

interface KafkaRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode: () => Promise<KEncoder>;
}
interface RequestDefinition {
  versions: string[];
  protocol: (o: { version: number }) => ((args: never) => { request: KafkaRequest; response: unknown }) | undefined;
}

/** A pre-encoded payload as the kafkajs Encoder its request writer expects from encode(). */
function payload(buf: Buffer): KEncoder {
  return new Encoder().writeBuffer(buf);
}

function register(def: RequestDefinition, version: number, build: (args: never) => { request: KafkaRequest; response: unknown }): void {
  const original = def.protocol.bind(def);
  const implemented = [...def.versions.map(Number), version].sort((a, b) => a - b);
  def.versions = implemented.map(String);
  // lookupRequest asks for min(best implemented, broker max): fall back to the highest implemented <= that.
  def.protocol = ({ version: asked }) => {
    const v = Math.max(...implemented.filter((i) => i <= asked));
    return v === version ? build : original({ version: v });
  };
}

function install(): boolean {
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== KIP447_KAFKAJS_VERSION) return false;
  const txnDef = require('kafkajs/src/protocol/requests/txnOffsetCommit/index.js') as RequestDefinition;
  if (txnDef.versions.includes(String(TXN_OFFSET_COMMIT_VERSION))) return true;
  register(txnDef, TXN_OFFSET_COMMIT_VERSION, ((args: TxnOffsetCommitArgs) => ({
    request: {
      apiKey: apiKeys.TxnOffsetCommit!,
      apiVersion: TXN_OFFSET_COMMIT_VERSION,
      apiName: 'TxnOffsetCommit',
      encode: async () => payload(encodeTxnOffsetCommitV3(args, (args.topics as unknown as Record<symbol, Generation>)[GENERATION] ?? NO_GENERATION)),
    },
    response: { decode: async (raw: Buffer) => decodeTxnOffsetCommitV3(raw), parse: async (d: TxnOffsetCommitResponse) => parseTxnOffsetCommit(d) },
  })) as never);
  const fetchDef = require('kafkajs/src/protocol/requests/offsetFetch/index.js') as RequestDefinition;
  register(fetchDef, OFFSET_FETCH_STABLE_VERSION, ((args: OffsetFetchArgs) => ({
    request: { apiKey: apiKeys.OffsetFetch!, apiVersion: OFFSET_FETCH_STABLE_VERSION, apiName: 'OffsetFetch', encode: async () => payload(encodeOffsetFetchV7(args)) },
    response: { decode: async (raw: Buffer) => decodeOffsetFetchV7(raw), parse: async (d: OffsetFetchResponse) => parseOffsetFetch(d) },
  })) as never);

  // Only the consumer's own position lookup (OffsetManager.resolveOffsets) asks for stable offsets.
  const OffsetManager = require('kafkajs/src/consumer/offsetManager/index.js') as { prototype: { getCoordinator: () => Promise<object> } };
  const getCoordinator = OffsetManager.prototype.getCoordinator;
  OffsetManager.prototype.getCoordinator = async function (this: unknown) {
    const broker = (await getCoordinator.call(this)) as { offsetFetch: (a: OffsetFetchArgs) => Promise<unknown> };
    return new Proxy(broker, {
      get(target, prop, receiver) {
        if (prop === 'offsetFetch') return (a: OffsetFetchArgs) => target.offsetFetch({ ...a, topics: a.topics ? markRequireStable([...a.topics]) : a.topics });
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
  };

  // Remember the generation each batch was fetched under (captured before the fetch request: if the group
  // moves on during the fetch, the older generation is sent and the commit is rejected, never wrongly accepted).
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: { fetch: (nodeId: number) => Promise<object[]> } };
  const fetch = ConsumerGroup.prototype.fetch;
  ConsumerGroup.prototype.fetch = async function (this: { generationId: number | null; memberId: string | null; groupInstanceId?: string | null }, nodeId: number) {
    const gen: Generation =
      this.generationId != null && this.memberId ? { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.groupInstanceId ?? null } : NO_GENERATION;
    const batches = await fetch.call(this, nodeId);
    for (const b of batches) fetchedUnder.set(b, gen);
    return batches;
  };
  return true;
}

export const kip447Installed = install();
