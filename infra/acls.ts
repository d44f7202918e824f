/**
 * infra/acls.json -> Kafka ACLs. The pure half turns the file (plus topic names and env overrides) into
 * the exact list of ACL bindings and plans the reconciliation (planAcls); the I/O half applies the plan
 * through services/shared/kafka/acl-admin.ts (the cluster's ACL admin API): missing bindings are created, bindings of a declared principal that the file does not declare are
 * deleted, so applying twice changes nothing and a revoked permission really goes away.
 *
 *   node --import tsx infra/acls.ts apply    reconcile the cluster in KAFKA_* (connect as a super user)
 *   node --import tsx infra/acls.ts provision   the same, after creating the missing topics of infra/topics.json
 *   node --import tsx infra/acls.ts print    print the bindings the file declares
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AclAdmin, AclEntry } from '../services/shared/kafka/acl-admin.ts';
import { REPO_ROOT } from '../services/shared/schemas.ts';
import { topicNamesFromEnv, TOPICS_FILE } from '../services/shared/kafka/topic-catalog.ts';

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

/** One ALLOW binding, in words (as the file declares it). */
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

/** The binding as the cluster stores it (every declared binding is an ALLOW for any host). */
export function toEntry(b: AclBinding): AclEntry {
  return { principal: b.principal, resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.pattern, host: '*', operation: b.operation, permission: 'allow' };
}

const keyOf = (a: AclEntry) => [a.principal, a.resourceType, a.patternType, a.resourceName, a.host, a.operation, a.permission].join('|');

/**
 * The reconciliation, pure: what to create (declared, not on the cluster) and what to delete (on the
 * cluster for a declared principal, not declared: a revoked permission, a DENY, a host-scoped copy).
 */
export function planAcls(bindings: readonly AclBinding[], existing: readonly AclEntry[]): { create: AclEntry[]; remove: AclEntry[]; unchanged: number } {
  const wanted = new Map(bindings.map((b) => [keyOf(toEntry(b)), toEntry(b)]));
  const have = new Map(existing.map((a) => [keyOf(a), a]));
  const create = [...wanted].filter(([k]) => !have.has(k)).map(([, a]) => a);
  const remove = [...have].filter(([k]) => !wanted.has(k)).map(([, a]) => a);
  return { create, remove, unchanged: wanted.size - create.length };
}

/**
 * Reconciles the cluster's ACLs for the principals in `principals` to `bindings`: creates what is missing,
 * deletes what is not declared. Returns what it changed. `acl` must connect as a super user.
 */
export async function applyAcls(acl: AclAdmin, bindings: readonly AclBinding[], principals: readonly string[]): Promise<{ created: number; deleted: number; unchanged: number }> {
  const plan = planAcls(bindings, await acl.describe(principals.map((p) => `User:${p}`)));
  await acl.create(plan.create);
  await acl.delete(plan.remove);
  return { created: plan.create.length, deleted: plan.remove.length, unchanged: plan.unchanged };
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
  if (argv[0] === 'provision') {
    const { connectionFromEnv } = await import('../services/shared/kafka/connection.ts');
    const { createKafka } = await import('../services/shared/kafka/client.ts');
    const { ensureTopics } = await import('../services/shared/kafka/topics.ts');
    const admin = createKafka(connectionFromEnv(), 'acls').admin();
    try {
      const t = await ensureTopics(admin, topicNamesFromEnv(process.env), Object.keys(TOPICS_FILE.topics));
      console.error(`topics: ${t.created.length} created, ${t.existing.length} existing`);
    } finally {
      admin.disconnect();
    }
  }
  const { AclAdmin } = await import('../services/shared/kafka/acl-admin.ts');
  const r = await applyAcls(new AclAdmin(process.env), bindings, Object.keys(file.principals));
  console.error(`ACLs of ${Object.keys(file.principals).join(', ')}: ${r.created} created, ${r.deleted} deleted, ${r.unchanged} unchanged`);
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
