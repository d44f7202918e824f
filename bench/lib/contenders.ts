/**
 * The streaming contenders, each started as its own process so that its CPU and memory can be read from
 * /proc and nothing of the harness runs inside it: this scorer in both delivery modes, and Peer A.
 */
import type { BenchCluster, TopicSet } from './cluster.ts';
import type { Baseline } from './baseline.ts';
import { PYTHON, start, type Proc } from './proc.ts';

export type StreamContenderId = 'scorer-eos' | 'scorer-alo' | 'scorer-eos-noexplain' | 'scorer-alo-noexplain' | 'baseline-eos' | 'baseline-alo' | 'peer-a';

export interface StreamContender {
  readonly id: StreamContenderId;
  readonly description: string;
  /** A line the process prints once it has joined its consumer group. */
  readonly joined: RegExp;
  /** A signal that makes the process print its threads' stacks (sent before giving up on a stalled run). */
  readonly dumpSignal?: NodeJS.Signals;
  start(cluster: BenchCluster, topics: TopicSet, groupId: string, opts?: { profileDir?: string }): Proc;
}

function scorer(id: Exclude<StreamContenderId, 'peer-a'>, delivery: 'exactly-once' | 'at-least-once', extraEnv: Record<string, string> = {}, baseline?: Baseline): StreamContender {
  return {
    id,
    description: baseline
      ? `this scorer as of commit ${baseline.commit.slice(0, 7)} (the baseline, run from ${baseline.dir}), ${delivery}, its default settings`
      : `this scorer (services/scorer, Node ${process.version}, kafkajs + avsc + zod + onnxruntime-node), ${delivery}, ${extraEnv.EXPLAIN_DECISIONS === 'false' ? 'without explanations (EXPLAIN_DECISIONS=false: no contributions, no reasons)' : 'default settings (every decision explained)'}`,
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
      }, baseline?.dir);
    },
  };
}

export const SCORER_EOS = scorer('scorer-eos', 'exactly-once');
export const SCORER_ALO = scorer('scorer-alo', 'at-least-once');
/** Exactly-once without explanations: what reasons and contributions cost (issue 12: reasons-on >= 85% of this). */
export const SCORER_EOS_NOEXPLAIN = scorer('scorer-eos-noexplain', 'exactly-once', { EXPLAIN_DECISIONS: 'false' });
/** At-least-once without explanations: the same work as before explanations existed (issue 9 compares it with that). */
export const SCORER_ALO_NOEXPLAIN = scorer('scorer-alo-noexplain', 'at-least-once', { EXPLAIN_DECISIONS: 'false' });

export const PEER_A: StreamContender = {
  id: 'peer-a',
  description: 'Peer A (bench/peers/peer_a.py): Python, confluent-kafka (librdkafka) + Confluent Avro serde (fastavro) + onnxruntime, batched, at-least-once',
  joined: /peer-a: joined/,
  dumpSignal: 'SIGUSR1',
  start(cluster, topics, groupId) {
    return start('peer-a', PYTHON, ['-u', 'bench/peers/peer_a.py'], { ...cluster.topicEnv(topics), PEER_GROUP_ID: groupId });
  },
};

export const STREAM_CONTENDERS: readonly StreamContender[] = [SCORER_EOS, SCORER_ALO, SCORER_EOS_NOEXPLAIN, SCORER_ALO_NOEXPLAIN, PEER_A];

/** The scorer at the baseline commit in both delivery modes (--baseline REF). */
export function baselineContenders(b: Baseline): StreamContender[] {
  return [scorer('baseline-eos', 'exactly-once', {}, b), scorer('baseline-alo', 'at-least-once', {}, b)];
}

/** The streaming contenders selected with --contenders (all by default), plus the baseline's when given. */
export function selectedContenders(ids?: readonly string[], baseline?: Baseline): StreamContender[] {
  const all = [...STREAM_CONTENDERS, ...(baseline ? baselineContenders(baseline) : [])];
  if (!ids) return all;
  const unknown = ids.filter((id) => !all.some((c) => c.id === id));
  if (unknown.length) throw new Error(`unknown contender(s) ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`);
  return all.filter((c) => ids.includes(c.id));
}
