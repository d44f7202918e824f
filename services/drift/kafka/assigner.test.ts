import { describe, expect, it } from 'vitest';
import { copartitionedAssignment } from './assigner.ts';

describe('co-partitioned assignment', () => {
  const topics = [
    { topic: 'scoring-log', partitions: [0, 1, 2, 3, 4, 5] },
    { topic: 'loan-outcomes', partitions: [5, 4, 3, 2, 1, 0] },
  ];
  it('gives partition p of both topics to the same member, every partition exactly once', () => {
    for (const n of [1, 2, 3, 4, 5, 7]) {
      const members = Array.from({ length: n }, (_, i) => `m-${(i * 37) % 101}`);
      const a = copartitionedAssignment(members, topics);
      for (const t of topics) {
        const all = [...a.values()].flatMap((x) => x[t.topic] ?? []).sort();
        expect(all).toEqual([0, 1, 2, 3, 4, 5]);
      }
      for (const x of a.values()) expect(x['scoring-log'] ?? []).toEqual(x['loan-outcomes'] ?? []);
    }
  });
  it('spreads partitions evenly', () => {
    const a = copartitionedAssignment(['b', 'a'], topics);
    expect(a.get('a')!['scoring-log']).toEqual([0, 2, 4]);
    expect(a.get('b')!['scoring-log']).toEqual([1, 3, 5]);
  });
});
