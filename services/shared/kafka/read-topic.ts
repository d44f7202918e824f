/**
 * Reading a whole topic outside any consumer group (tools, replay, tests, the benchmark): every partition
 * assigned from its beginning, read_committed, nothing committed. It ends on events, not on time: when
 * every partition has reported its end (for read_committed: the last stable offset) after its last record,
 * and the caller's `until` holds for what was read; or at `timeoutMs` with what it has.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaClient } from './client.ts';
import type { ConsumedMessage } from './consumer.ts';
import { attachLog, baseConfig, call, KafkaConsumer, type NativeMessage } from './native.ts';

/** librdkafka's logical offset "the beginning of the partition". */
const OFFSET_BEGINNING = -2;

export interface ReadTopicOptions {
  /** Done once this holds and every partition is at its end (default: at the end). */
  readonly until?: (messages: readonly ConsumedMessage[]) => boolean;
  readonly timeoutMs?: number;
  /** read_uncommitted (sees records of open and aborted transactions too). */
  readonly uncommitted?: boolean;
  /** Start offsets per partition (default: the beginning). */
  readonly from?: ReadonlyMap<number, number>;
  /** Called for each record as it arrives (then `messages` in the result stays empty). */
  readonly onMessage?: (m: ConsumedMessage) => void;
}

export interface ReadTopicResult {
  readonly messages: ConsumedMessage[];
  /** True if it ended because every partition was read to its end and `until` held. */
  readonly complete: boolean;
}

export async function readTopic(client: KafkaClient, topic: string, opts: ReadTopicOptions = {}): Promise<ReadTopicResult> {
  const admin = client.admin();
  let partitions: number[];
  try {
    partitions = ((await admin.describeTopics([topic])).get(topic) ?? []).map((p) => p.partition);
  } finally {
    admin.disconnect();
  }
  const consumer = new KafkaConsumer(
    {
      ...baseConfig(client.conn, `${client.clientId}-reader`),
      'group.id': `reader-${randomUUID()}`,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': true,
      'isolation.level': opts.uncommitted ? 'read_uncommitted' : 'read_committed',
      'queued.max.messages.kbytes': 16_384,
    } as never,
    {},
  );
  attachLog(consumer, `reader ${topic}`);
  const messages: ConsumedMessage[] = [];
  // partition -> the end offset it reported. The binding emits a batch's 'partition.eof' events before its
  // consume callback (between the 'data' events), so a record invalidates an end only if it lies at or past it.
  const atEnd = new Map<number, number>();
  consumer.on('partition.eof', (e: { partition: number; offset: number }) => atEnd.set(e.partition, e.offset));
  await call((cb) => consumer.connect({ timeout: 30_000 }, (err) => cb(err, undefined)));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let complete = false;
  try {
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: opts.from?.get(partition) ?? OFFSET_BEGINNING })));
    consumer.setDefaultConsumeTimeout(100);
    const until = opts.until ?? (() => true);
    while (Date.now() < deadline) {
      const batch = await new Promise<NativeMessage[]>((resolve, reject) => consumer.consume(1000, (err, ms) => (err ? reject(err) : resolve(ms))));
      for (const m of batch) {
        if (m.offset >= (atEnd.get(m.partition) ?? Number.POSITIVE_INFINITY)) atEnd.delete(m.partition);
        const key = m.key === undefined || m.key === null ? null : typeof m.key === 'string' ? Buffer.from(m.key) : m.key;
        const msg: ConsumedMessage = { topic: m.topic, partition: m.partition, offset: m.offset, key, value: m.value ?? null, timestamp: m.timestamp ?? 0 };
        if (opts.onMessage) opts.onMessage(msg);
        else messages.push(msg);
      }
      await new Promise((r) => setImmediate(r));
      if (batch.length === 0 && atEnd.size === partitions.length && until(messages)) {
        complete = true;
        break;
      }
    }
  } finally {
    await call((cb) => consumer.disconnect((err) => cb(err, undefined))).catch(() => undefined);
  }
  return { messages, complete };
}
