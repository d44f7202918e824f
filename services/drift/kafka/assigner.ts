/**
 * A co-partitioning assigner for the drift consumer group: partition p of every subscribed topic goes to
 * the same member (members sorted, p mod member count). scoring-log and loan-outcomes are both keyed by
 * application_id with the same partition count, so the instance that scored-logged an application also
 * sees its outcome and can join them locally. (kafkajs's round-robin spreads topic-partitions in one list,
 * which keeps them together only by coincidence.)
 */
// Before kafkajs is first loaded: see kafkajs-patch.ts.
import '../../shared/kafka/kafkajs-patch.ts';
import type { PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from '../../shared/kafka/kafkajs.ts';

/** Pure: the assignment of `partitions` per topic over `members`. */
export function copartitionedAssignment(members: readonly string[], topics: readonly { topic: string; partitions: readonly number[] }[]): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort();
  const out = new Map<string, Record<string, number[]>>(sorted.map((m) => [m, {}]));
  if (sorted.length === 0) return out;
  for (const { topic, partitions } of topics) {
    for (const p of [...partitions].sort((a, b) => a - b)) {
      const member = sorted[p % sorted.length]!;
      const a = out.get(member)!;
      (a[topic] ??= []).push(p);
    }
  }
  return out;
}

export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'CoPartitionedAssigner',
  version: 0,
  async assign({ members, topics }) {
    const parts = topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId) }));
    const assignment = copartitionedAssignment(
      members.map((m) => m.memberId),
      parts,
    );
    return [...assignment.entries()].map(([memberId, a]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: a, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'CoPartitionedAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
