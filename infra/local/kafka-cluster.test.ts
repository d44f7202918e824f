import { describe, expect, it } from 'vitest';
import { brokerConfig, brokerNodes, internalReplication, renderBrokerConfig } from './kafka-cluster.ts';

describe('brokerNodes', () => {
  it('keeps the single broker in the historic layout and gives N nodes their own folders and ports', () => {
    const [one] = brokerNodes('/s', 1, { port: 19092, controllerPort: 19093 });
    expect(one).toMatchObject({ id: 1, port: 19092, controllerPort: 19093, dataDir: '/s/kafka-data', pidFile: '/s/kafka.pid' });
    const three = brokerNodes('/s', 3, { port: 19092, controllerPort: 19093 });
    expect(three.map((n) => [n.id, n.port, n.controllerPort])).toEqual([
      [1, 19092, 19093],
      [2, 19094, 19095],
      [3, 19096, 19097],
    ]);
    expect(three[2]!.dataDir).toBe('/s/cluster-3/node-3/kafka-data');
  });

  it('refuses a layout whose ports collide, naming the port', () => {
    expect(() => brokerNodes('/s', 3, { port: 19092, controllerPort: 19094 })).toThrow(/port 19094 is used twice/);
    expect(() => brokerNodes('/s', 0, { port: 1, controllerPort: 2 })).toThrow(/STACK_BROKERS/);
  });
});

describe('brokerConfig', () => {
  it('writes one voter per node and replicates internal topics min(3, N) times with min.isr 2 on three nodes', () => {
    const nodes = brokerNodes('/s', 3, { port: 100, controllerPort: 101 });
    const text = renderBrokerConfig(brokerConfig(nodes[1]!, nodes));
    expect(text).toContain('node.id=2\n');
    expect(text).toContain('controller.quorum.voters=1@127.0.0.1:101,2@127.0.0.1:103,3@127.0.0.1:105\n');
    expect(text).toContain('listeners=PLAINTEXT://127.0.0.1:102,CONTROLLER://127.0.0.1:103\n');
    expect(text).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:102\n');
    expect(text).toContain('offsets.topic.replication.factor=3\n');
    expect(text).toContain('transaction.state.log.min.isr=2\n');
  });

  it('derives the protocol map from the listener list, so an added listener is complete in one place', () => {
    const nodes = brokerNodes('/s', 1, { port: 100, controllerPort: 101 });
    const c = brokerConfig(nodes[0]!, nodes, { 'broker.session.timeout.ms': '6000' });
    c.listeners.push({ name: 'SSL', host: '127.0.0.1', port: 110, protocol: 'SSL', advertised: true });
    const text = renderBrokerConfig(c);
    expect(text).toContain('listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL\n');
    expect(text).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:100,SSL://127.0.0.1:110\n');
    expect(text).toContain('broker.session.timeout.ms=6000\n');
    expect(internalReplication(1)).toEqual({ replicationFactor: 1, minInsync: 1 });
  });
});
