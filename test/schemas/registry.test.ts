/** Schemas in the real registry: topic-name strategy, BACKWARD compatibility enforced by the registry. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../services/shared/errors.ts';
import { TOPICS_FILE } from '../../services/shared/kafka/topic-catalog.ts';
import { loadSchema, SCHEMAS_DIR, schemaText } from '../../services/shared/schemas.ts';
import { registryClient, stack, uniqueTopics } from '../helpers/cluster.ts';

describe('schema registry', () => {
  it('registers every topic schema under <topic>-value with BACKWARD compatibility, idempotently', async () => {
    const registry = registryClient();
    const topics = uniqueTopics('reg');
    for (const [role, def] of Object.entries(TOPICS_FILE.topics)) {
      const id = await registry.registerValueSchema(topics[role]!, def.schema);
      expect(await registry.registerValueSchema(topics[role]!, def.schema)).toBe(id);
      const res = await fetch(`${stack().registryUrl}/config/${topics[role]}-value`);
      expect(((await res.json()) as { compatibilityLevel?: string }).compatibilityLevel).toBe('BACKWARD');
    }
  });

  it('several instances registering the same new subject at once all succeed with the same id', async () => {
    const topic = uniqueTopics('race').decisions!;
    const ids = await Promise.all(Array.from({ length: 6 }, () => registryClient().registerValueSchema(topic, 'loan-decision')));
    expect(new Set(ids).size).toBe(1);
    expect(await registryClient().compatibility(`${topic}-value`)).toBe('BACKWARD');
  });

  it('every schema file is used by a topic definition', () => {
    const used = new Set(Object.values(TOPICS_FILE.topics).map((t) => t.schema));
    const files = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc')).map((f) => f.replace(/\.avsc$/, ''));
    for (const f of files) expect(used.has(f) || f.startsWith('drift-'), `${f}.avsc has no topic`).toBe(true);
  });

  it('refuses an incompatible change and accepts a compatible one', async () => {
    const registry = registryClient();
    const topic = uniqueTopics('compat').applications!;
    await registry.registerValueSchema(topic, 'loan-application');
    const base = loadSchema('loan-application');

    // A new required field without a default: old data cannot be read with it -> not BACKWARD compatible.
    const incompatible = { ...base, fields: [...base.fields, { name: 'employment_years', type: 'int' }] };
    const refused = await registry.registerSchema(`${topic}-value`, JSON.stringify(incompatible)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceError);
    expect((refused as ServiceError).code).toBe('SCHEMA_REGISTRATION_FAILED');
    expect((refused as ServiceError).retriable).toBe(false);
    expect((refused as ServiceError).message).toMatch(/incompatible/);

    // A new optional field with a default is BACKWARD compatible.
    const compatible = { ...base, fields: [...base.fields, { name: 'channel', type: ['null', 'string'], default: null }] };
    const id = await registry.registerSchema(`${topic}-value`, JSON.stringify(compatible));
    expect(id).toBeGreaterThan(0);
    expect(await registry.registerSchema(`${topic}-value`, schemaText('loan-application'))).not.toBe(id);
  });
});
