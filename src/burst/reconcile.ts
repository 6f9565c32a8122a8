// One pass over a policy: what the caches show (inputs.ts), the metric when a reading is due,
// decide, plan, execute. The plan is the only thing executed, and the next pass plans from what
// the watches bring back, so a write that failed, or a replica deleted by hand, is repaired then.
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { decide, type BurstState } from './decide.js';
import type { BurstExecutor, BurstPolicyObject } from './executor.js';
import type { BurstInputs } from './inputs.js';
import { observeReplicas, planBurst, planCleanUp, type BurstWorld } from './plan.js';
import { BurstPolicyError, parseBurstPolicy, type BurstPolicy } from './policy.js';
import type { MetricSource } from './prometheus.js';
import { commonLabels, QueryTemplateError, renderQuery } from './query.js';
import type { ReplicaSource } from './replica.js';
import { stateOf } from './status.js';
import type { MetricReading } from './streak.js';

export type { BurstPolicyObject } from './executor.js';

export interface BurstContext {
  readonly localCluster: string;
  readonly inputs: BurstInputs;
  readonly executor: BurstExecutor;
  readonly metrics: MetricSource;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  readonly now: () => number;
}

/** The peers a spec names, read leniently: a policy being deleted need not be valid to be cleaned up after. */
export function namedPeers(spec: unknown): string[] {
  const peers = (spec as { peers?: unknown } | undefined)?.peers;
  return Array.isArray(peers) ? peers.filter((p): p is string => typeof p === 'string') : [];
}

/** Every peer a policy may have replicas in: those it names and those its status says it wrote to. */
export const peersOf = (object: BurstPolicyObject): string[] =>
  [...new Set([...namedPeers(object.spec), ...(object.status?.replicated ?? []).map((r) => r.cluster)])].sort();

/** When the state next changes by the clock alone: the readiness deadline of a burst starting, the end of a cooldown. */
function deadline(state: BurstState, policy: BurstPolicy): number | undefined {
  if (state.phase === 'Bursting') return state.phaseSince + policy.readinessDeadlineMs + 1;
  if (state.cooldownSince !== undefined && (state.phase === 'Idle' || state.phase === 'Failed'))
    return state.cooldownSince + policy.cooldownMs;
  return undefined;
}

export class BurstReconciler {
  /** When each policy's metric was last read (a failed reading counts): readings come every metric.interval. */
  private readonly lastRead = new Map<string, number>();

  constructor(private readonly ctx: BurstContext) {}

  forget(key: string): void {
    this.lastRead.delete(key);
  }

  /** Returns when to look again (the next reading or deadline; changes to its inputs come sooner), and the policy as written; throws what the queue retries. */
  async reconcile(object: BurstPolicyObject): Promise<{ requeueAfterMs?: number; written?: BurstPolicyObject }> {
    const { namespace = '', name = '' } = object.metadata;
    const source: ReplicaSource = { cluster: this.ctx.localCluster, namespace, policy: name };
    const deleting = object.metadata.deletionTimestamp !== undefined;

    let policy: BurstPolicy | undefined;
    if (!deleting)
      try {
        policy = parseBurstPolicy(object, this.ctx.localCluster);
      } catch (err) {
        if (!(err instanceof BurstPolicyError)) throw err;
        this.event(object, 'Warning', 'InvalidPolicy', err.message);
        return {};
      }
    const seen = this.ctx.inputs.world(source, peersOf(object), policy);
    if ('waiting' in seen) {
      this.ctx.log.debug({ policy: `${namespace}/${name}`, waiting: seen.waiting }, 'burst pass waits for its caches');
      return {};
    }
    if (!policy) return this.cleanUp(object, source, seen.world);

    const now = this.ctx.now();
    const key = `${namespace}/${name}`;
    const due = now - (this.lastRead.get(key) ?? 0) >= policy.metric.intervalMs - 100;
    let metric: MetricReading | undefined;
    if (due) {
      this.lastRead.set(key, now);
      metric = await this.read(policy, seen.world, now);
    }
    const observation = observeReplicas(seen.world, policy.peers);
    const previous = stateOf(object.status);
    const decision = decide(previous, { metric, replica: observation.state }, now, policy);
    const { phase } = decision.state;
    if (phase !== previous?.phase)
      this.event(
        object,
        phase === 'Failed' ? 'Warning' : 'Normal',
        phase,
        decision.conditions.find((c) => c.type === 'ReplicaReady')!.message,
      );

    const writes = planBurst({ object, policy, source, owner: ownerOf(object), decision, observation, world: seen.world, now });
    const written = await this.ctx.executor.run(object, source, writes);

    const untilReading = Math.max(100, policy.metric.intervalMs - (this.ctx.now() - (this.lastRead.get(key) ?? now)));
    const at = deadline(decision.state, policy);
    const untilDeadline = at === undefined ? Infinity : Math.max(100, at - this.ctx.now());
    return { requeueAfterMs: Math.min(untilReading, untilDeadline), written };
  }

  private async read(policy: BurstPolicy, world: BurstWorld, now: number): Promise<MetricReading> {
    const { deployments } = world.workload;
    if (deployments.length === 0)
      return { ok: false, reason: 'NoTarget', message: `no Deployment in ${policy.namespace} matches the policy's target` };
    try {
      const query = renderQuery(policy.metric.query, {
        namespace: policy.namespace,
        deployments: deployments.map((d) => d.metadata.name ?? ''),
        labels: commonLabels(deployments),
        window: policy.metric.window,
      });
      return await this.ctx.metrics.read(query, new Date(now));
    } catch (err) {
      if (err instanceof QueryTemplateError) return { ok: false, reason: 'QueryError', message: err.message };
      throw err;
    }
  }

  /** A policy being deleted: traffic home, every replica it made gone, then its deletion may finish. */
  private async cleanUp(object: BurstPolicyObject, source: ReplicaSource, world: BurstWorld): Promise<{ written?: BurstPolicyObject }> {
    const writes = planCleanUp(object, source, world);
    const written = await this.ctx.executor.run(object, source, writes);
    if (writes.some((w) => w.op === 'finalizer')) {
      const peers = [...world.replicas.keys()];
      this.event(
        object,
        'Normal',
        'Withdrawn',
        `the policy is deleted: its routes and its replicas${peers.length ? ` in ${peers.join(', ')}` : ''} are gone`,
      );
    }
    return { written };
  }

  private event(object: BurstPolicyObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.recorder.record(
      {
        kind: 'BurstPolicy',
        apiVersion: 'globalsvc.dev/v1alpha1',
        namespace: object.metadata.namespace ?? '',
        name: object.metadata.name ?? '',
        uid: object.metadata.uid,
      },
      type,
      reason,
      message,
    );
  }
}

const ownerOf = (object: BurstPolicyObject) => ({
  apiVersion: object.apiVersion ?? 'globalsvc.dev/v1alpha1',
  kind: 'BurstPolicy',
  name: object.metadata.name ?? '',
  uid: object.metadata.uid ?? '',
});
