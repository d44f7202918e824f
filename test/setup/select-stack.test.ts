/** The one cluster decision of a test run (unit: no Docker, no broker). */
import { describe, expect, it } from 'vitest';
import { handOver, selectStack, type StackEnv } from './select-stack.ts';

const docker = (answers: boolean) => () => answers;
const never = () => {
  throw new Error('asked Docker although the choice was already made');
};
const EXT = { KAFKA_BROKERS: 'b:9092', SCHEMA_REGISTRY_URL: 'http://r' };

describe('selectStack', () => {
  it('follows TEST_STACK', () => {
    expect(selectStack({ TEST_STACK: 'containers' }, never)).toEqual({ kind: 'containers' });
    expect(selectStack({ TEST_STACK: 'local' }, never)).toEqual({ kind: 'local' });
    expect(selectStack({ TEST_STACK: 'external', ...EXT }, never)).toEqual({ kind: 'external', brokers: 'b:9092', registryUrl: 'http://r' });
  });

  it('unset: the configured cluster, else containers when Docker answers, else the local jars', () => {
    expect(selectStack({ ...EXT }, never)).toEqual({ kind: 'external', brokers: 'b:9092', registryUrl: 'http://r' });
    expect(selectStack({}, docker(true))).toEqual({ kind: 'containers' });
    expect(selectStack({ TEST_STACK: '' }, docker(false))).toEqual({ kind: 'local' });
    expect(selectStack({ KAFKA_BROKERS: 'b:9092' }, docker(false))).toEqual({ kind: 'local' });
  });

  it('refuses a bad TEST_STACK and external without its variables, naming them', () => {
    expect(() => selectStack({ TEST_STACK: 'docker' }, never)).toThrow(/TEST_STACK must be external, containers or local.*"docker"/);
    expect(() => selectStack({ TEST_STACK: 'external', KAFKA_BROKERS: 'b:9092' }, never)).toThrow(/KAFKA_BROKERS and SCHEMA_REGISTRY_URL/);
  });

  // CI sets TEST_STACK=containers: the runner starts containers once; each vitest lane's global setup must
  // then use them, not start a second Kafka on the same fixed host port.
  it.each(['containers', 'local', 'external', undefined])('one cluster per run with TEST_STACK=%s: the lanes use the runner\'s', (mode) => {
    const user: StackEnv = { ...(mode ? { TEST_STACK: mode } : {}), ...(mode === 'external' ? EXT : {}) };
    const first = selectStack(user, docker(true));
    const started = first.kind === 'external' ? first : { brokers: 'localhost:29092', registryUrl: 'http://localhost:18081/apis/ccompat/v7' };
    const lane = handOver({ ...user }, started.brokers, started.registryUrl);
    expect(selectStack(lane, never)).toEqual({ kind: 'external', brokers: started.brokers, registryUrl: started.registryUrl });
  });
});
