import { describe, expect, it } from 'vitest';
import { copartitionMismatch, rangeAssignment } from './copartition.ts';

describe('co-partitioning under the range assignor', () => {
  const topics = [
    { topic: 'scoring-log', partitions: 6 },
    { topic: 'loan-outcomes', partitions: 6 },
  ];
  it('gives partition p of two topics with equal partition counts to the same member, every partition exactly once', () => {
    for (const n of [1, 2, 3, 4, 5, 7]) {
      const members = Array.from({ length: n }, (_, i) => `rdkafka-${(i * 37) % 101}`);
      const a = rangeAssignment(members, topics);
      for (const t of topics) expect([...a.values()].flatMap((x) => x[t.topic] ?? []).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      for (const x of a.values()) expect(copartitionMismatch(x, 'scoring-log', 'loan-outcomes')).toBeUndefined();
    }
  });
  it('spreads partitions evenly in contiguous ranges', () => {
    const a = rangeAssignment(['b', 'a'], topics);
    expect(a.get('a')!['scoring-log']).toEqual([0, 1, 2]);
    expect(a.get('b')!['scoring-log']).toEqual([3, 4, 5]);
  });
  it('unequal partition counts break co-partitioning, and the check says where', () => {
    const a = rangeAssignment(['a', 'b'], [{ topic: 'scoring-log', partitions: 6 }, { topic: 'loan-outcomes', partitions: 4 }]);
    expect(copartitionMismatch(a.get('a')!, 'scoring-log', 'loan-outcomes')).toBe('scoring-log [0, 1, 2] but loan-outcomes [0, 1]');
  });
});
