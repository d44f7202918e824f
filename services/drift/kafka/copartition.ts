/**
 * The drift instance joins scoring-log and loan-outcomes locally, so partition p of both topics must be
 * owned by the same member. librdkafka's `range` assignor (services/shared/kafka/consumer.ts) gives that
 * when both topics have the same partition count: for each topic it sorts the partitions and the members
 * and hands member i the same contiguous range. This module states that rule (for its unit test) and
 * checks real assignments against it (the instance reports a mismatch on every join).
 */

/** The range assignor's rule: per topic, member i (sorted) of n gets a contiguous run of the sorted partitions. */
export function rangeAssignment(members: readonly string[], topics: readonly { topic: string; partitions: number }[]): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort();
  const out = new Map<string, Record<string, number[]>>(sorted.map((m) => [m, {}]));
  const n = sorted.length;
  if (n === 0) return out;
  for (const { topic, partitions } of topics) {
    const per = Math.floor(partitions / n);
    const extra = partitions % n;
    for (let i = 0; i < n; i++) {
      const start = per * i + Math.min(i, extra);
      const count = per + (i < extra ? 1 : 0);
      if (count > 0) out.get(sorted[i]!)![topic] = Array.from({ length: count }, (_, k) => start + k);
    }
  }
  return out;
}

/** Undefined if `assignment` holds the same partitions of `a` and `b`; else what differs. */
export function copartitionMismatch(assignment: Readonly<Record<string, readonly number[]>>, a: string, b: string): string | undefined {
  const pa = [...(assignment[a] ?? [])].sort((x, y) => x - y);
  const pb = [...(assignment[b] ?? [])].sort((x, y) => x - y);
  if (pa.join(',') === pb.join(',')) return undefined;
  return `${a} [${pa.join(', ')}] but ${b} [${pb.join(', ')}]`;
}
