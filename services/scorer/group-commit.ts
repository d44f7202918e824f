/**
 * Group commit: chunks from several partitions, processed concurrently, share one commit. A chunk that
 * arrives while a commit is in flight waits for the next one, which takes everything that queued up
 * meanwhile — so the commit cost (a Kafka transaction's round trips) is paid once per group instead of
 * once per partition, and scoring of one partition overlaps the commit of another.
 *
 * Pure coordination: the commit itself is the function passed in.
 */
import { mergeTopicMessages, type OffsetToCommit, type TopicMessages } from '../shared/kafka/messages.ts';

export type { OffsetToCommit, TopicMessages };

export type CommitFn = (messages: TopicMessages[], offsets: OffsetToCommit[]) => Promise<void>;

interface Pending {
  readonly messages: readonly TopicMessages[];
  readonly offsets: readonly OffsetToCommit[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
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
