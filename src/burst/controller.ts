// Bursting's stream, beside the aggregator's: a BurstPolicy watch per namespace scope → a store →
// a per-policy key in its own work queue → reconcile(policy), requeued after the policy's interval.
// Only the leader reconciles; a standby keeps the store warm.
import { merge, type Subscription } from 'rxjs';
import { BURST_POLICIES, SERVICES, type KubeApi } from '../cluster/kube-api.js';
import { watchResource, type WatchLifecycle } from '../cluster/watch-stream.js';
import type { Config } from '../config.js';
import type { Leadership } from '../cluster/leadership.js';
import { objectKey } from '../shared.js';
import { ObjectStore } from '../engine/object-store.js';
import { withoutManagedFields } from '../domain/projection.js';
import { WorkQueue } from '../engine/work-queue.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { SecretPeers } from './peers.js';
import { Prometheus, type MetricSource } from './prometheus.js';
import { BurstReconciler, PolicyWriter, type BurstPolicyObject } from './reconcile.js';
import { Replicator } from './replicator.js';
import { mirrorName } from './route.js';
import { TrafficShifter } from './traffic.js';

export interface BurstSettings {
  readonly prometheusUrl: string;
  readonly peerSecret: string;
}

export class BurstController {
  readonly policies = new ObjectStore<BurstPolicyObject>(withoutManagedFields);
  private readonly queue: WorkQueue;
  private readonly reconciler: BurstReconciler;
  private subscription: Subscription | undefined;
  private synced = false;

  constructor(
    private readonly api: KubeApi,
    private readonly config: Config & BurstSettings,
    private readonly log: Logger,
    recorder: EventRecorder,
    private readonly onLifecycle: (event: WatchLifecycle) => void,
    private readonly leadership: Leadership,
    metrics: MetricSource = new Prometheus(config.prometheusUrl),
  ) {
    this.reconciler = new BurstReconciler({
      localCluster: config.clusterName,
      workloads: api,
      metrics,
      replicator: new Replicator(
        new SecretPeers(api, config.peerSecret, undefined, 'globalsvc'),
        async (namespace, service, peer) => (await api.get(SERVICES, namespace, mirrorName(service, peer))) !== undefined,
        leadership,
      ),
      traffic: new TrafficShifter(api, leadership),
      policies: new PolicyWriter(api, leadership),
      recorder,
      log,
      now: Date.now,
    });
    this.queue = new WorkQueue(
      async (key) => this.reconcile(key),
      { workers: 2, batchPeriodMs: config.batchPeriod, retryInitialMs: config.retryInitial, retryMaxMs: config.retryMax },
      {
        retry: (key, attempt, retryInMs, err) =>
          retryInMs === undefined
            ? log.info({ policy: key, err: (err as Error).message }, 'burst reconcile stopped: not the leader')
            : log.warn({ policy: key, attempt, retryInMs, err: (err as Error).message }, 'burst reconcile failed; retrying'),
      },
    );
    leadership.onChange((leading) => leading && this.tookOver());
  }

  private async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    if (!this.leading) return {};
    const slash = key.indexOf('/');
    const object = this.policies.get(key.slice(0, slash), key.slice(slash + 1));
    if (!object) {
      this.reconciler.forget(key);
      return {};
    }
    const { requeueAfterMs, written } = await this.reconciler.reconcile(object);
    // Our own status write, before the watch brings it: the next pass decides from it.
    if (written) this.policies.recordWrite(written);
    return { requeueAfterMs };
  }

  private get leading(): boolean {
    return this.leadership.isLeader;
  }

  /** A new leader looks at every policy. */
  private tookOver(): void {
    if (this.synced) for (const p of this.policies.values()) this.queue.add(keyOf(p));
  }

  start(): void {
    const scopes: (string | undefined)[] = this.config.namespaces.length > 0 ? [...this.config.namespaces] : [undefined];
    const unsynced = new Set(scopes.map((ns) => ns ?? '*'));
    const streams = scopes.map((ns) =>
      watchResource<BurstPolicyObject>(this.api, BURST_POLICIES, ns, { onLifecycle: this.onLifecycle, transform: this.policies.transform }),
    );
    this.subscription = merge(...streams).subscribe((event) => {
      const changes = this.policies.apply(event);
      if (event.type === 'relisted') {
        unsynced.delete(event.namespace ?? '*');
        if (unsynced.size === 0 && !this.synced) {
          this.synced = true;
          this.log.info({ policies: this.policies.size }, 'burst policies synced');
        }
      }
      if (!this.synced || !this.leading) return;
      for (const { before, after } of changes) {
        // Our status writes come back as modifications: only a new spec, a deletion or a new object is news.
        if (
          after &&
          before &&
          before.metadata.generation === after.metadata.generation &&
          before.metadata.deletionTimestamp === after.metadata.deletionTimestamp
        )
          continue;
        const object = after ?? before;
        if (object) this.queue.add(keyOf(object));
      }
    });
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.queue.shutdown();
  }
}

const keyOf = objectKey;
