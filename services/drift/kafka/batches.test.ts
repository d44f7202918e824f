import { describe, expect, it } from 'vitest';
import type { ConsumedMessage } from '../../shared/kafka/consumer.ts';
import { assignmentRecord } from './group-consumer.ts';
import { byPartition } from './instance.ts';

const m = (topic: string, partition: number, offset: number): ConsumedMessage => ({ topic, partition, offset, key: null, value: null, timestamp: 0 });

describe('batches across partitions (the adapter hands over one batch for all assigned partitions)', () => {
  it('splits a batch per topic-partition, keeping offset order and first-seen order', () => {
    const parts = byPartition([m('log', 1, 10), m('log', 0, 5), m('out', 1, 3), m('log', 1, 11), m('log', 0, 6), m('out', 1, 4)]);
    expect(parts.map((p) => [p.topic, p.partition, p.messages.map((x) => x.offset)])).toEqual([
      ['log', 1, [10, 11]],
      ['log', 0, [5, 6]],
      ['out', 1, [3, 4]],
    ]);
  });
  it('turns an assignment into sorted partitions per topic', () => {
    expect(assignmentRecord([{ topic: 'log', partition: 2 }, { topic: 'out', partition: 2 }, { topic: 'log', partition: 0 }])).toEqual({ log: [0, 2], out: [2] });
    expect(assignmentRecord([])).toEqual({});
  });
});
