/**
 * The streaming contenders, each started as its own process so that its CPU and memory can be read from
 * /proc and nothing of the harness runs inside it: this scorer in both delivery modes, and Peer A; with
 * --secure also the scorer's SASL_SSL twins (the same process on the secured broker, as User:scorer).
 */
import type { BenchCluster, TopicSet } from './cluster.ts';
import type { Baseline } from './baseline.ts';
import { PYTHON, start, type Proc } from './proc.ts';
import { secureTwin, withSecureTwins, type Transport } from './transport.ts';

export type StreamContenderId =
  | 'scorer-eos'
  | 'scorer-alo'
  | 'scorer-eos-noexplain'
  | 'scorer-alo-noexplain'
  | 'baseline-eos'
  | 'baseline-alo'
  | 'peer-a'
  | 'peer-a-reasons'
  | 'scorer-eos-sasl_ssl'
  | 'scorer-alo-sasl_ssl';

/**
 * Who a contender is on a secured cluster: its principal (infra/acls.json), the topic roles the harness
 * creates for it there (services run with *_CREATE_TOPICS=false on a secured cluster: topics are the
 * admin's) and the variable naming its group, which the ACLs follow.
 */
export interface ContenderPrincipal {
  readonly name: string;
  readonly roles: readonly string[];
  readonly groupEnv: string;
}

export interface StreamContender {
  readonly id: StreamContenderId;
  readonly description: string;
  /** A line the process prints once it has joined its consumer group. */
  readonly joined: RegExp;
  /** A signal that makes the process print its threads' stacks (sent before giving up on a stalled run). */
  readonly dumpSignal?: NodeJS.Signals;
  /** The listener it connects through: the bench's cluster (plaintext) or the --secure broker (SASL_SSL). */
  readonly transport: Transport;
  /** Set for contenders that can run on a secured cluster. */
  readonly principal?: ContenderPrincipal;
  start(cluster: BenchCluster, topics: TopicSet, groupId: string, opts?: { profileDir?: string; instance?: string }): Proc;
}

/** The scorer's principal: its ACLs are infra/acls.json's "scorer" with the run's group as SCORER_GROUP_ID. */
const SCORER_PRINCIPAL: ContenderPrincipal = {
  name: 'scorer',
  roles: ['decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents'],
  groupEnv: 'SCORER_GROUP_ID',
};

function scorer(id: Exclude<StreamContenderId, 'peer-a' | 'peer-a-reasons'>, delivery: 'exactly-once' | 'at-least-once', extraEnv: Record<string, string> = {}, baseline?: Baseline, transport: Transport = 'plaintext'): StreamContender {
  const secured = transport === 'SASL_SSL';
  return {
    id,
    description: baseline
      ? `this scorer as of commit ${baseline.commit.slice(0, 7)} (the baseline, run from ${baseline.dir}), ${delivery}, its default settings`
      : `this scorer (services/scorer, Node ${process.version}, @confluentinc/kafka-javascript (librdkafka) + avsc + zod + onnxruntime-node), ${delivery}, ${extraEnv.EXPLAIN_DECISIONS === 'false' ? 'without explanations (EXPLAIN_DECISIONS=false: no contributions, no reasons)' : 'default settings (every decision explained)'}${secured ? `; through the SASL_SSL listener (TLS + SCRAM-SHA-512) of the --secure broker as principal User:${SCORER_PRINCIPAL.name} with the ACLs of infra/acls.json (group and transactional-id prefix = the run's group), SCORER_CREATE_TOPICS=false` : ''}`,
    joined: /joined consumer group/,
    transport,
    ...(baseline ? {} : { principal: SCORER_PRINCIPAL }),
    start(cluster, topics, groupId, opts = {}) {
      if (cluster.transport !== transport) throw new Error(`${id} runs on a ${transport} cluster, got a ${cluster.transport} one`);
      const args = [...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}/${groupId}`] : []), '--import', 'tsx', 'services/scorer/main.ts'];
      return start(id, process.execPath, args, {
        ...cluster.topicEnv(topics, SCORER_PRINCIPAL.name),
        SCORER_DELIVERY: delivery,
        SCORER_GROUP_ID: groupId,
        SCORER_INSTANCE_ID: opts.instance ?? groupId,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        ...(secured ? { SCORER_CREATE_TOPICS: 'false' } : {}),
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
/** The same two, through the --secure broker's SASL_SSL listener: the TLS overhead is their ratio to the plaintext runs. */
export const SCORER_EOS_SASL_SSL = scorer('scorer-eos-sasl_ssl', 'exactly-once', {}, undefined, 'SASL_SSL');
export const SCORER_ALO_SASL_SSL = scorer('scorer-alo-sasl_ssl', 'at-least-once', {}, undefined, 'SASL_SSL');

export const PEER_A: StreamContender = {
  id: 'peer-a',
  description: 'Peer A (bench/peers/peer_a.py): Python, confluent-kafka (librdkafka) + Confluent Avro serde (fastavro) + onnxruntime, batched, at-least-once',
  joined: /peer-a: joined/,
  dumpSignal: 'SIGUSR1',
  transport: 'plaintext',
  start(cluster, topics, groupId) {
    return start('peer-a', PYTHON, ['-u', 'bench/peers/peer_a.py'], { ...cluster.topicEnv(topics), PEER_GROUP_ID: groupId });
  },
};

/** Peer A computing each REVIEW/DECLINE's reasons as a Python shop would: XGBoost's pred_contribs on the bundle's booster. */
export const PEER_A_REASONS: StreamContender = {
  ...PEER_A,
  id: 'peer-a-reasons',
  description: 'Peer A with reasons (bench/peers/peer_a.py, PEER_REASONS=1): the same, plus each REVIEW/DECLINE explained with XGBoost predict(pred_contribs=True) on booster.ubj',
  start(cluster, topics, groupId) {
    return start('peer-a-reasons', PYTHON, ['-u', 'bench/peers/peer_a.py'], { ...cluster.topicEnv(topics), PEER_GROUP_ID: groupId, PEER_REASONS: '1' });
  },
};

export const STREAM_CONTENDERS: readonly StreamContender[] = [SCORER_EOS, SCORER_ALO, SCORER_EOS_NOEXPLAIN, SCORER_ALO_NOEXPLAIN, PEER_A, PEER_A_REASONS];

/** The scorer at the baseline commit in both delivery modes (--baseline REF). */
export function baselineContenders(b: Baseline): StreamContender[] {
  return [scorer('baseline-eos', 'exactly-once', {}, b), scorer('baseline-alo', 'at-least-once', {}, b)];
}

/**
 * The streaming contenders selected with --contenders (all by default), plus the baseline's when given;
 * with --secure (`secure`) each selected scorer-eos / scorer-alo is followed by its SASL_SSL twin.
 */
export function selectedContenders(ids?: readonly string[], baseline?: Baseline, secure = false): StreamContender[] {
  const all = [...STREAM_CONTENDERS, ...(baseline ? baselineContenders(baseline) : [])];
  const twins = [SCORER_EOS_SASL_SSL, SCORER_ALO_SASL_SSL];
  const wanted = withSecureTwins(ids ?? all.map((c) => c.id), secure);
  const known = [...all, ...twins];
  const unknown = wanted.filter((id) => !known.some((c) => c.id === id));
  if (unknown.length) throw new Error(`unknown contender(s) ${unknown.join(', ')}; known: ${known.map((c) => c.id).join(', ')}`);
  // In the order of `all` (as before --secure existed), each twin right after its plaintext run.
  return all.flatMap((c) => [c, ...twins.filter((t) => t.id === secureTwin(c.id))]).filter((c) => wanted.includes(c.id));
}
