import { describe, expect, it } from 'vitest';
import { aclBindings, describeBinding, loadAclFile, planAcls, toEntry, type AclBinding } from './acls.ts';
import { TOPICS_FILE } from '../services/shared/kafka/topic-catalog.ts';

const defaults = Object.fromEntries(Object.entries(TOPICS_FILE.topics).map(([role, d]) => [role, d.name]));
const lines = (env: NodeJS.ProcessEnv = {}, topics = defaults) => aclBindings(loadAclFile(), topics, env).map(describeBinding);

describe('infra/acls.json -> ACL bindings', () => {
  it("grants the scorer exactly its topics, group, transactional-id prefix and idempotent write", () => {
    const scorer = lines().filter((l) => l.startsWith('User:scorer '));
    expect(scorer.sort()).toEqual(
      [
        'User:scorer may READ topic loan-applications',
        'User:scorer may READ topic model-updates',
        'User:scorer may WRITE topic loan-decisions',
        'User:scorer may WRITE topic scoring-log',
        'User:scorer may WRITE topic loan-applications-dlq',
        'User:scorer may WRITE topic model-events',
        'User:scorer may READ group credit-scorer',
        'User:scorer may READ group model-updates-scorer@*',
        'User:scorer may WRITE transactional-id credit-scorer-*',
        'User:scorer may IDEMPOTENT-WRITE cluster kafka-cluster',
      ].sort(),
    );
  });

  it('least privilege: only the pipeline writes model-updates, only the simulator writes applications and outcomes, nobody but the drift monitor and the pipeline reads outcomes', () => {
    const all = lines();
    expect(all.filter((l) => l.endsWith('WRITE topic model-updates'))).toEqual(['User:pipeline may WRITE topic model-updates']);
    expect(all.filter((l) => / WRITE topic (loan-applications|loan-outcomes)$/.test(l)).sort()).toEqual(['User:simulator may WRITE topic loan-applications', 'User:simulator may WRITE topic loan-outcomes']);
    expect(all.filter((l) => l.endsWith('READ topic loan-outcomes')).sort()).toEqual(['User:drift may READ topic loan-outcomes', 'User:pipeline may READ topic loan-outcomes']);
  });

  it('applicant demographics: only the drift monitor reads them, only the simulator writes them (segregated from the decision path)', () => {
    const all = lines();
    expect(all.filter((l) => l.endsWith('READ topic applicant-demographics'))).toEqual(['User:drift may READ topic applicant-demographics']);
    expect(all.filter((l) => l.endsWith('WRITE topic applicant-demographics'))).toEqual(['User:simulator may WRITE topic applicant-demographics']);
    expect(all.filter((l) => /^User:(scorer|pipeline) .*applicant-demographics/.test(l))).toEqual([]);
  });

  it('follows topic names and the group variables', () => {
    const l = lines({ SCORER_GROUP_ID: 'g2', DRIFT_GROUP_ID: 'd2' }, { ...defaults, applications: 'apps-2' });
    expect(l).toContain('User:scorer may READ topic apps-2');
    expect(l).toContain('User:scorer may READ group g2');
    expect(l).toContain('User:scorer may WRITE transactional-id g2-*');
    expect(l).toContain('User:drift may READ group d2*');
    expect(l).not.toContain('User:scorer may READ group credit-scorer');
  });
});

describe('planAcls: reconciling a cluster to the declared bindings', () => {
  const declared: AclBinding[] = [
    { principal: 'User:scorer', resourceType: 'topic', resourceName: 'loan-applications', pattern: 'literal', operation: 'read' },
    { principal: 'User:scorer', resourceType: 'cluster', resourceName: 'kafka-cluster', pattern: 'literal', operation: 'idempotent-write' },
  ];

  it('creates what is missing and leaves what is there', () => {
    const plan = planAcls(declared, [toEntry(declared[0]!)]);
    expect(plan.create).toEqual([toEntry(declared[1]!)]);
    expect(plan.remove).toEqual([]);
    expect(plan.unchanged).toBe(1);
  });

  it('deletes a revoked permission, a DENY and a host-scoped copy of a declared principal; applying the plan twice changes nothing', () => {
    const revoked = toEntry({ principal: 'User:scorer', resourceType: 'topic', resourceName: 'loan-outcomes', pattern: 'literal', operation: 'read' });
    const deny = { ...toEntry(declared[0]!), permission: 'deny' as const };
    const hostScoped = { ...toEntry(declared[0]!), host: '10.0.0.1' };
    const plan = planAcls(declared, [toEntry(declared[0]!), revoked, deny, hostScoped]);
    expect(plan.remove).toEqual([revoked, deny, hostScoped]);
    expect(plan.create).toEqual([toEntry(declared[1]!)]);
    const after = planAcls(declared, declared.map(toEntry));
    expect([after.create.length, after.remove.length, after.unchanged]).toEqual([0, 0, 2]);
  });

  it('a prefixed binding is not the literal one of the same name', () => {
    const prefixed = { ...declared[0]!, pattern: 'prefixed' as const };
    const plan = planAcls([prefixed], [toEntry(declared[0]!)]);
    expect(plan.create).toEqual([toEntry(prefixed)]);
    expect(plan.remove).toEqual([toEntry(declared[0]!)]);
  });
});
