// reconcile(policy): read the metric when it is due, see where the replica stands, call decide,
// then make the peers and the routes match the phase (actions say when it changed; the phase is a
// level, so a crash between a write and the status, or a replica deleted by hand, is repaired on
// the next pass), and write the status. Everything it touches comes in through ports.
import { BURST_POLICIES, type KubeApi } from '../cluster/kube-api.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { burst, ours } from '../domain/labels.js';
import type { Leadership } from '../cluster/leadership.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { decide } from './decide.js';
import type { BurstPolicy } from './policy.js';
import { BurstPolicyError, parseBurstPolicy } from './policy.js';
import type { MetricSource } from './prometheus.js';
import { commonLabels, QueryTemplateError, renderQuery } from './query.js';
import type { ReplicaSource } from './replica.js';
import type { Replicator } from './replicator.js';
import { splitWeights } from './route.js';
import { stateOf, statusOf, type BurstPolicyStatus } from './status.js';
import type { MetricReading } from './streak.js';
import type { TrafficShifter } from './traffic.js';
import { readWorkload, type Workload, type WorkloadApi } from './workload.js';

export interface BurstPolicyObject extends KubeObject {
  spec?: unknown;
  status?: Partial<BurstPolicyStatus>;
}

/** While a burst is starting or ending, look again this often (at most): readiness does not wait for the next reading. */
const TRANSIENT_REQUEUE_MS = 1_000;

/** Writes to the BurstPolicy itself: its status, and the finalizer that holds its deletion until the replicas are gone. */
export class PolicyWriter {
  constructor(
    private readonly api: Pick<KubeApi, 'apply'>,
    private readonly leadership: Leadership,
  ) {}

  status(object: BurstPolicyObject, status: BurstPolicyStatus): Promise<BurstPolicyObject> {
    const { name, namespace } = object.metadata;
    this.leadership.assert(`the status of BurstPolicy ${namespace}/${name}`);
    return this.api.apply<BurstPolicyObject>(
      BURST_POLICIES,
      { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace }, status },
      ours.fieldManager,
      'status',
    );
  }

  async finalizer(object: BurstPolicyObject, on: boolean): Promise<void> {
    if ((object.metadata.finalizers ?? []).includes(burst.finalizer) === on) return;
    const { name, namespace } = object.metadata;
    this.leadership.assert(`the finalizer of BurstPolicy ${namespace}/${name}`);
    // Server-side apply owns just this entry of the set: applying none removes ours, nobody else's.
    await this.api.apply(
      BURST_POLICIES,
      { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, finalizers: on ? [burst.finalizer] : [] } },
      ours.fieldManager,
    );
  }
}

export interface BurstContext {
  readonly localCluster: string;
  readonly workloads: WorkloadApi;
  readonly metrics: MetricSource;
  readonly replicator: Replicator;
  readonly traffic: TrafficShifter;
  readonly policies: PolicyWriter;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  readonly now: () => number;
}

const keysOf = (w: Workload) =>
  new Set([
    ...w.configMaps.map((o) => `ConfigMap/${o.metadata.name}`),
    ...w.services.map((o) => `Service/${o.metadata.name}`),
    ...w.deployments.map((o) => `Deployment/${o.metadata.name}`),
  ]);
const EMPTY: Workload = { deployments: [], services: [], configMaps: [] };

/** The peers a spec names, read leniently: a policy being deleted need not be valid to be cleaned up after. */
function namedPeers(spec: unknown): string[] {
  const peers = (spec as { peers?: unknown } | undefined)?.peers;
  return Array.isArray(peers) ? peers.filter((p): p is string => typeof p === 'string') : [];
}

export class BurstReconciler {
  /** When each policy's metric was last read (a failed reading counts): readings come every metric.interval. */
  private readonly lastRead = new Map<string, number>();

  constructor(private readonly ctx: BurstContext) {}

  forget(key: string): void {
    this.lastRead.delete(key);
  }

  /** Returns when to look again; throws what the work queue retries. */
  async reconcile(object: BurstPolicyObject): Promise<{ requeueAfterMs?: number; written?: BurstPolicyObject }> {
    const { namespace = '', name = '' } = object.metadata;
    const source: ReplicaSource = { cluster: this.ctx.localCluster, namespace, policy: name };
    const everywhere = [...new Set([...(object.status?.replicated ?? []).map((r) => r.cluster), ...namedPeers(object.spec)])];
    if (object.metadata.deletionTimestamp) return this.cleanUp(object, source, everywhere);

    let policy: BurstPolicy;
    try {
      policy = parseBurstPolicy(object, this.ctx.localCluster);
    } catch (err) {
      if (!(err instanceof BurstPolicyError)) throw err;
      this.event(object, 'Warning', 'InvalidPolicy', err.message);
      return {};
    }
    const now = this.ctx.now();
    const key = `${namespace}/${name}`;
    const workload = await readWorkload(this.ctx.workloads, policy);
    const due = now - (this.lastRead.get(key) ?? 0) >= policy.metric.intervalMs - 100;
    let metric: MetricReading | undefined;
    if (due) {
      this.lastRead.set(key, now);
      metric = await this.read(policy, workload, now);
    }

    const before = await this.ctx.replicator.observe(source, workload, policy.peers, everywhere);
    const previous = stateOf(object.status);
    const decision = decide(previous, { metric, replica: before.state }, now, policy);
    const { phase } = decision.state;
    if (phase !== previous?.phase)
      this.event(
        object,
        phase === 'Failed' ? 'Warning' : 'Normal',
        phase,
        decision.conditions.find((c) => c.type === 'ReplicaReady')!.message,
      );

    // The decision is recorded before it is acted on: should a write to a peer fail, the next pass
    // resumes from it (and its readiness deadline), instead of deciding the same thing again.
    const decided = { ...statusOf(decision, object.status, now), replicated: [...before.inventory] };
    let written = await this.ctx.policies.status(object, decided);

    const wantReplica = phase === 'Bursting' || phase === 'Burst';
    const looked = [...new Set([...everywhere, ...before.inventory.map((o) => o.cluster)])];
    if (wantReplica) {
      await this.ctx.policies.finalizer(written, true);
      if (decision.actions.some((a) => a.type === 'Replicate') || before.missing > 0)
        for (const peer of policy.peers) await this.ctx.replicator.apply(source, workload, peer);
      // A peer no longer named, an object no longer part of the target (an edited policy): gone.
      const keep = keysOf(workload);
      for (const peer of looked) await this.ctx.replicator.withdraw(source, peer, policy.peers.includes(peer) ? keep : new Set());
    }
    if (phase === 'Burst') {
      const localReady = workload.deployments.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0);
      await this.ctx.traffic.shift(
        source,
        ownerOf(object),
        workload.services,
        splitWeights(policy.weights, localReady, before.readyReplicas),
        policy.traffic.api,
      );
    } else {
      // Weights home and the routes gone first, the replicas after: nothing is sent to a replica being deleted.
      await this.ctx.traffic.restore(source);
      if (!wantReplica) for (const peer of looked) await this.ctx.replicator.withdraw(source, peer);
    }

    const after = await this.ctx.replicator.observe(source, wantReplica ? workload : EMPTY, wantReplica ? policy.peers : [], looked);
    if (JSON.stringify(after.inventory) !== JSON.stringify(before.inventory))
      written = await this.ctx.policies.status(written, { ...decided, replicated: [...after.inventory] });
    if (!wantReplica && after.state === 'Absent') await this.ctx.policies.finalizer(written, false);

    const transient = phase === 'Bursting' || phase === 'ScalingBack' || (phase === 'Failed' && after.state !== 'Absent');
    const untilReading = Math.max(100, policy.metric.intervalMs - (this.ctx.now() - (this.lastRead.get(key) ?? now)));
    return { requeueAfterMs: transient ? Math.min(TRANSIENT_REQUEUE_MS, untilReading) : untilReading, written };
  }

  private async read(policy: BurstPolicy, workload: Workload, now: number): Promise<MetricReading> {
    if (workload.deployments.length === 0)
      return { ok: false, reason: 'NoTarget', message: `no Deployment in ${policy.namespace} matches the policy's target` };
    try {
      const query = renderQuery(policy.metric.query, {
        namespace: policy.namespace,
        deployments: workload.deployments.map((d) => d.metadata.name ?? ''),
        labels: commonLabels(workload.deployments),
        window: policy.metric.window,
      });
      return await this.ctx.metrics.read(query, new Date(now));
    } catch (err) {
      if (err instanceof QueryTemplateError) return { ok: false, reason: 'QueryError', message: err.message };
      throw err;
    }
  }

  /** A policy being deleted: traffic home, every replica it made gone, then its deletion may finish. */
  private async cleanUp(object: BurstPolicyObject, source: ReplicaSource, peers: string[]): Promise<{ requeueAfterMs?: number }> {
    if (!(object.metadata.finalizers ?? []).includes(burst.finalizer)) return {};
    await this.ctx.traffic.restore(source);
    for (const peer of peers) await this.ctx.replicator.withdraw(source, peer);
    const left = await this.ctx.replicator.observe(source, EMPTY, [], peers);
    if (left.state !== 'Absent') return { requeueAfterMs: TRANSIENT_REQUEUE_MS };
    await this.ctx.policies.finalizer(object, false);
    this.event(object, 'Normal', 'Withdrawn', `the policy is deleted: its routes and its replicas in ${peers.join(', ')} are gone`);
    return {};
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
