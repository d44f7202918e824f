import { describe, expect, it } from 'vitest';
import { mergeTopicMessages, messageBytes, splitBySize } from '../shared/kafka/messages.ts';
import { GroupCommitter, type OffsetToCommit, type TopicMessages } from './group-commit.ts';

const msg = (topic: string, ...values: string[]): TopicMessages => ({ topic, messages: values.map((v) => ({ key: v, value: Buffer.from(v) })) });
const off = (partition: number, offset: number): OffsetToCommit => ({ topic: 'in', partition, offset: String(offset) });

describe('mergeTopicMessages', () => {
  it('merges per topic in arrival order and drops empty lists', () => {
    const merged = mergeTopicMessages([[msg('a', '1', '2'), msg('b')], [msg('a', '3'), msg('b', 'x')]]);
    expect(merged.map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['a', ['1', '2', '3']],
      ['b', ['x']],
    ]);
  });
});

describe('GroupCommitter', () => {
  it('commits chunks that arrive while a commit is in flight together in the next one', async () => {
    const commits: { topics: string[]; offsets: OffsetToCommit[] }[] = [];
    let release!: () => void;
    let first = true;
    const c = new GroupCommitter(async (messages, offsets) => {
      commits.push({ topics: messages.map((m) => `${m.topic}:${m.messages.length}`), offsets });
      if (first) {
        first = false;
        await new Promise<void>((r) => (release = r));
      }
    });
    const p0 = c.commit([msg('out', 'a')], [off(0, 10)]);
    await new Promise((r) => setTimeout(r, 5));
    const p1 = c.commit([msg('out', 'b', 'c')], [off(1, 20)]);
    const p2 = c.commit([msg('out', 'd')], [off(2, 30)]);
    release();
    await Promise.all([p0, p1, p2]);
    expect(commits).toEqual([
      { topics: ['out:1'], offsets: [off(0, 10)] },
      { topics: ['out:3'], offsets: [off(1, 20), off(2, 30)] },
    ]);
  });

  it('rejects every chunk of a failed commit and keeps serving later ones', async () => {
    let fail = true;
    const c = new GroupCommitter(async () => {
      if (fail) throw new Error('tx aborted');
    });
    const a = c.commit([msg('out', 'a')], [off(0, 1)]);
    const b = c.commit([msg('out', 'b')], [off(1, 1)]);
    await expect(a).rejects.toThrow('tx aborted');
    await expect(b).rejects.toThrow('tx aborted');
    fail = false;
    await expect(c.commit([msg('out', 'c')], [off(0, 2)])).resolves.toBeUndefined();
  });

  it('joins chunks submitted in the same tick into one commit', async () => {
    const sizes: number[] = [];
    const c = new GroupCommitter(async (_m, offsets) => void sizes.push(offsets.length));
    await Promise.all([0, 1, 2, 3].map((p) => c.commit([], [off(p, 1)])));
    expect(sizes).toEqual([4]);
  });
});

describe('splitBySize', () => {
  const big = (topic: string, n: number, bytes: number): TopicMessages => ({
    topic,
    messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(bytes, i % 256) })),
  });

  it('keeps every send under the budget, loses nothing and keeps per-topic order', () => {
    const input = [big('decisions', 300, 1000), big('log', 300, 3000)];
    const sends = splitBySize(input, 100_000);
    expect(sends.length).toBeGreaterThan(1);
    for (const send of sends) expect(send.flatMap((t) => t.messages).reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(100_000);
    for (const topic of ['decisions', 'log']) {
      const keys = sends.flatMap((s) => s.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.key)));
      expect(keys).toEqual(input.find((t) => t.topic === topic)!.messages.map((m) => m.key));
    }
  });

  it('puts a single message larger than the budget in a send of its own', () => {
    const sends = splitBySize([big('t', 3, 50_000)], 10_000);
    expect(sends.map((s) => s[0]!.messages.length)).toEqual([1, 1, 1]);
  });

  it('sends nothing for no messages', () => {
    expect(splitBySize([], 1000)).toEqual([]);
  });
});
