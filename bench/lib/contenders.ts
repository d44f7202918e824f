/**
 * The streaming contenders, each started as its own process so that its CPU and memory can be read from
 * /proc and nothing of the harness runs inside it: this scorer in both delivery modes, and Peer A.
 */
import type { BenchCluster, TopicSet } from './cluster.ts';
import { PYTHON, start, type Proc } from './proc.ts';

export type StreamContenderId = 'scorer-eos' | 'scorer-alo' | 'scorer-eos-noexplain' | 'peer-a';

export interface StreamContender {
  readonly id: StreamContenderId;
  readonly description: string;
  /** A line the process prints once it has joined its consumer group. */
  readonly joined: RegExp;
  /** A signal that makes the process print its threads' stacks (sent before giving up on a stalled run). */
  readonly dumpSignal?: NodeJS.Signals;
  start(cluster: BenchCluster, topics: TopicSet, groupId: string, opts?: { profileDir?: string }): Proc;
}

function scorer(id: 'scorer-eos' | 'scorer-alo' | 'scorer-eos-noexplain', delivery: 'exactly-once' | 'at-least-once', extraEnv: Record<string, string> = {}): StreamContender {
  return {
    id,
    description: `this scorer (services/scorer, Node ${process.version}, kafkajs + avsc + zod + onnxruntime-node), ${delivery}, ${extraEnv.EXPLAIN_DECISIONS === 'false' ? 'without explanations (EXPLAIN_DECISIONS=false: no contributions, no reasons)' : 'default settings (every decision explained)'}`,
    joined: /joined consumer group/,
    start(cluster, topics, groupId, opts = {}) {
      const args = [...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}/${groupId}`] : []), '--import', 'tsx', 'services/scorer/main.ts'];
      return start(id, process.execPath, args, {
        ...cluster.topicEnv(topics),
        SCORER_DELIVERY: delivery,
        SCORER_GROUP_ID: groupId,
        SCORER_INSTANCE_ID: groupId,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        ...extraEnv,
      });
    },
  };
}

export const SCORER_EOS = scorer('scorer-eos', 'exactly-once');
export const SCORER_ALO = scorer('scorer-alo', 'at-least-once');
/** Exactly-once without explanations: what reasons and contributions cost (issue 12: reasons-on >= 85% of this). */
export const SCORER_EOS_NOEXPLAIN = scorer('scorer-eos-noexplain', 'exactly-once', { EXPLAIN_DECISIONS: 'false' });

export const PEER_A: StreamContender = {
  id: 'peer-a',
  description: 'Peer A (bench/peers/peer_a.py): Python, confluent-kafka (librdkafka) + Confluent Avro serde (fastavro) + onnxruntime, batched, at-least-once',
  joined: /peer-a: joined/,
  dumpSignal: 'SIGUSR1',
  start(cluster, topics, groupId) {
    return start('peer-a', PYTHON, ['-u', 'bench/peers/peer_a.py'], { ...cluster.topicEnv(topics), PEER_GROUP_ID: groupId });
  },
};

export const STREAM_CONTENDERS: readonly StreamContender[] = [SCORER_EOS, SCORER_ALO, SCORER_EOS_NOEXPLAIN, PEER_A];

/** The streaming contenders selected with --contenders (all by default). */
export function selectedContenders(ids?: readonly string[]): StreamContender[] {
  if (!ids) return [...STREAM_CONTENDERS];
  const unknown = ids.filter((id) => !STREAM_CONTENDERS.some((c) => c.id === id));
  if (unknown.length) throw new Error(`unknown contender(s) ${unknown.join(', ')}; known: ${STREAM_CONTENDERS.map((c) => c.id).join(', ')}`);
  return STREAM_CONTENDERS.filter((c) => ids.includes(c.id));
}
