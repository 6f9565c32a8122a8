// A BurstPolicy's status is where its decision state lives between evaluations and across restarts:
// the state machine's state to and from the status's wire shape (the CRD's status schema).
import { isoTime } from '../shared.js';
import { stampConditions, type StatusCondition } from './conditions.js';
import { PHASES, type BurstState, type Decision, type Phase } from './decide.js';

export interface ReplicatedObject {
  cluster: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface BurstPolicyStatus {
  phase: Phase;
  phaseSince: string;
  cooldownSince?: string;
  threshold?: { side: 'Above' | 'Below'; heldMilliseconds: number; lastReadingTime: string; interrupted: boolean };
  metric?: { value: number; time: string };
  replicated?: ReplicatedObject[];
  observedGeneration: number;
  conditions: StatusCondition[];
}

const ms = (time: string | undefined) => (time === undefined ? undefined : Date.parse(time));

/** The status to write after a decision, keeping the previous conditions' transition times. */
export function statusOf(decision: Decision, previous: Partial<BurstPolicyStatus> | undefined, now: number): BurstPolicyStatus {
  const { state } = decision;
  return {
    phase: state.phase,
    phaseSince: isoTime(state.phaseSince),
    ...(state.cooldownSince !== undefined && { cooldownSince: isoTime(state.cooldownSince) }),
    ...(state.streak && {
      threshold: {
        side: state.streak.side,
        heldMilliseconds: state.streak.heldMs,
        lastReadingTime: isoTime(state.streak.lastReadingAt),
        interrupted: state.streak.interrupted,
      },
    }),
    ...(state.metric && { metric: { value: state.metric.value, time: isoTime(state.metric.at) } }),
    ...(previous?.replicated && { replicated: previous.replicated }),
    observedGeneration: state.observedGeneration,
    conditions: stampConditions(previous?.conditions ?? [], decision.conditions, now, state.observedGeneration),
  };
}

/** The state a status holds; none when the policy has no (valid) status yet. */
export function stateOf(status: Partial<BurstPolicyStatus> | undefined): BurstState | undefined {
  if (!status?.phase || !PHASES.includes(status.phase)) return undefined;
  const phaseSince = ms(status.phaseSince);
  if (phaseSince === undefined || Number.isNaN(phaseSince)) return undefined;
  const t = status.threshold;
  const metricCondition = status.conditions?.find((c) => c.type === 'MetricAvailable' && c.status === 'False');
  return {
    phase: status.phase,
    phaseSince,
    observedGeneration: status.observedGeneration ?? 0,
    cooldownSince: ms(status.cooldownSince),
    streak: t && { side: t.side, heldMs: t.heldMilliseconds, lastReadingAt: ms(t.lastReadingTime)!, interrupted: t.interrupted },
    metric: status.metric && { value: status.metric.value, at: ms(status.metric.time)! },
    metricProblem: metricCondition && { reason: metricCondition.reason, message: metricCondition.message },
  };
}
