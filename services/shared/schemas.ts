/**
 * The Avro schemas in schemas/ are the single source of truth for field names and order. Feature names are
 * the loan application's fields after `submitted_at`, in order.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMAS_DIR = join(REPO_ROOT, 'schemas');

export type SchemaName = string;

export interface AvroField {
  readonly name: string;
  readonly type: unknown;
  readonly doc?: string;
  readonly default?: unknown;
}
export interface AvroRecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly fields: readonly AvroField[];
}

const cache = new Map<string, AvroRecordSchema>();

export function loadSchema(name: string): AvroRecordSchema {
  let s = cache.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(join(SCHEMAS_DIR, `${name}.avsc`), 'utf8')) as AvroRecordSchema;
    cache.set(name, s);
  }
  return s;
}

/** Full Avro name (namespace.name) of the record `schemas/<name>.avsc` defines, e.g. com.creditrisk.v1.LoanApplication. */
export function recordName(name: string): string {
  const s = loadSchema(name);
  return s.namespace ? `${s.namespace}.${s.name}` : s.name;
}

export function schemaText(name: string): string {
  return JSON.stringify(loadSchema(name));
}

/** Fields of the loan application that are not model features. */
export const APPLICATION_META_FIELDS = ['application_id', 'submitted_at'] as const;

function featureNamesFromSchema(): readonly string[] {
  const fields = loadSchema('loan-application').fields.map((f) => f.name);
  const idx = fields.indexOf('submitted_at');
  if (fields[0] !== 'application_id' || idx !== 1) {
    throw new Error('schemas/loan-application.avsc must start with application_id, submitted_at, then the features');
  }
  return Object.freeze(fields.slice(idx + 1));
}

/** Feature names in model input order. */
export const FEATURE_NAMES: readonly string[] = featureNamesFromSchema();

/** Avro primitive type of each feature ('int' or 'double'). */
export const FEATURE_TYPES: Readonly<Record<string, 'int' | 'double'>> = Object.freeze(
  Object.fromEntries(
    loadSchema('loan-application')
      .fields.filter((f) => FEATURE_NAMES.includes(f.name))
      .map((f) => {
        if (f.type !== 'int' && f.type !== 'double') throw new Error(`feature ${f.name} must be int or double, is ${JSON.stringify(f.type)}`);
        return [f.name, f.type];
      }),
  ) as Record<string, 'int' | 'double'>,
);
