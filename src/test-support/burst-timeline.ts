// Runs the burst decision over a timeline of metric readings, with a replica that follows the
// actions the way replication would (Replicate starts it, it is ready some seconds later, Withdraw
// removes it some seconds later), so tests can state whole stories in a few lines.
import { decide, type BurstAction, type BurstState, type Decision, type ReplicaState } from '../burst/decide.js';
import { parseBurstPolicy, type BurstPolicy } from '../burst/policy.js';
import type { MetricReading } from '../burst/streak.js';
import { minimalSpec } from './burst-policies.js';

/** A number, or a failed reading: Prometheus down, NaN, no series; undefined is "no new reading". */
export type Reading = number | 'down' | 'NaN' | 'nodata' | undefined;

export interface Step {
  /** Seconds since the start. */
  t: number;
  metric: Reading;
  /** A new policy from this step on (a spec change). */
  policy?: BurstPolicy;
}

export interface World {
  /** Seconds from Replicate to ready; never when undefined. */
  readyAfter?: number;
  /** Seconds from Withdraw to gone. */
  goneAfter?: number;
}

export interface Moment {
  t: number;
  decision: Decision;
  replica: ReplicaState;
  reading: MetricReading | undefined;
}

export const T0 = Date.parse('2026-01-01T00:00:00Z');

export function policy(spec: Record<string, unknown> = {}, generation = 1): BurstPolicy {
  return parseBurstPolicy(
    {
      metadata: { namespace: 'shop', name: 'web', generation },
      spec: { ...minimalSpec, ...spec },
    },
    'west',
  );
}

export function reading(r: Reading): MetricReading | undefined {
  switch (r) {
    case undefined:
      return undefined;
    case 'down':
      return { ok: false, reason: 'PrometheusUnreachable', message: 'connect ECONNREFUSED' };
    case 'nodata':
      return { ok: false, reason: 'NoData', message: 'the query returned no series' };
    case 'NaN':
      return { ok: true, value: Number.NaN };
    default:
      return { ok: true, value: r };
  }
}

/** Readings every `every` seconds from `from` to `to` inclusive, all `metric`. */
export const hold = (from: number, to: number, metric: Reading, every = 15): Step[] =>
  Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => ({ t: from + i * every, metric }));

/**
 * Decides at every step. `restore` stands between two decisions, as the status does in the
 * controller (the identity by default).
 */
export function run(
  first: BurstPolicy,
  steps: readonly Step[],
  world: World = { readyAfter: 30, goneAfter: 0 },
  restore: (s: BurstState, d: Decision, now: number) => BurstState = (s) => s,
): Moment[] {
  let current = first;
  let state: BurstState | undefined;
  let replica: ReplicaState = 'Absent';
  let startedAt: number | undefined;
  let withdrawnAt: number | undefined;
  const moments: Moment[] = [];
  for (const step of steps) {
    current = step.policy ?? current;
    // The world moves on by itself between decisions.
    if (replica === 'Starting' && world.readyAfter !== undefined && step.t - startedAt! >= world.readyAfter) replica = 'Ready';
    if (withdrawnAt !== undefined && step.t - withdrawnAt >= (world.goneAfter ?? 0)) {
      replica = 'Absent';
      withdrawnAt = undefined;
    }
    const now = T0 + step.t * 1000;
    const r = reading(step.metric);
    const decision = decide(state, { metric: r, replica }, now, current);
    state = restore(decision.state, decision, now);
    for (const a of decision.actions) {
      if (a.type === 'Replicate' && replica === 'Absent') {
        replica = 'Starting';
        startedAt = step.t;
        withdrawnAt = undefined;
      }
      if (a.type === 'Withdraw') {
        withdrawnAt = step.t;
        if ((world.goneAfter ?? 0) === 0) {
          replica = 'Absent';
          withdrawnAt = undefined;
        }
      }
    }
    moments.push({ t: step.t, decision, replica, reading: r });
  }
  return moments;
}

const describeActions = (actions: readonly BurstAction[]) => actions.map((a) => a.type).join('+');

/** The moments where the phase changed or something was done: "120s Bursting Replicate". */
export function trace(moments: readonly Moment[]): string[] {
  const lines: string[] = [];
  let phase = 'Idle';
  for (const m of moments) {
    const { state, actions } = m.decision;
    if (state.phase === phase && actions.length === 0) continue;
    lines.push(`${m.t}s ${state.phase}${actions.length ? ` ${describeActions(actions)}` : ''}`);
    phase = state.phase;
  }
  return lines;
}
