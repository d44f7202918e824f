/**
 * Schema evolution of the input subject against the real registry: records written with several
 * registry-accepted versions of `<applications>-value` — an added optional field with a default, the
 * record renamed to another namespace keeping its old name as an alias (if the registry accepts it), that
 * field removed again — are all scored; a registry-accepted version the scorer's reader schema cannot
 * resolve (a model feature removed) is dead-lettered with the resolver's reason; and an int beyond 32 bits
 * in bytes of the current schema is DECODE_MALFORMED naming the field. And a copy of the record in another
 * namespace without any alias (what an upstream team's generated classes register), accepted by the
 * registry as the subject's latest version, read through a producer that encodes with "latest": every
 * application decided, none dead-lettered (Avro names match unqualified).
 */
import { randomUUID } from 'node:crypto';
import avsc from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../services/scorer/config.ts';
import { ScorerService } from '../../services/scorer/service.ts';
import { createLogger } from '../../services/shared/log.ts';
import { loadSchema } from '../../services/shared/schemas.ts';
import { frame } from '../../services/shared/wire.ts';
import { populationSource } from '../../services/simulator/source.ts';
import { createTopics, decodeValues, groupLag, kafkaClient, readTopic, registryClient, serviceEnv, stack, uniqueTopics, waitUntil } from '../helpers/cluster.ts';
import { initialModelDir } from '../helpers/model.ts';

const PER_VERSION = 20;
const v1 = loadSchema('loan-application');
const APP = `${v1.namespace}.${v1.name}`;
const channel = { name: 'channel', type: ['null', 'string'], default: null };

const versions: { name: string; schema: Record<string, unknown>; resolvable: boolean }[] = [
  { name: 'v1 (the reader schema)', schema: { ...v1 }, resolvable: true },
  { name: 'v2: optional field added with a default', schema: { ...v1, fields: [...v1.fields, channel] }, resolvable: true },
  { name: 'v3: renamed to com.creditrisk.v2 with the old name as alias', schema: { ...v1, namespace: 'com.creditrisk.v2', aliases: [APP], fields: [...v1.fields, channel] }, resolvable: true },
  { name: 'v4: the optional field removed again', schema: { ...v1, namespace: 'com.creditrisk.v2', aliases: [APP] }, resolvable: true },
  { name: 'v5: a model feature removed', schema: { ...v1, namespace: 'com.creditrisk.v2', aliases: [APP], fields: v1.fields.filter((f) => f.name !== 'loan_amount') }, resolvable: false },
];

/** The subject's latest version as a producer configured with "use latest" sees it (Confluent API). */
async function latestVersion(subject: string): Promise<{ id: number; schema: string }> {
  const res = await fetch(`${stack().registryUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  expect(res.ok, `GET ${subject}/versions/latest: ${res.status}`).toBe(true);
  return (await res.json()) as { id: number; schema: string };
}

describe('input schema versions', () => {
  let service: ScorerService | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it('a namespace copy without alias, registered as the latest version, is read: every application decided, none dead-lettered', async () => {
    const topics = uniqueTopics('namespace');
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const registry = registryClient();
    const subject = `${topics.applications}-value`;
    await registry.registerSchema(subject, JSON.stringify(v1), 'BACKWARD');
    const copy = { ...v1, namespace: 'com.upstream.generated.credit' };
    const copyId = await registry.registerSchema(subject, JSON.stringify(copy), 'BACKWARD');
    const latest = await latestVersion(subject);
    expect(latest.id).toBe(copyId);
    expect((JSON.parse(latest.schema) as { namespace: string }).namespace).toBe('com.upstream.generated.credit');

    const type = avsc.Type.forSchema(JSON.parse(latest.schema) as avsc.Schema);
    const source = populationSource({ seed: 53, runId: 'namespace' });
    const sent = Array.from({ length: 200 }, (_, i) => source(i) as unknown as Record<string, unknown>);
    const producer = kafkaClient('namespace-producer').producer();
    await producer.connect();
    await producer.send([{ topic: topics.applications!, messages: sent.map((a) => ({ key: String(a.application_id), value: frame(latest.id, type.toBuffer(a)) })) }]);
    await producer.disconnect();

    const groupId = `scorer-namespace-${randomUUID().slice(0, 8)}`;
    const s = new ScorerService(loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: groupId, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'namespace', SCORER_FOLLOW_MODEL_UPDATES: 'false' })), createLogger('scorer', 'warn'));
    await s.start();
    try {
      await waitUntil('the scorer to catch up', async () => (await groupLag(groupId, topics.applications!)) === 0, 60_000, 250);
      const decisions = await decodeValues<{ application_id: string }>(registry, (await readTopic(topics.decisions!, { expected: sent.length })).messages);
      expect(new Set(decisions.map((d) => d.application_id))).toEqual(new Set(sent.map((a) => String(a.application_id))));
      expect(decisions.length).toBe(sent.length);
      // Nothing was ever written to the dead-letter topic (not even an aborted record or a marker).
      const admin = kafkaClient('namespace-admin').admin();
      const dlq = await admin.topicOffsets(topics.deadLetters!);
      admin.disconnect();
      expect(dlq.reduce((n, p) => n + p.high, 0)).toBe(0);
    } finally {
      await s.stop();
    }
  });

  it('scores every version that resolves to the reader schema and dead-letters the one that does not, with the reason', async () => {
    const topics = uniqueTopics('versions');
    await createTopics(topics, ['applications', 'decisions', 'scoringLog', 'deadLetters']);
    const registry = registryClient();
    const subject = `${topics.applications}-value`;
    const source = populationSource({ seed: 51, runId: 'versions' });
    const messages: { key: string; value: Buffer }[] = [];
    const scored: string[] = [];
    const unresolvable: string[] = [];
    let index = 0;
    for (const v of versions) {
      let id: number;
      try {
        id = await registry.registerSchema(subject, JSON.stringify(v.schema), 'BACKWARD');
      } catch (e) {
        // The registry decides what is a version of the subject; a refused one is not ours to read.
        console.error(`[versions] registry refused ${v.name}: ${(e as Error).message}`);
        expect(v.name).toMatch(/renamed/);
        continue;
      }
      const type = avsc.Type.forSchema(v.schema as avsc.Schema);
      for (let i = 0; i < PER_VERSION; i++) {
        const app = source(index++) as unknown as Record<string, unknown>;
        const fields = new Set((v.schema.fields as { name: string }[]).map((f) => f.name));
        const written = Object.fromEntries(Object.entries({ ...app, channel: i % 2 ? 'web' : null }).filter(([k]) => fields.has(k)));
        messages.push({ key: String(app.application_id), value: frame(id, type.toBuffer(written)) });
        (v.resolvable ? scored : unresolvable).push(String(app.application_id));
      }
    }
    // An int beyond 32 bits in bytes framed with v1's id: avsc alone would read it as 2^31.
    const v1Id = await registry.registerSchema(subject, JSON.stringify(v1), 'BACKWARD');
    const wide = avsc.Type.forSchema({ ...v1, fields: v1.fields.map((f) => (f.name === 'num_late_payments' ? { ...f, type: 'long' } : f)) } as avsc.Schema);
    const big: Record<string, unknown> = { ...(source(index) as unknown as Record<string, unknown>), num_late_payments: 2 ** 31 };
    messages.push({ key: String(big.application_id), value: frame(v1Id, wide.toBuffer(big)) });

    const producer = kafkaClient('versions-producer').producer();
    await producer.connect();
    await producer.send([{ topic: topics.applications!, messages }]);
    await producer.disconnect();

    const groupId = `scorer-versions-${randomUUID().slice(0, 8)}`;
    service = new ScorerService(loadScorerConfig(serviceEnv(topics, { SCORER_GROUP_ID: groupId, MODEL_DIR: initialModelDir(), SCORER_INSTANCE_ID: 'versions', SCORER_FOLLOW_MODEL_UPDATES: 'false' })), createLogger('scorer', 'warn'));
    await service.start();
    await waitUntil('the scorer to catch up', async () => (await groupLag(groupId, topics.applications!)) === 0, 60_000, 250);

    expect(scored.length).toBeGreaterThanOrEqual(3 * PER_VERSION);
    const decisions = await decodeValues<{ application_id: string }>(registry, (await readTopic(topics.decisions!, { expected: scored.length })).messages);
    expect(new Set(decisions.map((d) => d.application_id))).toEqual(new Set(scored));
    expect(decisions.length).toBe(scored.length);
    const dead = await decodeValues<{ error_code: string; reason: string; original_key: Buffer }>(registry, (await readTopic(topics.deadLetters!, { expected: unresolvable.length + 1 })).messages);
    expect(dead.length).toBe(unresolvable.length + 1);
    const byKey = new Map(dead.map((d) => [d.original_key.toString(), d]));
    for (const id of unresolvable) {
      expect(byKey.get(id)?.error_code).toBe('DECODE_WRONG_SCHEMA');
      expect(byKey.get(id)?.reason).toMatch(/cannot be read as com\.creditrisk\.v1\.LoanApplication by Avro schema resolution: .*loan_amount/);
    }
    const malformed = byKey.get(String(big.application_id));
    expect(malformed?.error_code).toBe('DECODE_MALFORMED');
    expect(malformed?.reason).toMatch(/field num_late_payments: int 2147483648 is outside 32 bits/);
  });
});
