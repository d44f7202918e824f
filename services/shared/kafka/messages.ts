/**
 * Outgoing messages and the one chunker: every producer in the services sends through splitBySize, so no
 * request carries a record batch the broker refuses (max.message.bytes, 1 MiB by default).
 */
import type { Generation } from './kip447.ts';

export interface OutgoingMessage {
  readonly key: string | Buffer | null;
  readonly value: Buffer;
}
export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}
export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume. */
  readonly offset: string;
  /** Stored with the committed offset (the drift monitor keeps its window checkpoints there). */
  readonly metadata?: string;
  /** The consumer generation the consumed records were fetched under (kip447.ts generationOf). */
  readonly generation?: Generation;
}

/** The default bound of one send: half the broker's default max.message.bytes. */
export const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

/** Merges message lists per topic, keeping order within each topic. */
export function mergeTopicMessages(groups: readonly (readonly TopicMessages[])[]): TopicMessages[] {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const g of groups) {
    for (const tm of g) {
      if (tm.messages.length === 0) continue;
      const list = byTopic.get(tm.topic) ?? [];
      list.push(...tm.messages);
      byTopic.set(tm.topic, list);
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** Approximate wire size of a message (key + value + per-record overhead). */
export function messageBytes(m: OutgoingMessage): number {
  return (m.key === null ? 0 : typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length) + m.value.length + 24;
}

/**
 * Splits messages into consecutive sends of at most `maxBytes` each, keeping order within every topic.
 * kafkajs writes one record batch per partition per request, and the broker refuses a batch over its
 * max.message.bytes (1 MiB by default), so one transaction sends several bounded requests.
 */
export function splitBySize(topicMessages: readonly TopicMessages[], maxBytes: number = DEFAULT_MAX_REQUEST_BYTES): TopicMessages[][] {
  const sends: TopicMessages[][] = [];
  let current = new Map<string, OutgoingMessage[]>();
  let size = 0;
  const flush = () => {
    if (current.size > 0) sends.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    size = 0;
  };
  for (const tm of topicMessages) {
    for (const m of tm.messages) {
      const b = messageBytes(m);
      if (size > 0 && size + b > maxBytes) flush();
      const list = current.get(tm.topic) ?? [];
      list.push(m);
      current.set(tm.topic, list);
      size += b;
    }
  }
  flush();
  return sends;
}
