/** Where the numbers were measured: cores, CPU model, memory, runtime versions. */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { LIBRDKAFKA_VERSION } from '../../services/shared/kafka/native.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { PYTHON } from './proc.ts';

/** The replication a topic of the run actually got (bench/lib/cluster.ts describe). */
export interface ClusterInfo {
  /** Brokers holding the replicas of a 6-partition topic. */
  readonly brokers: number;
  readonly replicationFactor: number;
  /** The topic's own when infra/topics.json pins one, else the broker's default. */
  readonly minInsyncReplicas: number | 'broker default';
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly python: string;
  readonly java: string;
  readonly loadAverageAtStart: readonly number[];
  readonly packages: Readonly<Record<string, string>>;
  /** The Kafka cluster the run used: broker count and the replication its topics get. */
  readonly cluster?: ClusterInfo;
  /** The commit measured, and files of services/ and bench/peers/ that differed from it. */
  readonly revision: { readonly commit: string; readonly modified: readonly string[] };
}

/** stdout of a command (or its stderr when stdout is empty, as for `java -version`); 'unknown' on failure. */
function tryRun(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return 'unknown';
  return (r.stdout || r.stderr).replace(/\s+$/, '');
}

export function machineInfo(): Machine {
  const pyPackages = tryRun(PYTHON, [
    '-c',
    'import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in ["onnxruntime", "confluent-kafka", "fastavro", "fastapi", "uvicorn", "xgboost-cpu", "numpy"]}))',
  ]);
  let py: Record<string, string>;
  try {
    py = JSON.parse(pyPackages) as Record<string, string>;
  } catch {
    py = {};
  }
  const nodePkg = (name: string) => {
    try {
      return (JSON.parse(tryRun(process.execPath, ['-p', `JSON.stringify(require('${name}/package.json').version)`])) as string) ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };
  const modified = tryRun('git', ['status', '--porcelain', '--', 'services', 'bench/peers'])
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('fatal'))
    .map((l) => l.slice(3));
  return {
    revision: { commit: tryRun('git', ['rev-parse', '--short', 'HEAD']), modified },
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: tryRun('uname', ['-sr']),
    node: process.version,
    python: tryRun(PYTHON, ['--version']).replace(/^Python /, ''),
    java: tryRun('java', ['-version']).split('\n')[0] ?? 'unknown',
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    packages: {
      ...Object.fromEntries(Object.entries(py).map(([k, v]) => [`py:${k}`, v])),
      'node:@confluentinc/kafka-javascript': nodePkg('@confluentinc/kafka-javascript'),
      'node:librdkafka': LIBRDKAFKA_VERSION,
      'node:onnxruntime-node': nodePkg('onnxruntime-node'),
      'node:avsc': nodePkg('avsc'),
      'node:zod': nodePkg('zod'),
    },
  };
}
