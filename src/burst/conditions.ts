// The conditions a BurstPolicy reports, from its state alone, and how they keep their transition
// times from one status to the next (the metav1.Condition rules).
import { isoTime } from '../shared.js';
import type { BurstState } from './decide.js';
import type { BurstPolicy } from './policy.js';

export type ConditionType = 'MetricAvailable' | 'ReplicaReady' | 'CoolingDown';

export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** A condition as it is in the status: with when its status last changed and the generation it speaks for. */
export interface StatusCondition extends Condition {
  readonly lastTransitionTime: string;
  readonly observedGeneration: number;
}

const seconds = (ms: number) => `${ms / 1000}s`;

function metricAvailable(state: BurstState): Condition {
  const problem = state.metricProblem;
  if (problem) return { type: 'MetricAvailable', status: 'False', reason: problem.reason, message: problem.message };
  if (state.metric)
    return { type: 'MetricAvailable', status: 'True', reason: 'Read', message: `the last reading was ${state.metric.value}` };
  return { type: 'MetricAvailable', status: 'Unknown', reason: 'NoReadingYet', message: 'the metric has not been read yet' };
}

function replicaReady(state: BurstState, policy: BurstPolicy): Condition {
  const c = (status: Condition['status'], reason: string, message: string): Condition => ({
    type: 'ReplicaReady',
    status,
    reason,
    message,
  });
  const peers = policy.peers.join(', ');
  switch (state.phase) {
    case 'Idle':
      return c('False', 'NotBursting', 'no replica: the target is not bursting');
    case 'Bursting':
      return c(
        'False',
        'Starting',
        `waiting for the replica in ${peers} to be ready, until ${isoTime(state.phaseSince + policy.readinessDeadlineMs)}`,
      );
    case 'Burst':
      return c('True', 'Ready', `the replica in ${peers} is ready and takes traffic`);
    case 'ScalingBack':
      return c('False', 'Withdrawing', 'the traffic is back home; the replica is being removed');
    case 'Failed':
      return c('False', 'ReadinessDeadlineExceeded', `the replica was not ready within ${seconds(policy.readinessDeadlineMs)}`);
  }
}

function coolingDown(state: BurstState, policy: BurstPolicy, now: number): Condition {
  const until = state.cooldownSince === undefined ? undefined : state.cooldownSince + policy.cooldownMs;
  if (until === undefined || now >= until)
    return { type: 'CoolingDown', status: 'False', reason: 'MayBurst', message: 'a burst may start' };
  const after = state.phase === 'Failed' ? 'a failed burst' : 'a scale-back';
  return {
    type: 'CoolingDown',
    status: 'True',
    reason: 'Cooldown',
    message: `no burst before ${isoTime(until)}, ${seconds(policy.cooldownMs)} after ${after}`,
  };
}

export function conditionsOf(state: BurstState, policy: BurstPolicy, now: number): Condition[] {
  return [metricAvailable(state), replicaReady(state, policy), coolingDown(state, policy, now)];
}

/** Conditions stamped for the status: lastTransitionTime moves only when a condition's status does. */
export function stampConditions(
  previous: readonly StatusCondition[],
  next: readonly Condition[],
  now: number,
  generation: number,
): StatusCondition[] {
  return next.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : isoTime(now);
    return { ...c, lastTransitionTime, observedGeneration: generation };
  });
}
