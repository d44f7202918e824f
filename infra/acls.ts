/**
 * infra/acls.json -> Kafka ACLs. The pure half turns the file (plus topic names and env overrides) into
 * the exact list of ACL bindings; the I/O half reconciles a cluster to it through the admin API:
 * missing bindings are created, bindings of a declared principal that the file does not declare are
 * deleted, so applying twice changes nothing and a revoked permission really goes away.
 *
 *   node --import tsx infra/acls.ts apply    reconcile the cluster in KAFKA_* (connect as a super user)
 *   node --import tsx infra/acls.ts provision   the same, after creating the missing topics of infra/topics.json
 *   node --import tsx infra/acls.ts print    print the bindings the file declares
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import kafkajs from '../services/shared/kafka/kafkajs.ts';
import { REPO_ROOT } from '../services/shared/schemas.ts';
import { topicNamesFromEnv, TOPICS_FILE } from '../services/shared/kafka/topics.ts';

// kafkajs is CommonJS and these enums are not statically detectable as named exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export interface NamedResource {
  readonly name: string;
  readonly env?: string;
  readonly suffix?: string;
  readonly pattern: 'literal' | 'prefixed';
  readonly why?: string;
}

export interface PrincipalGrant {
  readonly description: string;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly groups: readonly NamedResource[];
  readonly transactionalIds: readonly NamedResource[];
  readonly idempotentWrite: boolean;
}

export interface AclFile {
  readonly superUsers: readonly string[];
  readonly principals: Readonly<Record<string, PrincipalGrant>>;
}

export const ACLS_PATH = join(REPO_ROOT, 'infra', 'acls.json');

export function loadAclFile(path = ACLS_PATH): AclFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as AclFile;
  for (const [principal, grant] of Object.entries(file.principals)) {
    for (const role of [...grant.read, ...grant.write]) {
      if (!TOPICS_FILE.topics[role]) throw new Error(`${path}: principal "${principal}" names topic role "${role}", which infra/topics.json does not define`);
    }
  }
  return file;
}

export type ResourceType = 'topic' | 'group' | 'transactional-id' | 'cluster';
export type Operation = 'read' | 'write' | 'idempotent-write';

/** One ALLOW binding, in words (the admin-API enums are applied at the edge). */
export interface AclBinding {
  readonly principal: string;
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly pattern: 'literal' | 'prefixed';
  readonly operation: Operation;
}

function resolveName(r: NamedResource, env: NodeJS.ProcessEnv): string {
  return `${(r.env && env[r.env]) || r.name}${r.suffix ?? ''}`;
}

/** The bindings `file` declares, with topic names from `topics` (role -> name) and env overrides from `env`. */
export function aclBindings(file: AclFile, topics: Readonly<Record<string, string>> = topicNamesFromEnv(process.env), env: NodeJS.ProcessEnv = process.env): AclBinding[] {
  const out: AclBinding[] = [];
  for (const [name, g] of Object.entries(file.principals)) {
    const principal = `User:${name}`;
    const topic = (role: string) => topics[role] ?? TOPICS_FILE.topics[role]!.name;
    for (const role of g.read) out.push({ principal, resourceType: 'topic', resourceName: topic(role), pattern: 'literal', operation: 'read' });
    for (const role of g.write) out.push({ principal, resourceType: 'topic', resourceName: topic(role), pattern: 'literal', operation: 'write' });
    for (const r of g.groups) out.push({ principal, resourceType: 'group', resourceName: resolveName(r, env), pattern: r.pattern, operation: 'read' });
    for (const r of g.transactionalIds) out.push({ principal, resourceType: 'transactional-id', resourceName: resolveName(r, env), pattern: r.pattern, operation: 'write' });
    if (g.idempotentWrite) out.push({ principal, resourceType: 'cluster', resourceName: 'kafka-cluster', pattern: 'literal', operation: 'idempotent-write' });
  }
  return out;
}

const RESOURCE = { topic: AclResourceTypes.TOPIC, group: AclResourceTypes.GROUP, 'transactional-id': AclResourceTypes.TRANSACTIONAL_ID, cluster: AclResourceTypes.CLUSTER } as const;
const OPERATION = { read: AclOperationTypes.READ, write: AclOperationTypes.WRITE, 'idempotent-write': AclOperationTypes.IDEMPOTENT_WRITE } as const;
const PATTERN = { literal: ResourcePatternTypes.LITERAL, prefixed: ResourcePatternTypes.PREFIXED } as const;

function toKafka(b: AclBinding) {
  return {
    resourceType: RESOURCE[b.resourceType],
    resourceName: b.resourceName,
    resourcePatternType: PATTERN[b.pattern],
    principal: b.principal,
    host: '*',
    operation: OPERATION[b.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

type KafkaAcl = ReturnType<typeof toKafka>;
const keyOf = (a: Pick<KafkaAcl, 'resourceType' | 'resourceName' | 'resourcePatternType' | 'principal' | 'host' | 'operation' | 'permissionType'>) =>
  [a.principal, a.resourceType, a.resourcePatternType, a.resourceName, a.host, a.operation, a.permissionType].join('|');

/**
 * Reconciles the cluster's ACLs for the principals in `principals` to `bindings`: creates what is missing,
 * deletes what is not declared. Returns what it changed. `admin` must be connected as a super user.
 */
export async function applyAcls(admin: Admin, bindings: readonly AclBinding[], principals: readonly string[]): Promise<{ created: number; deleted: number; unchanged: number }> {
  const wanted = new Map(bindings.map((b) => [keyOf(toKafka(b)), toKafka(b)]));
  const existing = new Map<string, KafkaAcl>();
  for (const p of principals) {
    const res = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: `User:${p}`,
      host: '*',
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    } as Parameters<Admin['describeAcls']>[0]);
    for (const r of res.resources) {
      for (const a of r.acls) {
        const acl = { resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType } as KafkaAcl;
        existing.set(keyOf(acl), acl);
      }
    }
  }
  const create = [...wanted].filter(([k]) => !existing.has(k)).map(([, a]) => a);
  const remove = [...existing].filter(([k]) => !wanted.has(k)).map(([, a]) => a);
  if (create.length) await admin.createAcls({ acl: create });
  if (remove.length) await admin.deleteAcls({ filters: remove });
  return { created: create.length, deleted: remove.length, unchanged: wanted.size - create.length };
}

/** A human-readable line per binding (for `print`, docs and test failure messages). */
export function describeBinding(b: AclBinding): string {
  return `${b.principal} may ${b.operation.toUpperCase()} ${b.resourceType} ${b.pattern === 'prefixed' ? `${b.resourceName}*` : b.resourceName}`;
}

async function main(argv: string[]): Promise<number> {
  const file = loadAclFile();
  const bindings = aclBindings(file);
  if (argv[0] === 'print') {
    for (const b of bindings) console.log(describeBinding(b));
    return 0;
  }
  if (argv[0] !== 'apply' && argv[0] !== 'provision') {
    console.error(`usage: acls.ts apply|provision|print (got "${argv[0] ?? ''}")`);
    return 2;
  }
  const { connectionFromEnv } = await import('../services/shared/kafka/connection.ts');
  const { createKafka } = await import('../services/shared/kafka/client.ts');
  const admin = createKafka(connectionFromEnv(), 'acls').admin();
  await admin.connect();
  try {
    if (argv[0] === 'provision') {
      const { ensureTopics } = await import('../services/shared/kafka/topics.ts');
      const t = await ensureTopics(admin, topicNamesFromEnv(process.env), Object.keys(TOPICS_FILE.topics));
      console.error(`topics: ${t.created.length} created, ${t.existing.length} existing`);
    }
    const r = await applyAcls(admin, bindings, Object.keys(file.principals));
    console.error(`ACLs of ${Object.keys(file.principals).join(', ')}: ${r.created} created, ${r.deleted} deleted, ${r.unchanged} unchanged`);
  } finally {
    await admin.disconnect();
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
