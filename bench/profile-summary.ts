/**
 * Where a scorer's CPU went: summarizes V8 .cpuprofile files (from `bench/run.ts --profile`, i.e. node
 * --cpu-prof) by component — the Kafka client's JavaScript side (@confluentinc/kafka-javascript; librdkafka's
 * own threads are native and not in a V8 profile; kafkajs for a baseline commit's profiles), avsc (Avro),
 * zod, pino, prom-client, onnxruntime, the scorer's own code, Node internals, GC — and lists the heaviest
 * functions by self time.
 *
 *   node --import tsx bench/profile-summary.ts bench/results/profiles/*.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const COMPONENTS: [string, RegExp][] = [
  ['Kafka client (kafka-javascript, JS side)', /node_modules\/@confluentinc\/kafka-javascript\//],
  ['kafkajs (baseline commits)', /node_modules\/kafkajs\//],
  ['avsc (Avro)', /node_modules\/avsc\//],
  ['schema-registry client', /node_modules\/@kafkajs\/confluent-schema-registry\//],
  ['zod (validation)', /node_modules\/zod\//],
  ['pino (logs)', /node_modules\/(pino|sonic-boom|thread-stream)/],
  ['prom-client (metrics)', /node_modules\/(prom-client|tdigest|bintrees)/],
  ['onnxruntime-node', /node_modules\/onnxruntime/],
  ['fastify', /node_modules\/(fastify|avvio|light-my-request|find-my-way)/],
  ['tsx loader', /node_modules\/(tsx|esbuild|get-tsconfig)/],
  ['other node_modules', /node_modules\//],
  ['scorer + shared code', /\/services\//],
  ['node internals', /^node:|^internal\//],
];

/** Functions of the scorer, the Kafka adapter (services/shared/kafka) and kafkajs (baseline commits) that mark a stage of the work. */
const STAGES = [
  'onBatch',
  'processAndCommit',
  'processBatch',
  'classify',
  'decode',
  'validateApplication',
  'packFeatures',
  'decisionRecord',
  'scoringLogRecord',
  'encodeSync',
  'produceAll',
  'consume',
  'toMessage',
  'sendBatch',
  'groupMessagesPerPartition',
  'commitOffsets',
  'sendOffsets',
  'commit',
  'decodeMessages',
  'fetch',
];

function component(n: ProfileNode): string {
  const { url, functionName } = n.callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (native, unattributed)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  return COMPONENTS.find(([, re]) => re.test(url))?.[0] ?? 'other';
}

/**
 * Ids of the nodes at or under a function named `name`: samples there are the scorer at work. The
 * summary covers the samples from the first to the last of those, which leaves out start-up (module
 * loading, tsx) and shutdown.
 */
function under(p: Profile, name: string): Set<number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Set<number>();
  const visit = (id: number) => {
    if (out.has(id)) return;
    out.add(id);
    for (const c of byId.get(id)?.children ?? []) visit(c);
  };
  for (const n of p.nodes) if (n.callFrame.functionName === name) visit(n.id);
  return out;
}

export function summarize(p: Profile, top = 25, windowFn = 'processBatch'): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const work = under(p, windowFn);
  let from = p.samples.findIndex((id) => work.has(id));
  let to = p.samples.length - 1 - [...p.samples].reverse().findIndex((id) => work.has(id));
  if (from < 0) {
    from = 0;
    to = p.samples.length - 1;
  }
  const selfUs = new Map<number, number>();
  for (let i = from; i <= to; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const c = component(n);
    if (c === 'idle') continue;
    byComponent.set(c, (byComponent.get(c) ?? 0) + us);
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/services\//, 'services/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const scope = work.size ? `from the first to the last sample under ${windowFn}()` : 'whole profile';
  const lines = [`busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s (${((busy / total) * 100).toFixed(0)}% of the thread's wall time; ${scope})`, '', 'self time by component:'];
  for (const [c, us] of [...byComponent].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(us)}  ${c}`);
  // Inclusive time of the pipeline's stages: a sample counts for every listed function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (let i = from; i <= to; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)!.callFrame.functionName;
      if (STAGES.includes(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + (p.timeDeltas[i] ?? 0));
      }
    }
  }
  if (inclusive.size) {
    lines.push('', 'inclusive time of pipeline stages (nested stages count in both):');
    for (const name of STAGES) if (inclusive.has(name)) lines.push(`  ${pct(inclusive.get(name)!)}  ${name}`);
  }
  lines.push('', `top ${top} functions by self time:`);
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${f}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error('usage: bench/profile-summary.ts FILE.cpuprofile...');
    process.exit(2);
  }
  for (const f of files) console.log(`== ${basename(f)}\n${summarize(JSON.parse(readFileSync(f, 'utf8')) as Profile)}\n`);
}
