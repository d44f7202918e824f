/**
 * What the services send and commit, in the adapter's own plain types: messages per topic and the next
 * offsets to commit (with optional metadata: the drift monitor keeps its window checkpoints there).
 * librdkafka batches and sizes produce requests itself (message.max.bytes), so nothing is chunked here.
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
  /** Stored with the committed offset (the drift monitor keeps its window checkpoints there). */
  readonly metadata?: string;
}
