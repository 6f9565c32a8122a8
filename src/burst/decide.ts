// The burst decision: a pure state machine with time as an input. It reads the policy, its last
// state (kept in the BurstPolicy's status, so a restart resumes where it was), a new reading of the
// metric if there is one, and where the replica stands; it returns the next state, what to do and
// the conditions to report. No clock, no client: the same inputs give the same answer.
import type { BurstPolicy, Weights } from './policy.js';
import { checkedReading, held, nextStreak, type MetricReading, type Streak } from './streak.js';
import { conditionsOf, type Condition } from './conditions.js';

export const PHASES = ['Idle', 'Bursting', 'Burst', 'ScalingBack', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

/** Every transition decide can make (docs/bursting.md has the table with the reasons). */
export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  Idle: ['Bursting'],
  Bursting: ['Burst', 'Failed'],
  Burst: ['ScalingBack'],
  ScalingBack: ['Idle'],
  Failed: ['Idle'],
};

/** The target's replica in the peer clusters, as replication reports it. */
export type ReplicaState = 'Absent' | 'Starting' | 'Ready';

export interface Observation {
  /** A new reading, or none when decide runs for another reason (the replica changed, a deadline passed). */
  readonly metric?: MetricReading;
  readonly replica: ReplicaState;
}

export interface BurstState {
  readonly phase: Phase;
  readonly phaseSince: number;
  /** The policy generation this state was decided under. */
  readonly observedGeneration: number;
  /** When the last scale-back finished or the last burst failed: no burst for a cooldown after it. */
  readonly cooldownSince?: number;
  readonly streak?: Streak;
  /** The last good reading. */
  readonly metric?: { readonly value: number; readonly at: number };
  /** Why the latest reading failed; none when it succeeded. */
  readonly metricProblem?: { readonly reason: string; readonly message: string };
}

/**
 * What the rest of the controller does about a decision. The phase is also a level: Bursting and
 * Burst want the replica in the peers, Burst wants the traffic shifted, the others want neither;
 * actions say when that changes, so executors can act at once and repair from the phase later.
 */
export type BurstAction =
  | { readonly type: 'Replicate'; readonly peers: readonly string[] }
  | { readonly type: 'ShiftTraffic'; readonly peers: readonly string[]; readonly weights: Weights }
  | { readonly type: 'RestoreTraffic' }
  | { readonly type: 'Withdraw' };

export interface Decision {
  readonly state: BurstState;
  readonly actions: readonly BurstAction[];
  readonly conditions: readonly Condition[];
}

export const initialState = (policy: BurstPolicy, now: number): BurstState => ({
  phase: 'Idle',
  phaseSince: now,
  observedGeneration: policy.generation,
});

export const coolingDown = (state: BurstState, policy: BurstPolicy, now: number): boolean =>
  state.cooldownSince !== undefined && now < state.cooldownSince + policy.cooldownMs;

const replicate = (p: BurstPolicy): BurstAction => ({ type: 'Replicate', peers: p.peers });
const shift = (p: BurstPolicy): BurstAction => ({ type: 'ShiftTraffic', peers: p.peers, weights: p.weights });

/**
 * A new spec: the streak was measured against thresholds that may have changed, so it starts over;
 * a burst under way gets the new peers and weights (the actions are idempotent), and the readiness
 * deadline restarts, as the replica may have changed.
 */
function specChanged(state: BurstState, policy: BurstPolicy, now: number): { state: BurstState; actions: BurstAction[] } {
  const next: BurstState = { ...state, observedGeneration: policy.generation, streak: undefined };
  if (state.phase === 'Bursting') return { state: { ...next, phaseSince: now }, actions: [replicate(policy)] };
  if (state.phase === 'Burst') return { state: next, actions: [replicate(policy), shift(policy)] };
  return { state: next, actions: [] };
}

function read(state: BurstState, reading: MetricReading | undefined, now: number, policy: BurstPolicy): BurstState {
  if (reading === undefined) return state;
  const checked = checkedReading(reading);
  const streak = nextStreak(state.streak, checked, now, policy);
  if (!checked.ok) return { ...state, streak, metricProblem: { reason: checked.reason, message: checked.message } };
  return { ...state, streak, metric: { value: checked.value, at: now }, metricProblem: undefined };
}

/** The one transition this moment calls for, if any. Metric-driven ones need a streak up to a good latest reading. */
function transition(
  state: BurstState,
  replica: ReplicaState,
  now: number,
  policy: BurstPolicy,
): { phase: Phase; actions: BurstAction[]; cooldownSince?: number } | undefined {
  switch (state.phase) {
    case 'Idle':
      if (!coolingDown(state, policy, now) && held(state.streak, 'Above', policy))
        return { phase: 'Bursting', actions: [replicate(policy)] };
      return undefined;
    case 'Bursting':
      if (replica === 'Ready') return { phase: 'Burst', actions: [shift(policy)] };
      if (now - state.phaseSince > policy.readinessDeadlineMs)
        return { phase: 'Failed', actions: [{ type: 'Withdraw' }], cooldownSince: now };
      return undefined;
    case 'Burst':
      if (held(state.streak, 'Below', policy)) return { phase: 'ScalingBack', actions: [{ type: 'RestoreTraffic' }, { type: 'Withdraw' }] };
      return undefined;
    case 'ScalingBack':
      if (replica === 'Absent') return { phase: 'Idle', actions: [], cooldownSince: now };
      return undefined;
    case 'Failed':
      if (!coolingDown(state, policy, now) && replica === 'Absent') return { phase: 'Idle', actions: [] };
      return undefined;
  }
}

/** The next state, the actions and the conditions, at `now` (milliseconds since the epoch). */
export function decide(previous: BurstState | undefined, observation: Observation, now: number, policy: BurstPolicy): Decision {
  let state = previous ?? initialState(policy, now);
  const actions: BurstAction[] = [];
  if (state.observedGeneration !== policy.generation) {
    const changed = specChanged(state, policy, now);
    state = changed.state;
    actions.push(...changed.actions);
  }
  state = read(state, observation.metric, now, policy);
  const next = transition(state, observation.replica, now, policy);
  if (next) {
    state = { ...state, phase: next.phase, phaseSince: now, cooldownSince: next.cooldownSince ?? state.cooldownSince };
    actions.push(...next.actions);
  }
  return { state, actions, conditions: conditionsOf(state, policy, now) };
}
