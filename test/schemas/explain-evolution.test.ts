/**
 * The explanation and approval fields are BACKWARD-compatible evolutions: the real registry accepts each
 * new schema over the one before it, and records written with the old schema read with the new one get
 * the defaults (no reasons, no contributions, no approval).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, schemaText } from '../../services/shared/schemas.ts';
import { registryClient, uniqueTopics } from '../helpers/cluster.ts';

const BEFORE = join(REPO_ROOT, 'test', 'fixtures', 'schemas-before-explain');
const EVOLVED = ['loan-decision', 'scoring-log', 'model-update', 'model-event'] as const;

describe('explanation fields in the registry', () => {
  it.each(EVOLVED)('%s: the registry accepts the new schema over the previous one (BACKWARD)', async (name) => {
    const registry = registryClient();
    const subject = `${uniqueTopics('explain').decisions}-${name}-value`;
    const before = readFileSync(join(BEFORE, `${name}.avsc`), 'utf8');
    const v1 = await registry.registerSchema(subject, JSON.stringify(JSON.parse(before)));
    const v2 = await registry.registerSchema(subject, schemaText(name));
    expect(v2).not.toBe(v1);
    expect(await registry.compatibility(subject)).toBe('BACKWARD');
  });

  it('old records read with the new schemas take the defaults', () => {
    const type = (text: string) => avro.Type.forSchema(JSON.parse(text) as avro.Schema, { logicalTypes: {} });
    const oldDecision = type(readFileSync(join(BEFORE, 'loan-decision.avsc'), 'utf8'));
    const newDecision = type(schemaText('loan-decision'));
    const record = {
      application_id: 'a',
      probability_of_default: 0.7,
      predicted_class: 1,
      risk_category: 'HIGH',
      decision: 'DECLINE',
      model_name: 'm',
      model_version: '1',
      submitted_at: 1,
      scored_at: 2,
      source_topic: 't',
      source_partition: 0,
      source_offset: 3,
    };
    const read = newDecision.createResolver(oldDecision);
    expect(newDecision.fromBuffer(oldDecision.toBuffer(record), read)).toMatchObject({ ...record, reasons: [] });
    const oldUpdate = type(readFileSync(join(BEFORE, 'model-update.avsc'), 'utf8'));
    const newUpdate = type(schemaText('model-update'));
    const update = { model_name: 'm', version: '2', artifact_uri: 'x', sha256: 'y', action: 'PROMOTE', previous_version: null, metrics: {}, reason: '', announced_at: 5, announced_by: 'me' };
    expect(newUpdate.fromBuffer(oldUpdate.toBuffer(update), newUpdate.createResolver(oldUpdate))).toMatchObject({ ...update, approval: null });
  });
});
