import { describe, expect, it } from 'vitest';
import { GroupCommitter, mergeTopicMessages, type OffsetToCommit, type TopicMessages } from './group-commit.ts';

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
