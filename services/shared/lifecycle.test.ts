import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.ts';

describe('Lifecycle', () => {
  it('created -> starting -> running -> stopping -> stopped, stop idempotent', async () => {
    const l = new Lifecycle('x');
    let stops = 0;
    await l.start(async () => expect(l.state).toBe('starting'), async () => undefined);
    expect(l.state).toBe('running');
    await Promise.all([l.stop(async () => void stops++), l.stop(async () => void stops++)]);
    await l.stop(async () => void stops++);
    expect(stops).toBe(1);
    expect(l.state).toBe('stopped');
  });

  it('a failed start ends in failed after cleanup, and cannot start again', async () => {
    const l = new Lifecycle('x');
    let cleaned = false;
    await expect(l.start(async () => Promise.reject(new Error('no broker')), async () => void (cleaned = true))).rejects.toThrow('no broker');
    expect(l.state).toBe('failed');
    expect(cleaned).toBe(true);
    await expect(l.start(async () => undefined, async () => undefined)).rejects.toThrow(/cannot start from state failed/);
  });

  it('forces the shutdown after the timeout', async () => {
    const l = new Lifecycle('x', 30);
    await l.start(async () => undefined, async () => undefined);
    await expect(l.stop(() => new Promise(() => undefined))).rejects.toMatchObject({ code: 'SHUTDOWN_TIMEOUT' });
    expect(l.state).toBe('stopped');
  });
});
