// The burst decision: a pure state machine with time as an input. It reads the policy, its last
// state (kept in the BurstPolicy's status, so a restart resumes where it was), a new reading of the
// metric if there is one, and where the replica stands; it returns the next state and the
// conditions to report. What to write follows from the state's phase, a level (plan.ts). No clock,
// no client: the same inputs give the same answer.
import type { BurstPolicy } from './policy.js';
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

export interface Decision {
  readonly state: BurstState;
  readonly conditions: readonly Condition[];
}

export const initialState = (policy: BurstPolicy, now: number): BurstState => ({
  phase: 'Idle',
  phaseSince: now,
  observedGeneration: policy.generation,
});

export const coolingDown = (state: BurstState, policy: BurstPolicy, now: number): boolean =>
  state.cooldownSince !== undefined && now < state.cooldownSince + policy.cooldownMs;

/**
 * A new spec: the streak was measured against thresholds that may have changed, so it starts over,
 * and the readiness deadline of a burst starting restarts, as the replica may have changed (the
 * plan takes a burst under way to the new peers and weights).
 */
function specChanged(state: BurstState, policy: BurstPolicy, now: number): BurstState {
  const next: BurstState = { ...state, observedGeneration: policy.generation, streak: undefined };
  return state.phase === 'Bursting' ? { ...next, phaseSince: now } : next;
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
): { phase: Phase; cooldownSince?: number } | undefined {
  switch (state.phase) {
    case 'Idle':
      if (!coolingDown(state, policy, now) && held(state.streak, 'Above', policy)) return { phase: 'Bursting' };
      return undefined;
    case 'Bursting':
      if (replica === 'Ready') return { phase: 'Burst' };
      if (now - state.phaseSince > policy.readinessDeadlineMs) return { phase: 'Failed', cooldownSince: now };
      return undefined;
    case 'Burst':
      if (held(state.streak, 'Below', policy)) return { phase: 'ScalingBack' };
      return undefined;
    case 'ScalingBack':
      if (replica === 'Absent') return { phase: 'Idle', cooldownSince: now };
      return undefined;
    case 'Failed':
      if (!coolingDown(state, policy, now) && replica === 'Absent') return { phase: 'Idle' };
      return undefined;
  }
}

/** The next state and the conditions, at `now` (milliseconds since the epoch). */
export function decide(previous: BurstState | undefined, observation: Observation, now: number, policy: BurstPolicy): Decision {
  let state = previous ?? initialState(policy, now);
  if (state.observedGeneration !== policy.generation) state = specChanged(state, policy, now);
  state = read(state, observation.metric, now, policy);
  const next = transition(state, observation.replica, now, policy);
  if (next) state = { ...state, phase: next.phase, phaseSince: now, cooldownSince: next.cooldownSince ?? state.cooldownSince };
  return { state, conditions: conditionsOf(state, policy, now) };
}
