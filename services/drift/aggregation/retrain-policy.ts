/**
 * When the closed loop may run the retrain command. Pure; the state is small and travels in the
 * aggregator's transactional offset metadata, so the guards hold across aggregator restarts and fail-overs.
 *
 * - **One retrain per incident.** An incident opens with a retrain trigger (alerts.ts: ALERT on the score or on
 *   enough features, once per drift episode) and closes when every target has recovered. It gets at most one
 *   successful retrain; triggers while it is open change nothing.
 * - **Cooldown.** No retrain starts within `cooldownMs` of the previous start (of any incident).
 * - **Enough outcomes.** The gate needs labelled outcomes: a retrain starts only once the deployment has seen
 *   `minOutcomes` scored records joined to their outcome; until then the incident is `waiting` and the alert
 *   says `waiting for outcomes (n of m)`.
 * - **Failures back off.** A failed run is reported with its cause and retried after
 *   `backoffMs · 2^(attempt-1)` (at most `maxBackoffMs`), at most `maxAttempts` times; never on every window.
 * - A run that was going when the aggregator stopped is counted as failed (its outcome is unknown).
 *
 * `step` is called after each finalized window and on the aggregator's timer; it returns what to announce
 * (`notices`, each one RETRAIN alert) and whether to start the command now.
 */
export type RetrainStatus = 'idle' | 'waiting' | 'cooldown' | 'running' | 'backoff' | 'succeeded' | 'gave_up';

export interface RetrainState {
  readonly status: RetrainStatus;
  /** Window index of the trigger that opened the incident; -1 when none is open. */
  readonly incident: number;
  readonly targets: readonly string[];
  /** Runs started for the incident. */
  readonly attempts: number;
  /** Epoch ms: start of the latest run (any incident); -Infinity before the first. */
  readonly lastStartedAt: number;
  /** Epoch ms: earliest next attempt after a failure. */
  readonly retryAt: number;
  /** Labelled outcomes seen by the deployment. */
  readonly labelled: number;
  /** Offset of drift-partials after the last PERFORMANCE partial counted in `labelled` (a re-read is not counted twice). */
  readonly labelledThrough: number;
}

export const INITIAL_RETRAIN_STATE: RetrainState = Object.freeze({ status: 'idle', incident: -1, targets: [], attempts: 0, lastStartedAt: -Infinity, retryAt: 0, labelled: 0, labelledThrough: 0 });

export interface RetrainPolicy {
  readonly cooldownMs: number;
  readonly minOutcomes: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxAttempts: number;
}

export type RetrainNoticeOutcome = 'waiting' | 'cooldown' | 'started' | 'succeeded' | 'failed' | 'gave_up' | 'cancelled' | 'skipped';

export interface RetrainNotice {
  readonly outcome: RetrainNoticeOutcome;
  readonly detail: string;
  /** The incident (window index of its trigger) and attempt the notice is about; part of the alert's dedup key. */
  readonly incident: number;
  readonly attempt: number;
  readonly targets: readonly string[];
}

export interface StepResult {
  readonly state: RetrainState;
  readonly notices: readonly RetrainNotice[];
  readonly start: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const open = (s: RetrainStatus) => s === 'waiting' || s === 'cooldown' || s === 'running' || s === 'backoff' || s === 'succeeded' || s === 'gave_up';

export function waitingDetail(labelled: number, required: number): string {
  return `waiting for outcomes (${labelled} of ${required})`;
}

/** Counts labelled outcomes of a PERFORMANCE partial read at `offset` (once per offset). */
export function onOutcomes(s: RetrainState, labelled: number, offset: number): RetrainState {
  if (offset < s.labelledThrough) return s;
  return { ...s, labelled: s.labelled + labelled, labelledThrough: offset + 1 };
}

/** After a restart: a run the previous aggregator had started has an unknown outcome; it counts as failed. */
export function onRestart(s: RetrainState, now: number, p: RetrainPolicy): StepResult {
  if (s.status !== 'running') return { state: s, notices: [], start: false };
  return onResult(s, { ok: false, detail: 'the aggregator restarted while the retrain command ran; its outcome is unknown' }, now, p);
}

/**
 * One step: `trigger` when the alert state machine fired a retrain trigger in this window, `episodeOver`
 * when every target has recovered (the incident is over).
 */
export function step(s: RetrainState, input: { trigger?: { window: number; targets: readonly string[] }; episodeOver?: boolean; now: number }, p: RetrainPolicy): StepResult {
  const notices: RetrainNotice[] = [];
  let st = s;
  const note = (outcome: RetrainNoticeOutcome, detail: string) => notices.push({ outcome, detail, incident: st.incident, attempt: st.attempts, targets: st.targets });
  if (input.trigger && !open(st.status)) {
    st = { ...st, status: 'waiting', incident: input.trigger.window, targets: [...input.trigger.targets], attempts: 0, retryAt: 0 };
    return advance(st, input.now, p, notices, true);
  }
  if (input.trigger && open(st.status) && st.status !== 'running') note('skipped', `incident of window ${st.incident} is ${st.status === 'succeeded' ? 'already retrained' : st.status}: one retrain per incident`);
  if (input.episodeOver && open(st.status) && st.status !== 'running') {
    if (st.status !== 'succeeded' && st.status !== 'gave_up') note('cancelled', `every target recovered before a retrain ran (${st.status === 'waiting' ? waitingDetail(st.labelled, p.minOutcomes) : st.status})`);
    return { state: { ...st, status: 'idle', incident: -1, targets: [], attempts: 0 }, notices, start: false };
  }
  return advance(st, input.now, p, notices, false);
}

function advance(s: RetrainState, now: number, p: RetrainPolicy, notices: RetrainNotice[], fresh: boolean): StepResult {
  const note = (st: RetrainState, outcome: RetrainNoticeOutcome, detail: string) => notices.push({ outcome, detail, incident: st.incident, attempt: st.attempts, targets: st.targets });
  if (s.status !== 'waiting' && s.status !== 'cooldown' && s.status !== 'backoff') return { state: s, notices, start: false };
  if (s.labelled < p.minOutcomes) {
    if (fresh || s.status !== 'waiting') note(s, 'waiting', waitingDetail(s.labelled, p.minOutcomes));
    return { state: { ...s, status: 'waiting' }, notices, start: false };
  }
  const coolUntil = s.lastStartedAt + p.cooldownMs;
  if (now < coolUntil) {
    if (s.status !== 'cooldown') note(s, 'cooldown', `cooling down until ${iso(coolUntil)} (DRIFT_RETRAIN_COOLDOWN after the run started ${iso(s.lastStartedAt)})`);
    return { state: { ...s, status: 'cooldown' }, notices, start: false };
  }
  if (s.status === 'backoff' && now < s.retryAt) return { state: s, notices, start: false };
  const st: RetrainState = { ...s, status: 'running', attempts: s.attempts + 1, lastStartedAt: now };
  note(st, 'started', `attempt ${st.attempts} of ${p.maxAttempts}; ${s.labelled} labelled outcomes`);
  return { state: st, notices, start: true };
}

/** The command ended. */
export function onResult(s: RetrainState, r: { ok: boolean; detail: string }, now: number, p: RetrainPolicy): StepResult {
  if (s.status !== 'running') return { state: s, notices: [], start: false };
  const base = { incident: s.incident, attempt: s.attempts, targets: s.targets };
  if (r.ok) return { state: { ...s, status: 'succeeded' }, notices: [{ ...base, outcome: 'succeeded', detail: r.detail }], start: false };
  if (s.attempts >= p.maxAttempts) return { state: { ...s, status: 'gave_up' }, notices: [{ ...base, outcome: 'gave_up', detail: `${r.detail} — giving up after ${s.attempts} attempts (DRIFT_RETRAIN_MAX_ATTEMPTS)` }], start: false };
  const delay = Math.min(p.maxBackoffMs, p.backoffMs * 2 ** (s.attempts - 1));
  const retryAt = now + delay;
  return { state: { ...s, status: 'backoff', retryAt }, notices: [{ ...base, outcome: 'failed', detail: `${r.detail} — retry ${s.attempts + 1} of ${p.maxAttempts} not before ${iso(retryAt)}` }], start: false };
}

/** Compact JSON for the offset metadata. */
export function retrainStateJson(s: RetrainState): unknown {
  return [s.status, s.incident, s.targets, s.attempts, Number.isFinite(s.lastStartedAt) ? s.lastStartedAt : null, s.retryAt, s.labelled, s.labelledThrough];
}

const STATUSES: readonly RetrainStatus[] = ['idle', 'waiting', 'cooldown', 'running', 'backoff', 'succeeded', 'gave_up'];

export function retrainStateFrom(j: unknown): RetrainState | undefined {
  if (!Array.isArray(j) || j.length !== 8) return undefined;
  const [status, incident, targets, attempts, lastStartedAt, retryAt, labelled, labelledThrough] = j as [string, number, string[], number, number | null, number, number, number];
  if (!STATUSES.includes(status as RetrainStatus)) return undefined;
  return { status: status as RetrainStatus, incident, targets, attempts, lastStartedAt: lastStartedAt ?? -Infinity, retryAt, labelled, labelledThrough };
}
