import { describe, expect, it } from 'vitest';
import { replicationOf, TOPICS_FILE } from './topic-catalog.ts';

describe('replicationOf', () => {
  it("leaves replication to the cluster's defaults unless the role pins it", () => {
    expect(replicationOf({})).toEqual({ replicationFactor: -1, config: {} });
    expect(replicationOf({ replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({ replicationFactor: 3, config: { 'min.insync.replicas': '2' } });
    expect(replicationOf({ replicationFactor: 1 })).toEqual({ replicationFactor: 1, config: {} });
  });

  it('infra/topics.json pins no replication by default', () => {
    expect(Object.keys(TOPICS_FILE.defaults).filter((k) => !k.startsWith('$'))).toEqual(['partitions']);
  });
});
