import { describe, expect, it } from 'vitest';
import { backoffMs, ClientSupervisor, failureReason, type SessionContext } from './supervisor.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function harness(opts: { deadlineMs?: number; failOpens?: number } = {}) {
  const sessions: { id: number; ctx: SessionContext; closed: boolean }[] = [];
  const events: string[] = [];
  let failOpens = opts.failOpens ?? 0;
  const sup = new ClientSupervisor({
    name: 't',
    open: async (ctx) => {
      if (sessions.length > 0 && failOpens-- > 0) throw new Error('broker down');
      const s = { id: sessions.length, ctx, closed: false };
      sessions.push(s);
      return s;
    },
    close: async (s) => {
      s.closed = true;
    },
    deadlineMs: opts.deadlineMs ?? 10_000,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
    onRestart: (e) => events.push(`restart ${e.client} ${e.reason}`),
    onRecovered: () => events.push('recovered'),
    onOpenFailed: () => events.push('open-failed'),
    onGiveUp: (e) => events.push(`gave-up ${e.client}`),
  });
  return { sup, sessions, events };
}

describe('ClientSupervisor', () => {
  it('replaces a failed session, and is alive again once the new one reports healthy', async () => {
    const { sup, sessions, events } = harness();
    await sup.start();
    sessions[0]!.ctx.healthy();
    expect(sup.alive).toBe(true);
    sessions[0]!.ctx.fail('consumer', Object.assign(new Error('x'), { type: 'GROUP_COORDINATOR_NOT_AVAILABLE' }));
    expect(sup.alive).toBe(false);
    expect(sup.deadReason).toMatch(/consumer failed \(GROUP_COORDINATOR_NOT_AVAILABLE\)/);
    await tick(10);
    expect(sessions[0]!.closed).toBe(true);
    expect(sessions).toHaveLength(2);
    expect(sup.current).toBe(sessions[1]);
    sessions[1]!.ctx.healthy();
    expect(sup.alive).toBe(true);
    expect(events).toEqual(['restart consumer GROUP_COORDINATOR_NOT_AVAILABLE', 'recovered']);
  });

  it('ignores failures reported by a session it already replaced', async () => {
    const { sup, sessions } = harness();
    await sup.start();
    sessions[0]!.ctx.fail('consumer', new Error('a'));
    await tick(10);
    sessions[1]!.ctx.healthy();
    sessions[0]!.ctx.fail('producer', new Error('late'));
    await tick(10);
    expect(sessions).toHaveLength(2);
    expect(sup.alive).toBe(true);
  });

  it('tells a session it is no longer current as soon as it is replaced, and every session once stopped', async () => {
    const { sup, sessions } = harness();
    await sup.start();
    expect(sessions[0]!.ctx.current).toBe(true);
    sessions[0]!.ctx.fail('admin', new Error('a'));
    // Before the old session is even closed: work of its consumer must already be refused.
    expect(sessions[0]!.ctx.current).toBe(false);
    await tick(10);
    expect(sessions[1]!.ctx.current).toBe(true);
    expect(sessions[0]!.ctx.current).toBe(false);
    await sup.stop();
    expect(sessions[1]!.ctx.current).toBe(false);
  });

  it('retries opening with backoff until it works', async () => {
    const { sup, sessions, events } = harness({ failOpens: 3 });
    await sup.start();
    sessions[0]!.ctx.fail('consumer', new Error('a'));
    await tick(150);
    expect(events.filter((e) => e === 'open-failed')).toHaveLength(3);
    expect(sessions).toHaveLength(2);
  });

  it('gives up after the deadline if no session becomes healthy', async () => {
    const { sup, sessions, events } = harness({ deadlineMs: 50, failOpens: 1000 });
    await sup.start();
    sessions[0]!.ctx.fail('producer', Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED' }));
    await tick(120);
    expect(sup.state).toBe('gave-up');
    expect(sup.alive).toBe(false);
    expect(events.at(-1)).toBe('gave-up producer');
    await sup.stop();
    await sup.stop();
    expect(sup.state).toBe('stopped');
  });

  it('names failures by the protocol error type at the root of the chain, else the error name', () => {
    expect(failureReason({ name: 'Error', cause: { message: 'Broker: Specified group generation id is not valid', code: 22, errno: 22, origin: 'kafka' } })).toBe('ILLEGAL_GENERATION');
    expect(failureReason(new TypeError('x'))).toBe('TypeError');
    expect(backoffMs(0, 500, 5000)).toBe(500);
    expect(backoffMs(10, 500, 5000)).toBe(5000);
  });
});
