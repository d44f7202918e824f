/**
 * The services on the secured broker (test/security/secure-stack.ts: SASL_SSL with SCRAM-SHA-512, an mTLS
 * listener, the StandardAuthorizer with allow.everyone.if.no.acl.found=false), each as its own principal with
 * exactly the ACLs of infra/acls.json:
 *
 * - the simulator on mTLS (client certificate CN=simulator) writes applications and outcomes;
 * - the scorer on SASL_SSL scores them end to end (decisions, scoring log, dead letters), exactly once
 *   across a kill -9 and restart;
 * - the drift monitor on SASL_SSL consumes the scoring log and outcomes;
 * - `make retrain` (extract -> gate -> promote) on SASL_SSL as the pipeline's principal announces a model;
 * - the broker refuses the scorer's principal reading loan-outcomes or writing model-updates;
 * - applicant-demographics (docs/fairness.md): the simulator writes it, the drift monitor's principal reads it,
 *   the broker refuses the scorer's principal and the pipeline's training read (its Python reader);
 * - a wrong password, an untrusted CA, a missing certificate file, a missing ACL and a missing topic each
 *   stop the scorer at start-up with one message naming the cause;
 * - no password and no private key appears in any process output, the broker's log, /ready or /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { decodeValues, registryClient, stack, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';
import { run } from '../../support/processes.ts';
import { provision, secureStack, type SecureStack } from './secure-stack.ts';
import type { KafkaClient } from '../../services/shared/kafka/client.ts';
import type { ConsumedMessage } from '../../services/shared/kafka/consumer.ts';
import { kafkaErrorCodes } from '../../services/shared/kafka/errors.ts';
import { readTopic } from '../../services/shared/kafka/read-topic.ts';

interface Proc {
  readonly child: ChildProcess;
  readonly name: string;
  out: string;
  readonly exited: Promise<number | null>;
}

const outputs: { name: string; text: () => string }[] = [];

function spawnProc(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(args[0]!, args.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, name, out: '', exited: new Promise((res) => child.once('exit', (code) => res(code))) };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
  outputs.push({ name, text: () => p.out });
  return p;
}

const node = (entry: string, ...args: string[]) => [process.execPath, '--import', 'tsx', entry, ...args];

/** High watermarks summed over partitions (transaction markers included: a trigger, not a count). */
async function written(kafka: KafkaClient, topic: string): Promise<number> {
  const admin = kafka.admin();
  try {
    return (await admin.topicOffsets(topic)).reduce((s, p) => s + p.high, 0);
  } finally {
    admin.disconnect();
  }
}

/**
 * Reads `topic` from the beginning, read_committed, as `kafka`'s principal, until `expected` records arrived
 * and every partition was read to its end (so duplicates beyond `expected` are read too).
 */
async function readAll(kafka: KafkaClient, topic: string, expected: number): Promise<ConsumedMessage[]> {
  const r = await readTopic(kafka, topic, { until: (ms) => ms.length >= expected, timeoutMs: 90_000 });
  if (!r.complete) throw new Error(`timed out reading ${topic}: ${r.messages.length} of ${expected} records`);
  return r.messages;
}

describe('the services on a secured cluster (SASL_SSL, mTLS, least-privilege ACLs)', () => {
  let s: SecureStack;
  let topics: Record<string, string>;
  let admin: KafkaClient;
  const scorerGroup = `sec-scorer-${randomUUID().slice(0, 8)}`;
  const driftGroup = `sec-drift-${randomUUID().slice(0, 8)}`;
  const running: Proc[] = [];
  let produced = { total: 0, invalid: 0 };
  const scorerHttpPort = Number(process.env.SECURE_TEST_PORT_BASE ?? 29100) + 50;
  let readyBody = '';
  let metricsBody = '';

  const scorerEnv = (extra: Record<string, string> = {}) => ({
    ...s.env('scorer', 'sasl', stack().registryUrl),
    ...topicsEnv(),
    SCORER_GROUP_ID: scorerGroup,
    SCORER_INSTANCE_ID: 'sec-1',
    SCORER_CREATE_TOPICS: 'false',
    SCORER_SESSION_TIMEOUT: '6s',
    SCORER_HEARTBEAT_INTERVAL: '1s',
    SCORER_MAX_BATCH: '50',
    MODEL_DIR: initialModelDir(),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  });
  const topicsEnv = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [role, name] of Object.entries(topics)) out[TOPICS_FILE.topics[role]!.env] = name;
    return out;
  };

  beforeAll(async () => {
    s = await secureStack();
    admin = s.client('admin');
    topics = uniqueTopics('sec');
    await provision(s, topics, { SCORER_GROUP_ID: scorerGroup, DRIFT_GROUP_ID: driftGroup });
  });

  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('simulator (mTLS) -> scorer (SASL_SSL, killed with -9 and restarted): one decision and one scoring-log record per valid application, dead letters for the rest', async () => {
    const first = spawnProc('scorer-1', node('services/scorer/main.ts'), scorerEnv());
    running.push(first);
    await waitUntil('the scorer running', () => first.out.includes('"scorer running"'), 90_000).catch((e: Error) => {
      throw new Error(`${e.message}; scorer output: ${first.out.slice(-3000)}`);
    });

    const sim = spawnProc('simulator', node('services/simulator/main.ts', 'produce', '--count', '400', '--rate', '150', '--invalid', '0.1', '--seed', '7', '--outcomes-delay', '1ms'), {
      ...s.env('simulator', 'mtls', stack().registryUrl),
      ...topicsEnv(),
      SIMULATOR_CREATE_TOPICS: 'false',
    });
    await waitUntil('some decisions written', async () => (await written(admin, topics.decisions!)) >= 60, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = spawnProc('scorer-2', node('services/scorer/main.ts'), scorerEnv({ HTTP_PORT: String(scorerHttpPort) }));
    running.push(second);
    expect(await sim.exited, sim.out).toBe(0);
    const m = /produced (\d+) applications to \S+ \((\d+) invalid/.exec(sim.out);
    expect(m, sim.out).not.toBeNull();
    produced = { total: Number(m![1]), invalid: Number(m![2]) };
    expect(produced.invalid).toBeGreaterThan(0);
    const valid = produced.total - produced.invalid;

    const registry = registryClient();
    const [decisions, log, dlq] = await Promise.all([readAll(admin, topics.decisions!, valid), readAll(admin, topics.scoringLog!, valid), readAll(admin, topics.deadLetters!, produced.invalid)]);
    const ids = (await decodeValues<{ application_id: string }>(registry, decisions)).map((d) => d.application_id);
    expect(ids.length).toBe(valid);
    expect(new Set(ids).size).toBe(valid);
    expect(log.length).toBe(valid);
    expect(dlq.length).toBe(produced.invalid);

    await waitUntil('the scorer ready', () => second.out.includes('"scorer running"'), 30_000);
    readyBody = await (await fetch(`http://127.0.0.1:${scorerHttpPort}/ready`)).text();
    metricsBody = await (await fetch(`http://127.0.0.1:${scorerHttpPort}/metrics`)).text();
    expect(readyBody).toMatch(/ready|ok/i);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it("the broker refuses the scorer's principal reading loan-outcomes and writing model-updates", async () => {
    const scorer = s.client('scorer');
    const refused = (e: unknown) => kafkaErrorCodes(e)[0] ?? String(e);
    const refusedRead = await readAll(scorer, topics.outcomes!, 1).then(() => 'read', refused);
    expect(refusedRead).toBe('TOPIC_AUTHORIZATION_FAILED');

    const producer = scorer.producer();
    await producer.connect();
    const refusedWrite = await producer.send([{ topic: topics.modelUpdates!, messages: [{ key: 'x', value: Buffer.from('y') }] }]).then(() => 'written', refused);
    await producer.disconnect();
    expect(refusedWrite).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it("applicant-demographics: only the drift monitor's principal reads it; the broker refuses the scorer and the pipeline's training read", async () => {
    const topic = topics.demographics!;
    const simulator = s.client('simulator').producer();
    await simulator.connect();
    // ACLs just applied by provision() reach the broker's authorizer through the metadata log a moment later.
    await waitUntil('User:simulator allowed to write applicant-demographics', () =>
      simulator.send([{ topic, messages: [{ key: 'sec-demo-1', value: Buffer.from('not read by the scorer') }] }]).then(
        () => true,
        () => false,
      ), 30_000);
    await simulator.disconnect();

    // User:drift reads it.
    let refusal = '';
    let keys: string[] = [];
    await waitUntil('User:drift reading applicant-demographics', async () => {
      try {
        keys = (await readAll(s.client('drift'), topic, 1)).map((m) => String(m.key));
      } catch (e) {
        refusal = kafkaErrorCodes(e)[0] ?? (e as Error).message;
      }
      return keys.length > 0;
    }, 90_000).catch((e: Error) => Promise.reject(new Error(`${e.message}; last refusal: ${refusal}`)));
    expect(keys).toContain('sec-demo-1');

    // User:scorer is refused by the broker.
    const refused = await readAll(s.client('scorer'), topic, 1).then(() => 'read', (e: unknown) => kafkaErrorCodes(e)[0] ?? String(e));
    expect(refused).toBe('TOPIC_AUTHORIZATION_FAILED');

    // The pipeline's own reader (pipeline/kafka/consume.py read_topic, what extract reads the scoring log with) as User:pipeline.
    const script = ['from pipeline.kafka.consume import read_topic', 'from pipeline.kafka.settings import kafka_settings, topic_name', 'list(read_topic(kafka_settings(), topic_name("demographics"), 30))'].join('\n');
    const r = await run(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', script], { env: { ...process.env, ...s.env('pipeline', 'sasl', stack().registryUrl), ...topicsEnv() }, timeoutMs: 120_000 });
    outputs.push({ name: 'pipeline read of applicant-demographics', text: () => r.stdout + r.stderr });
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`KAFKA_NOT_AUTHORIZED: User:pipeline is not authorized to read topic ${topic}`);
  }, 180_000);

  it('drift monitor (SASL_SSL, its own principal) consumes the scoring log and the outcomes', async () => {
    const drift = spawnProc('drift', node('services/drift/main.ts'), {
      ...s.env('drift', 'sasl', stack().registryUrl),
      ...topicsEnv(),
      MODEL_DIR: initialModelDir(),
      DRIFT_GROUP_ID: driftGroup,
      DRIFT_INSTANCE_ID: 'sec-drift',
      DRIFT_CREATE_TOPICS: 'false',
      DRIFT_SESSION_TIMEOUT: '6s',
      DRIFT_HEARTBEAT_INTERVAL: '1s',
      DRIFT_IDLE_TIMEOUT: '3s',
      DRIFT_FLUSH_INTERVAL: '200ms',
      DRIFT_RETRAIN: 'off',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
    });
    running.push(drift);
    // Running as User:drift: it read the scoring log and outcomes (its group) and wrote partials in transactions.
    await waitUntil('the drift monitor running and writing partials', async () => drift.out.includes('drift monitor running') && (await written(admin, topics.driftPartials!)) > 0, 150_000).catch((e: Error) => {
      throw new Error(`${e.message}; drift output: ${drift.out.slice(-2000)}`);
    });
    // Every component (instance, aggregator, view) had the access it needs: no refusal, no crashed consumer.
    expect(drift.out).not.toMatch(/authoriz|consumer crashed|"level":60/i);
    drift.child.kill('SIGTERM');
    expect(await drift.exited).toBe(0);
  }, 240_000);

  it('make retrain (extract -> gate -> promote) on SASL_SSL as the pipeline principal announces a new champion', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sec-retrain-'));
    // The loop on a few hundred rows: floors low enough for a small holdout, the mechanism is what is tested.
    const params = readFileSync(join(REPO_ROOT, 'params.yaml'), 'utf8').replace(/roc_auc_min: [\d.]+/, 'roc_auc_min: 0.0').replace(/pr_auc_min: [\d.]+/, 'pr_auc_min: 0.0').replace(/brier_max: [\d.]+/, 'brier_max: 1.0');
    writeFileSync(join(work, 'params.yaml'), params);
    const env = { ...s.env('pipeline', 'sasl', stack().registryUrl), ...topicsEnv() };
    const r = await run('make', ['--no-print-directory', 'retrain', `ARGS=--params ${join(work, 'params.yaml')} --champion none --models-dir ${join(work, 'models')} --tracking-uri sqlite:///${join(work, 'mlflow.db')} --workdir ${join(work, 'run')} --reason secured-test`], {
      env: { ...process.env, ...env },
      timeoutMs: 420_000,
    });
    outputs.push({ name: 'make retrain', text: () => r.stdout + r.stderr });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const updates = await readAll(admin, topics.modelUpdates!, 1);
    const [u] = await decodeValues<{ model_name: string; version: string }>(registryClient(), updates);
    expect(u!.model_name).toBe('credit-default-classifier');
  }, 480_000);

  it('a wrong password, an untrusted CA, a missing certificate file, a missing ACL and a missing topic each stop the scorer with one message naming the cause', async () => {
    const other = mkdtempSync(join(tmpdir(), 'other-ca-'));
    const ca = join(other, 'ca.crt');
    const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'ca.key'), '-out', ca, '-days', '2', '-subj', '/CN=another CA']);
    expect(gen.status).toBe(0);
    const cases: [string, Record<string, string>, RegExp, number][] = [
      ['wrong password', { KAFKA_SASL_PASSWORD: 'not-the-password' }, /SASL authentication as .{1,2}scorer.{1,2} \(SCRAM-SHA-512\) failed.*KAFKA_SASL_PASSWORD/, 1],
      ['untrusted CA', { KAFKA_SSL_CA_FILE: ca }, /certificate is not trusted.*KAFKA_SSL_CA_FILE/, 1],
      ['missing certificate file', { KAFKA_SSL_CERT_FILE: '/nonexistent/scorer.crt', KAFKA_SSL_KEY_FILE: '/nonexistent/scorer.key' }, /KAFKA_SSL_CERT_FILE: cannot read \/nonexistent\/scorer\.crt/, 2],
      ['missing ACL', { KAFKA_SASL_USERNAME: 'simulator', KAFKA_SASL_PASSWORD: s.creds.simulator! }, new RegExp(`User:simulator is not authorized for topic ${topics.decisions}.*TOPIC_DECISIONS`), 1],
      ['missing topic', { TOPIC_DECISIONS: `missing-${randomUUID().slice(0, 6)}`, KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: s.creds.admin! }, /topic missing-\w+ \(role decisions, TOPIC_DECISIONS\) does not exist.*SCORER_CREATE_TOPICS/, 1],
    ];
    const procs = cases.map(([name, extra]) => spawnProc(`scorer (${name})`, node('services/scorer/main.ts'), scorerEnv({ ...extra, SCORER_GROUP_ID: `${scorerGroup}-f`, LOG_LEVEL: 'warn' })));
    running.push(...procs);
    const codes = await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 150_000))])));
    // Soft: every case is checked and reported, not only the first that fails.
    for (const [i, [name, , pattern, code]] of cases.entries()) {
      const out = procs[i]!.out;
      expect.soft(codes[i], `${name}: ${out}`).toBe(code);
      const lines = out.split('\n').filter((l) => l.trim());
      expect.soft(lines.filter((l) => pattern.test(l)), `${name}: ${out}`).toHaveLength(1);
      // One message: no client retry chatter before it, no connection-reset loop.
      expect.soft(lines.filter((l) => /"level":(50|60)/.test(l) || /^scorer: /.test(l)), `${name}: ${out}`).toHaveLength(1);
      expect.soft(out, name).not.toMatch(/ECONNRESET/);
    }
  }, 240_000);

  it('a client certificate required or refused, TLS against plaintext and the reverse, and a group without ACL each stop the scorer with one message naming the cause', async () => {
    // A client certificate for User:scorer signed by a CA the broker does not trust.
    const other = mkdtempSync(join(tmpdir(), 'other-client-'));
    const oca = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'ca.key'), '-out', join(other, 'ca.crt'), '-days', '2', '-subj', '/CN=another CA']);
    const csr = await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'scorer.key'), '-out', join(other, 'scorer.csr'), '-subj', '/CN=scorer']);
    const crt = await run('openssl', ['x509', '-req', '-in', join(other, 'scorer.csr'), '-CA', join(other, 'ca.crt'), '-CAkey', join(other, 'ca.key'), '-CAcreateserial', '-out', join(other, 'scorer.crt'), '-days', '2']);
    expect([oca.status, csr.status, crt.status]).toEqual([0, 0, 0]);
    const noSasl = { KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '', KAFKA_SASL_PASSWORD: '' };
    const cases: [string, Record<string, string>, RegExp, number][] = [
      ['client certificate required', { ...noSasl, KAFKA_BROKERS: s.mtlsBrokers }, /client certificate.*KAFKA_SSL_CERT_FILE/, 1],
      ['client certificate refused', { ...noSasl, KAFKA_BROKERS: s.mtlsBrokers, KAFKA_SSL_CERT_FILE: join(other, 'scorer.crt'), KAFKA_SSL_KEY_FILE: join(other, 'scorer.key') }, /(refused the client certificate|closed the connection after the handshake).*KAFKA_SSL_CERT_FILE|KAFKA_SSL_CERT_FILE.*refused/, 1],
      ['TLS against a plaintext listener', { ...noSasl, KAFKA_BROKERS: stack().brokers.split(',')[0]! }, /(does not speak TLS|is it a TLS listener).*KAFKA_(SSL|BROKERS)/, 1],
      ['plaintext against the SASL_SSL listener', { KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: '' }, /requires TLS; set KAFKA_SSL=true/, 1],
      ['a consumer group without ACL', { SCORER_GROUP_ID: `not-granted-${randomUUID().slice(0, 6)}` }, /User:scorer is not authorized to use consumer group not-granted-\w+/, 1],
    ];
    const procs = cases.map(([name, extra]) => spawnProc(`scorer (${name})`, node('services/scorer/main.ts'), scorerEnv({ SCORER_GROUP_ID: `${scorerGroup}-g`, LOG_LEVEL: 'warn', ...extra })));
    running.push(...procs);
    const codes = await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 150_000))])));
    for (const [i, [name, , pattern, code]] of cases.entries()) {
      const out = procs[i]!.out;
      expect(codes[i], `${name}: ${out}`).toBe(code);
      const lines = out.split('\n').filter((l) => l.trim());
      expect(lines.filter((l) => pattern.test(l)), `${name}: ${out}`).toHaveLength(1);
      expect(lines.filter((l) => /"level":(50|60)/.test(l) || /^scorer: /.test(l)), `${name}: ${out}`).toHaveLength(1);
    }
  }, 240_000);

  it('no password and no private key in any output, the broker log, /ready or /metrics', () => {
    expect(outputs.length).toBeGreaterThan(5);
    const keys = readdirKeys(s);
    const texts = [...outputs.map((o) => ({ name: o.name, text: o.text() })), { name: 'broker log', text: readFileSync(s.kafkaLog, 'utf8') }, { name: '/ready', text: readyBody }, { name: '/metrics', text: metricsBody }];
    expect(readyBody.length).toBeGreaterThan(0);
    for (const { name, text } of texts) {
      for (const [principal, password] of Object.entries(s.creds)) expect(text.includes(password), `${principal}'s password in ${name}`).toBe(false);
      for (const [file, body] of keys) expect(text.includes(body), `${file} in ${name}`).toBe(false);
      expect(text, name).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    }
  });
});

/** A distinctive line of each private key (the first base64 line after the header). */
function readdirKeys(s: SecureStack): [string, string][] {
  return ['scorer', 'simulator', 'broker', 'admin'].map((n) => {
    const pem = readFileSync(join(s.paths.tls, `${n}.key`), 'utf8');
    return [`${n}.key`, pem.split('\n')[1]!];
  });
}
