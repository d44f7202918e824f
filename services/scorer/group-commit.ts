/**
 * Group commit: chunks from several partitions, processed concurrently, share one commit. A chunk that
 * arrives while a commit is in flight waits for the next one, which takes everything that queued up
 * meanwhile — so the commit cost (a Kafka transaction's round trips) is paid once per group instead of
 * once per partition, and scoring of one partition overlaps the commit of another.
 *
 * Pure coordination: the commit itself is the function passed in.
 */
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
}

export type CommitFn = (messages: TopicMessages[], offsets: OffsetToCommit[]) => Promise<void>;

interface Pending {
  readonly messages: readonly TopicMessages[];
  readonly offsets: readonly OffsetToCommit[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

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
export function splitBySize(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
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

export class GroupCommitter {
  private queue: Pending[] = [];
  private running = false;
  /** Sizes of the groups committed, for instrumentation. */
  onGroup?: (chunks: number, messages: number) => void;

  constructor(private readonly commitFn: CommitFn) {}

  /** Resolves when a commit containing these messages and offsets succeeded; rejects if it failed. */
  commit(messages: readonly TopicMessages[], offsets: readonly OffsetToCommit[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, offsets, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    // Let chunks that finish in the same tick join the first group.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const messages = mergeTopicMessages(group.map((g) => g.messages));
      try {
        await this.commitFn(messages, group.flatMap((g) => g.offsets));
        this.onGroup?.(group.length, messages.reduce((n, t) => n + t.messages.length, 0));
        for (const g of group) g.resolve();
      } catch (e) {
        for (const g of group) g.reject(e);
      }
    }
    this.running = false;
  }
}
