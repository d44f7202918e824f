import { describe, expect, it } from 'vitest';
import { INITIAL_RETRAIN_STATE, onOutcomes, onRestart, onResult, retrainStateFrom, retrainStateJson, step, type RetrainPolicy, type RetrainState } from './retrain-policy.ts';

const policy: RetrainPolicy = { cooldownMs: 600_000, minOutcomes: 1000, backoffMs: 60_000, maxBackoffMs: 240_000, maxAttempts: 3 };
const trigger = (window: number) => ({ window, targets: ['score', 'age'] });
const withOutcomes = (n: number, s: RetrainState = INITIAL_RETRAIN_STATE) => onOutcomes(s, n, s.labelledThrough);

describe('retrain policy', () => {
  it('waits for enough labelled outcomes and says so once, then starts when they exist', () => {
    let r = step(withOutcomes(400), { trigger: trigger(7), now: 1000 }, policy);
    expect(r.start).toBe(false);
    expect(r.state.status).toBe('waiting');
    expect(r.notices.map((n) => [n.outcome, n.detail])).toEqual([['waiting', 'waiting for outcomes (400 of 1000)']]);
    r = step(r.state, { now: 2000 }, policy);
    expect(r.notices).toEqual([]); // no alert on every window
    r = step(onOutcomes(r.state, 700, r.state.labelledThrough), { now: 3000 }, policy);
    expect(r.start).toBe(true);
    expect(r.notices[0]).toMatchObject({ outcome: 'started', incident: 7, attempt: 1 });
  });

  it('counts a re-read partial once', () => {
    const s = onOutcomes(INITIAL_RETRAIN_STATE, 10, 5);
    expect(onOutcomes(s, 10, 5).labelled).toBe(10);
    expect(onOutcomes(s, 10, 6).labelled).toBe(20);
  });

  it('runs at most one retrain per incident; a new incident waits for the cooldown', () => {
    let r = step(withOutcomes(5000), { trigger: trigger(3), now: 0 }, policy);
    expect(r.start).toBe(true);
    r = onResult(r.state, { ok: true, detail: 'exit 0' }, 20_000, policy);
    expect(r.state.status).toBe('succeeded');
    // More triggers in the same incident do nothing
    r = step(r.state, { trigger: trigger(4), now: 30_000 }, policy);
    expect(r.start).toBe(false);
    expect(r.notices.map((n) => n.outcome)).toEqual(['skipped']);
    // The incident ends when every target recovered; the next trigger is a new incident, inside the cooldown
    r = step(r.state, { episodeOver: true, now: 60_000 }, policy);
    expect(r.state.status).toBe('idle');
    r = step(r.state, { trigger: trigger(9), now: 120_000 }, policy);
    expect(r.start).toBe(false);
    expect(r.state.status).toBe('cooldown');
    expect(r.notices[0]!.detail).toMatch(/^cooling down until 1970-01-01T00:10:00Z/);
    expect(step(r.state, { now: 599_999 }, policy).start).toBe(false);
    const later = step(r.state, { now: 600_000 }, policy);
    expect(later.start).toBe(true);
    expect(later.state).toMatchObject({ incident: 9, attempts: 1, lastStartedAt: 600_000 });
  });

  it('reports a failure with its cause and retries with backoff, then gives up', () => {
    let r = step(withOutcomes(5000), { trigger: trigger(1), now: 0 }, policy);
    r = onResult(r.state, { ok: false, detail: 'exit 2: DATASET_INVALID: no usable row' }, 10_000, policy);
    expect(r.notices[0]!.outcome).toBe('failed');
    expect(r.notices[0]!.detail).toContain('DATASET_INVALID: no usable row');
    expect(r.notices[0]!.detail).toContain('retry 2 of 3 not before 1970-01-01T00:01:10Z');
    // Windows and timer ticks before the retry time start nothing (and the cooldown holds too)
    const p = { ...policy, cooldownMs: 0 };
    expect(step(r.state, { now: 69_999 }, p).start).toBe(false);
    let s = step(r.state, { now: 70_000 }, p);
    expect(s.start).toBe(true);
    r = onResult(s.state, { ok: false, detail: 'exit 2' }, 80_000, p);
    expect(r.state.retryAt).toBe(80_000 + 120_000);
    s = step(r.state, { now: 200_000 }, p);
    r = onResult(s.state, { ok: false, detail: 'exit 2' }, 210_000, p);
    expect(r.state.status).toBe('gave_up');
    expect(r.notices[0]!.outcome).toBe('gave_up');
    expect(step(r.state, { trigger: trigger(2), now: 999_999 }, p).start).toBe(false);
  });

  it('survives a restart: state round-trips, and a run that was going counts as failed', () => {
    const running = step(withOutcomes(5000), { trigger: trigger(1), now: 1000 }, policy).state;
    const back = retrainStateFrom(JSON.parse(JSON.stringify(retrainStateJson(running))))!;
    expect(back).toEqual(running);
    const r = onRestart(back, 5000, policy);
    expect(r.state.status).toBe('backoff');
    expect(r.notices[0]!.detail).toMatch(/restarted while the retrain command ran/);
    // still no second start within the cooldown of the lost run
    expect(step(r.state, { now: 100_000 }, policy).start).toBe(false);
    expect(retrainStateFrom(['bogus', 0, [], 0, null, 0, 0, 0])).toBeUndefined();
  });

  it('an incident that recovers while waiting for outcomes is cancelled, not retrained later', () => {
    let r = step(withOutcomes(10), { trigger: trigger(1), now: 0 }, policy);
    r = step(r.state, { episodeOver: true, now: 10 }, policy);
    expect(r.notices.map((n) => n.outcome)).toEqual(['cancelled']);
    r = step(onOutcomes(r.state, 5000, r.state.labelledThrough), { now: 20 }, policy);
    expect(r.start).toBe(false);
  });
});
