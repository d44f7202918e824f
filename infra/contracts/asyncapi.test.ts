import { readFileSync } from 'node:fs';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { fromFile, Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { loadSchema } from '../../services/shared/schemas.ts';
import { ASYNCAPI_FILE, asyncApiYaml, camel } from './asyncapi.ts';

describe('docs/asyncapi.yaml', () => {
  it('is what infra/contracts/asyncapi.ts generates from infra/topics.json and schemas/ (run `make contracts` when this fails)', () => {
    expect(readFileSync(ASYNCAPI_FILE, 'utf8')).toBe(asyncApiYaml());
  });

  it('is a valid AsyncAPI document whose channels, operations and Avro payloads match the sources', async () => {
    const parser = new Parser({ schemaParsers: [AvroSchemaParser()] });
    const { document, diagnostics } = await fromFile(parser, ASYNCAPI_FILE).parse();
    // severity 0 = error, 1 = warning
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document).toBeDefined();
    const doc = document!;
    const roles = Object.keys(TOPICS_FILE.topics);
    expect(doc.channels().all().map((c) => c.id()).sort()).toEqual([...roles].sort());
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) {
      const channel = doc.channels().get(role)!;
      expect(channel.address()).toBe(def.name);
      const [message] = channel.messages().all();
      // The payload is the .avsc itself, resolved and converted by the Avro schema parser.
      const props = Object.keys(message!.payload()!.properties() ?? {});
      expect(props, role).toEqual(loadSchema(def.schema).fields.map((f) => f.name));
      const ops = channel.operations().all();
      expect(ops.filter((o) => o.action() === 'send').length, `${role} publishers`).toBe(def.publishers?.length ?? 0);
      expect(ops.filter((o) => o.action() === 'receive').length, `${role} subscribers`).toBe(def.subscribers?.length ?? 0);
    }
  });

  it('every topic names its publishers, subscribers and delivery semantics', () => {
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) {
      expect(def.publishers?.length, role).toBeGreaterThan(0);
      expect(def.subscribers?.length, role).toBeGreaterThan(0);
      expect(def.delivery, role).toMatch(/\w/);
    }
  });

  it('camel() makes identifiers from service names', () => {
    expect(camel('upstream loan systems')).toBe('upstreamLoanSystems');
    expect(camel('drift monitor (aggregator)')).toBe('driftMonitorAggregator');
  });
});
