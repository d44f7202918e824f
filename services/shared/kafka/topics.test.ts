import { describe, expect, it } from 'vitest';
import { protocolErrorTypes, replicationFor, TOPICS_FILE } from './topics.ts';

describe('replicationFor', () => {
  it('gives RF 3 and min.insync 2 on three brokers, RF 1 and min.insync 1 on one', () => {
    expect(replicationFor({}, 3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(replicationFor({}, 1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('caps the factor at the broker count and min.insync at replicas - 1 so one broker may be down', () => {
    expect(replicationFor({}, 2)).toEqual({ replicationFactor: 2, minInsyncReplicas: 1 });
    expect(replicationFor({}, 7)).toEqual({ replicationFactor: TOPICS_FILE.defaults.replicationFactor, minInsyncReplicas: TOPICS_FILE.defaults.minInsyncReplicas });
  });

  it("lets a role's own settings win over the defaults", () => {
    expect(replicationFor({ replicationFactor: 5, minInsyncReplicas: 3 }, 5)).toEqual({ replicationFactor: 5, minInsyncReplicas: 3 });
    expect(replicationFor({ replicationFactor: 1 }, 3)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });
});

describe('protocolErrorTypes', () => {
  it("finds the protocol error types through kafkajs' causes and an aggregate's errors", () => {
    const invalid = Object.assign(new Error('Replication factor: 3 larger than available brokers: 2.'), { type: 'INVALID_REPLICATION_FACTOR' });
    const aggregate = Object.assign(new Error('Topic creation errors'), { errors: [invalid, Object.assign(new Error('exists'), { type: 'TOPIC_ALREADY_EXISTS' })] });
    const wrapped = Object.assign(new Error('non-retriable'), { cause: aggregate });
    expect(protocolErrorTypes(wrapped)).toEqual(['INVALID_REPLICATION_FACTOR', 'TOPIC_ALREADY_EXISTS']);
    expect(protocolErrorTypes(new Error('plain'))).toEqual([]);
    expect(protocolErrorTypes(undefined)).toEqual([]);
  });
});
