// Bursting's streams, on the same footing as the aggregator's: a BurstPolicy watch per namespace
// scope → a store → the demand (which namespaces and peers the policies need) → the input caches
// (inputs.ts) → a dirty policy key in a work queue → reconcile(policy). A change to a policy or to
// any of its inputs marks it dirty; the timers are the metric's interval and the resync. Only the
// leader reconciles; a standby keeps its caches warm.
import { merge, type Subscription } from 'rxjs';
import { BURST_POLICIES, type KubeApi, type RequestObserver } from '../cluster/kube-api.js';
import type { Leadership } from '../cluster/leadership.js';
import { watchResource, type WatchLifecycle } from '../cluster/watch-stream.js';
import type { Config } from '../config.js';
import { withoutManagedFields } from '../domain/projection.js';
import { ObjectStore } from '../engine/object-store.js';
import { WorkQueue } from '../engine/work-queue.js';
import { ObjectWriter } from '../engine/writer.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { objectKey } from '../shared.js';
import { BurstExecutor } from './executor.js';
import { BurstInputs, type MirrorView } from './inputs.js';
import { SecretPeers } from './peers.js';
import { Prometheus, type MetricSource } from './prometheus.js';
import { BurstReconciler, peersOf, type BurstPolicyObject } from './reconcile.js';

export interface BurstSettings {
  readonly prometheusUrl: string;
  readonly peerSecret: string;
}

/** What bursting takes from the aggregator: its Service cache (the mirrors) and word of its changes, once it has listed. */
export interface Aggregator {
  readonly mirrors: MirrorView;
  readonly ready: boolean;
  onServices(listener: (namespace: string) => void): void;
  onReady(listener: () => void): void;
}

export class BurstController {
  readonly policies = new ObjectStore<BurstPolicyObject>(withoutManagedFields);
  readonly inputs: BurstInputs;
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
    private readonly aggregator: Aggregator,
    metrics?: Metrics,
    /** How requests to each peer's API are counted. */
    countRequests?: (peer: string) => RequestObserver,
    metricSource: MetricSource = new Prometheus(config.prometheusUrl),
  ) {
    const peers = new SecretPeers(api, config.peerSecret, countRequests, 'globalsvc');
    this.inputs = new BurstInputs(api, peers, aggregator.mirrors, (namespace) => this.dirty(namespace), onLifecycle, log);
    this.reconciler = new BurstReconciler({
      localCluster: config.clusterName,
      inputs: this.inputs,
      executor: new BurstExecutor(api, peers, this.inputs, new ObjectWriter(leadership, metrics)),
      metrics: metricSource,
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
    leadership.onChange((leading) => leading && this.all());
    aggregator.onServices((namespace) => this.dirty(namespace));
    aggregator.onReady(() => this.all());
  }

  private async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    if (!this.leadership.isLeader || !this.aggregator.ready) return {};
    const slash = key.indexOf('/');
    const object = this.policies.get(key.slice(0, slash), key.slice(slash + 1));
    if (!object) {
      this.reconciler.forget(key);
      return {};
    }
    const { requeueAfterMs, written } = await this.reconciler.reconcile(object);
    // Our own write, before the watch brings it: the next pass decides from it.
    if (written) this.policies.recordWrite(written);
    return { requeueAfterMs };
  }

  /** Every policy of a namespace whose inputs changed. */
  private dirty(namespace: string): void {
    if (!this.synced || !this.leadership.isLeader) return;
    for (const p of this.policies.values()) if (p.metadata.namespace === namespace) this.queue.add(objectKey(p));
  }

  /** Every policy: a new leader, the aggregator's caches ready. */
  private all(): void {
    if (this.synced && this.leadership.isLeader) for (const p of this.policies.values()) this.queue.add(objectKey(p));
  }

  /** The namespaces with policies, and per namespace the peers they name or have replicas in. */
  private demand(): Map<string, Set<string>> {
    const demand = new Map<string, Set<string>>();
    for (const p of this.policies.values()) {
      const peers = demand.get(p.metadata.namespace ?? '') ?? new Set<string>();
      for (const peer of peersOf(p)) peers.add(peer);
      demand.set(p.metadata.namespace ?? '', peers);
    }
    return demand;
  }

  start(): void {
    const scopes: (string | undefined)[] = this.config.namespaces.length > 0 ? [...this.config.namespaces] : [undefined];
    const unsynced = new Set(scopes.map((ns) => ns ?? '*'));
    const streams = scopes.map((ns) =>
      watchResource<BurstPolicyObject>(this.api, BURST_POLICIES, ns, { onLifecycle: this.onLifecycle, transform: this.policies.transform }),
    );
    this.subscription = merge(...streams).subscribe((event) => {
      const changes = this.policies.apply(event);
      this.inputs.want(this.demand());
      if (event.type === 'relisted') {
        unsynced.delete(event.namespace ?? '*');
        if (unsynced.size === 0 && !this.synced) {
          this.synced = true;
          this.log.info({ policies: this.policies.size }, 'burst policies synced');
          this.all();
        }
      }
      if (!this.synced || !this.leadership.isLeader) return;
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
        if (object) this.queue.add(objectKey(object));
      }
    });
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.inputs.stop();
    await this.queue.shutdown();
  }
}
