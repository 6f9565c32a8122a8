import { merge, map, type Subscription } from 'rxjs';
import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import type { Config } from '../config.js';
import type { KubeApi } from '../cluster/kube-api.js';
import { ENDPOINT_SLICES, SERVICES } from '../cluster/kube-api.js';
import type { ResourceEvent, WatchLifecycle } from '../cluster/watch-stream.js';
import { watchResource } from '../cluster/watch-stream.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { LinkWatch } from './links.js';
import { Leadership } from '../cluster/leadership.js';
import { MemberIndex } from './member-index.js';
import { PlanWriter } from './writer.js';
import { Reconciler } from './reconciler.js';
import { WorkQueue } from './work-queue.js';

/**
 * The controller as a composition of streams: per-collection watch streams → the member index →
 * dirty keys → the work queue → reconcile(key) → plan → writes.
 */
export class Controller {
  readonly index: MemberIndex;
  readonly reconciler: Reconciler;
  readonly queue: WorkQueue;
  readonly links: LinkWatch;
  private subscription: Subscription | undefined;
  private resync: NodeJS.Timeout | undefined;
  private readonly unsynced = new Set<string>();
  private syncedResolve!: () => void;
  /** Resolves once every watched collection has been listed. */
  readonly synced = new Promise<void>((r) => (this.syncedResolve = r));

  constructor(
    private readonly api: KubeApi,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly recorder: EventRecorder,
    /** Whether this replica may write; without leader election it always may. */
    private readonly leadership: Leadership = new Leadership(!config.leaderElect),
  ) {
    const settings = {
      localCluster: config.clusterName,
      globalSuffix: config.globalSuffix,
      maxEndpointsPerSlice: config.maxEndpointsPerSlice,
    };
    this.index = new MemberIndex({ ...settings, includeLocal: config.includeLocal });
    this.reconciler = new Reconciler(
      this.index,
      new PlanWriter(api, this.index, metrics, leadership),
      settings,
      recorder,
      metrics,
      log.child({ component: 'reconciler' }),
    );
    this.queue = new WorkQueue(
      // A standby keeps its caches warm but reconciles nothing; becoming leader enqueues everything.
      async (key) => (this.leading ? this.reconciler.reconcile(key) : {}),
      {
        workers: config.workers,
        batchPeriodMs: config.batchPeriod,
        retryInitialMs: config.retryInitial,
        retryMaxMs: config.retryMax,
      },
      {
        retry: (key, attempt, retryInMs, err) =>
          retryInMs === undefined
            ? this.log.info({ key, err: (err as Error).message }, 'reconcile stopped: not the leader')
            : this.log.warn({ key, attempt, retryInMs, err: (err as Error).message }, 'reconcile failed; retrying'),
      },
    );
    this.links = new LinkWatch(
      api,
      { probe: config.gatewayProbe, probeAddresses: config.gatewayProbeAddresses },
      (state) => {
        // Which clusters are linked, or whose gateway fails, changes what every global publishes.
        this.index.links = state;
        if (this.ready && this.leading) for (const key of this.index.knownKeys()) this.queue.add(key);
      },
      (e) => this.lifecycle(e),
      metrics,
      log.child({ component: 'links' }),
    );
    leadership.onChange((leading) => leading && this.tookOver());
    metrics.onCollect(() => {
      this.metrics.queueDepth.set(this.queue.depth);
      this.metrics.cachesSynced.set(this.ready ? 1 : 0);
      this.metrics.leader.set(this.leading ? 1 : 0);
      this.metrics.members.reset();
      const counts = new Map<string, number>();
      for (const c of this.index.classifications()) if (c.kind !== 'ignored') counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
      for (const [state, n] of counts) this.metrics.members.set({ state }, n);
    });
  }

  private get leading(): boolean {
    return this.leadership.isLeader;
  }

  /** A new leader reconciles every known global and tells every problem it knows of; a former one stops writing. */
  private tookOver(): void {
    if (!this.ready) return;
    for (const key of this.index.knownKeys()) this.queue.add(key);
    this.reportMirrorProblems({ type: 'relisted', namespace: undefined, items: [...this.index.services.values()] });
  }

  get ready(): boolean {
    return this.subscription !== undefined && this.unsynced.size === 0;
  }

  /** Logs and counts a watch's lifecycle; bursting's watch reports here too. */
  lifecycle(event: WatchLifecycle): void {
    const log = this.log.child({ resource: event.resource, namespace: event.namespace ?? '*' });
    switch (event.type) {
      case 'listed':
        log.info({ count: event.count, ms: event.ms }, 'listed');
        return;
      case 'reconnect':
        this.metrics.watchRestarts.inc({ resource: event.resource, reason: 'reconnect' });
        log.debug('watch reconnected');
        return;
      case 'gone':
        this.metrics.watchRestarts.inc({ resource: event.resource, reason: 'gone' });
        log.info('watch expired (410 Gone); relisting');
        return;
      case 'failed':
        this.metrics.watchRestarts.inc({ resource: event.resource, reason: 'error' });
        log.warn({ err: (event.error as Error)?.message ?? String(event.error), retryInMs: event.retryInMs }, 'watch failed; retrying');
        return;
    }
  }

  start(): void {
    this.links.start();
    const scopes: (string | undefined)[] = this.config.namespaces.length > 0 ? [...this.config.namespaces] : [undefined];
    const onLifecycle = (e: WatchLifecycle) => this.lifecycle(e);
    const streams = scopes.flatMap((ns) => {
      for (const r of ['services', 'slices']) this.unsynced.add(`${r}/${ns ?? '*'}`);
      return [
        watchResource<Service>(this.api, SERVICES, ns, { onLifecycle, transform: this.index.services.transform }).pipe(
          map((event) => ({ resource: 'services' as const, ns, event })),
        ),
        watchResource<EndpointSlice>(this.api, ENDPOINT_SLICES, ns, { onLifecycle, transform: this.index.slices.transform }).pipe(
          map((event) => ({ resource: 'slices' as const, ns, event })),
        ),
      ];
    });
    this.subscription = merge(...streams).subscribe(({ resource, ns, event }) => {
      try {
        this.handle(resource, ns, event);
      } catch (err) {
        // One event the index cannot take must not end every stream; the resync looks again.
        this.log.error({ err, resource, event: event.type }, 'could not index a watch event');
      }
    });
    if (this.config.resyncPeriod > 0) {
      this.resync = setInterval(() => {
        if (this.ready && this.leading) for (const key of this.index.knownKeys()) this.queue.add(key);
      }, this.config.resyncPeriod);
      this.resync.unref();
    }
  }

  private handle(
    resource: 'services' | 'slices',
    ns: string | undefined,
    event: ResourceEvent<Service> | ResourceEvent<EndpointSlice>,
  ): void {
    const keys =
      resource === 'services'
        ? this.index.apply(resource, event as ResourceEvent<Service>)
        : this.index.apply(resource, event as ResourceEvent<EndpointSlice>);
    if (resource === 'services') this.reportMirrorProblems(event as ResourceEvent<Service>);
    if (event.type === 'relisted' && this.unsynced.delete(`${resource}/${ns ?? '*'}`) && this.unsynced.size === 0) {
      this.log.info({ keys: this.index.knownKeys().size, leading: this.leading }, 'caches synced');
      if (this.leading) for (const key of this.index.knownKeys()) this.queue.add(key);
      this.syncedResolve();
      return;
    }
    // Nothing is decided from a partial picture: before every collection is listed, a missing
    // mirror would read as "delete this global". The sync above enqueues everything.
    if (this.unsynced.size === 0 && this.leading) for (const key of keys) this.queue.add(key);
  }

  private reportMirrorProblems(event: ResourceEvent<Service>): void {
    const services = event.type === 'relisted' ? event.items : event.type === 'deleted' ? [] : [event.object];
    for (const svc of services) {
      const c = this.index.classificationOf(svc.metadata.namespace ?? '', svc.metadata.name ?? '');
      if (c?.kind === 'unsupported' || c?.kind === 'rejected') {
        this.recorder.record(
          {
            kind: 'Service',
            apiVersion: 'v1',
            namespace: svc.metadata.namespace ?? '',
            name: svc.metadata.name ?? '',
            uid: svc.metadata.uid,
          },
          'Warning',
          c.reason,
          c.message,
        );
      }
    }
  }

  /** Stops watching and taking work; waits for reconciles in flight to finish their writes. */
  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    this.subscription?.unsubscribe();
    this.links.stop();
    await this.queue.shutdown();
  }
}
