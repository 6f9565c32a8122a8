import { merge, map, type Subscription } from 'rxjs';
import type { EndpointSlice, Service, ServiceExport, ServiceImport } from '../domain/k8s-types.js';
import type { Config } from '../config.js';
import type { KubeApi } from '../cluster/kube-api.js';
import { ENDPOINT_SLICES, SERVICE_EXPORTS, SERVICE_IMPORTS, SERVICES } from '../cluster/kube-api.js';
import type { ResourceEvent, WatchLifecycle } from '../cluster/watch-stream.js';
import { watchResource } from '../cluster/watch-stream.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import { requestCounter, type Metrics } from '../observability/metrics.js';
import { watchLifecycleLog } from '../observability/watch-log.js';
import { collectControllerMetrics } from './controller-metrics.js';
import { LinkWatch } from './links.js';
import { RemoteDiscovery } from './remote-discovery.js';
import { Leadership } from '../cluster/leadership.js';
import { MemberIndex } from './member-index.js';
import { ObjectWriter, PlanWriter } from './writer.js';
import { ExportReconciler } from './exports.js';
import { Reconciler } from './reconciler.js';
import { SyncGate } from './sync-gate.js';
import { WorkQueue, type ReconcileOutcome } from './work-queue.js';

/** The collections the controller watches in each namespace scope: ServiceImports and ServiceExports with --mcs-api only. */
type Resource = 'services' | 'slices' | 'imports' | 'exports';
type WatchedEvent = ResourceEvent<Service> | ResourceEvent<EndpointSlice> | ResourceEvent<ServiceImport> | ResourceEvent<ServiceExport>;

/**
 * The controller as a composition of streams: per-collection watch streams → the member index →
 * dirty keys → (once every collection is listed, on the leader: the sync gate) the work queue →
 * reconcile(key) → plan → writes.
 */
export class Controller {
  readonly index: MemberIndex;
  readonly reconciler: Reconciler;
  /** ServiceExports in (--mcs-api), or undefined when that is off. */
  readonly exports: ExportReconciler | undefined;
  readonly queue: WorkQueue;
  readonly links: LinkWatch;
  /** Linked clusters read directly (--remote-discovery), or undefined when that is off. */
  readonly remoteDiscovery: RemoteDiscovery | undefined;
  private readonly gate: SyncGate;
  private subscription: Subscription | undefined;
  private resync: NodeJS.Timeout | undefined;
  private readonly serviceListeners: ((namespace: string) => void)[] = [];
  /** Logs and counts a watch's lifecycle; bursting's watches report here too. */
  readonly lifecycle: (event: WatchLifecycle) => void;
  /** The Service cache, read by bursting for the mirrors of its replicas. */
  readonly mirrors = { has: (namespace: string, name: string) => this.index.services.has(namespace, name) };

  constructor(
    private readonly api: KubeApi,
    private readonly config: Config,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly recorder: EventRecorder,
    /** Whether this replica may write; without leader election it always may. */
    private readonly leadership: Leadership = new Leadership(!config.leaderElect),
  ) {
    const settings = {
      localCluster: config.clusterName,
      globalSuffix: config.globalSuffix,
      maxEndpointsPerSlice: config.maxEndpointsPerSlice,
    };
    this.gate = new SyncGate(leadership);
    this.lifecycle = watchLifecycleLog(log, metrics);
    this.index = new MemberIndex({
      ...settings,
      includeLocal: config.includeLocal,
      remoteDiscovery: config.remoteDiscovery,
      mcsApi: config.mcsApi,
      sources: config.source,
    });
    this.reconciler = new Reconciler(
      this.index,
      new PlanWriter(api, this.index, metrics, leadership, (keys) => {
        if (this.gate.open) for (const key of keys) this.queue.add(key);
      }),
      settings,
      recorder,
      metrics,
      log.child({ component: 'reconciler' }),
    );
    if (config.mcsApi)
      this.exports = new ExportReconciler(
        api,
        this.index,
        new ObjectWriter(leadership, metrics),
        config.clusterName,
        recorder,
        metrics,
        log.child({ component: 'exports' }),
      );
    this.queue = new WorkQueue(
      // A standby keeps its caches warm but reconciles nothing; becoming leader enqueues everything.
      async (key) => (leadership.isLeader ? this.reconcileKey(key) : {}),
      {
        workers: config.workers,
        startWorkers: config.startWorkers,
        batchPeriodMs: config.batchPeriod,
        retryInitialMs: config.retryInitial,
        retryMaxMs: config.retryMax,
      },
      {
        retry: (key, attempt, retryInMs, err) =>
          retryInMs === undefined
            ? this.log.info({ key, err: (err as Error).message }, 'reconcile stopped: not the leader')
            : this.log.warn({ key, attempt, retryInMs, err: (err as Error).message }, 'reconcile failed; retrying'),
        started: (workers) => this.log.info({ workers }, 'every global reconciled once; reconciling up to --workers at once'),
        waited: (waitedMs) => metrics.queueWait.observe(waitedMs / 1000),
      },
    );
    this.links = new LinkWatch(
      api,
      { probe: config.gatewayProbe, probeAddresses: config.gatewayProbeAddresses },
      (state) => {
        // Which clusters are linked, or whose gateway fails, changes what every global publishes.
        this.index.links = state;
        this.enqueueAll();
      },
      this.lifecycle,
      metrics,
      log.child({ component: 'links' }),
    );
    if (config.remoteDiscovery) {
      // The first reconcile waits for the linked clusters' first lists too: a direct member not
      // yet read would read as "take this cluster out of the global".
      this.gate.expect('remote-discovery');
      this.remoteDiscovery = new RemoteDiscovery(
        {
          local: api,
          direct: this.index.direct,
          changed: (keys) => {
            if (this.gate.open) for (const key of keys) this.queue.add(key);
          },
          recorder,
          log: log.child({ component: 'remote-discovery' }),
          onLifecycle: this.lifecycle,
          countRequests: requestCounter(metrics),
        },
        { staleAfterMs: config.remoteStaleAfter },
        () => {
          if (this.gate.listed('remote-discovery')) {
            this.cachesSynced();
          }
        },
      );
      this.links.onLinks((infos) => this.remoteDiscovery?.update(infos));
    }
    leadership.onChange((leading) => leading && this.tookOver());
    collectControllerMetrics(metrics, {
      queue: this.queue,
      index: this.index,
      ready: () => this.ready,
      leading: () => leadership.isLeader,
    });
  }

  /**
   * One name: its ServiceExport (marks on the Service, conditions) and then its global and
   * ServiceImport. A failed export does not hold the global back; the key retries either way.
   */
  private async reconcileKey(key: string): Promise<ReconcileOutcome> {
    let exportError: unknown;
    if (this.exports) await this.exports.reconcile(key).catch((err: unknown) => (exportError = err));
    const outcome = await this.reconciler.reconcile(key);
    if (exportError) throw exportError;
    return outcome;
  }

  /** Resolves once every watched collection has been listed. */
  get synced(): Promise<void> {
    return this.gate.synced;
  }

  get ready(): boolean {
    return this.subscription !== undefined && this.gate.ready;
  }

  /** Called with the namespace of every Service change (a relist calls it for each namespace it holds). */
  onServices(listener: (namespace: string) => void): void {
    this.serviceListeners.push(listener);
  }

  /** Called once, when every watched collection has been listed. */
  onReady(listener: () => void): void {
    void this.gate.synced.then(listener);
  }

  private enqueueAll(): void {
    if (this.gate.open) for (const key of this.index.knownKeys()) this.queue.add(key);
  }

  /** A pass over every known global: at `--start-workers` until each has run once. */
  private passOverAll(keys = this.index.knownKeys()): void {
    if (!this.gate.open) return;
    this.queue.startPass(keys);
    for (const key of keys) this.queue.add(key);
  }

  private cachesSynced(): void {
    // One set of every key at the cold start's peak, for the log and the pass.
    const keys = this.index.knownKeys();
    this.log.info({ keys: keys.size, leading: this.leadership.isLeader }, 'caches synced');
    this.passOverAll(keys);
  }

  /** A new leader reconciles every known global and tells every problem it knows of; a former one stops writing. */
  private tookOver(): void {
    if (!this.gate.ready) return;
    this.passOverAll();
    this.reportMirrorProblems({ type: 'relisted', namespace: undefined, items: [...this.index.services.values()] });
  }

  start(): void {
    this.links.start();
    const scopes: (string | undefined)[] = this.config.namespaces.length > 0 ? [...this.config.namespaces] : [undefined];
    const onLifecycle = this.lifecycle;
    const streams = scopes.flatMap((ns) => {
      const watchImports = this.config.mcsApi || this.config.source.mcs;
      const resources: Resource[] = [
        'services',
        'slices',
        ...(watchImports ? (['imports'] as const) : []),
        ...(this.config.mcsApi ? (['exports'] as const) : []),
      ];
      for (const r of resources) this.gate.expect(`${r}/${ns ?? '*'}`);
      return [
        // Relists page by page: at 10,000 globals a whole one is 100,000 objects held at once.
        watchResource<Service>(this.api, SERVICES, ns, { onLifecycle, transform: this.index.services.transform, pages: true }).pipe(
          map((event) => ({ resource: 'services' as const, ns, event: event as WatchedEvent })),
        ),
        watchResource<EndpointSlice>(this.api, ENDPOINT_SLICES, ns, {
          onLifecycle,
          transform: this.index.slices.transform,
          pages: true,
        }).pipe(map((event) => ({ resource: 'slices' as const, ns, event: event as WatchedEvent }))),
        ...(watchImports
          ? [
              watchResource<ServiceImport>(this.api, SERVICE_IMPORTS, ns, {
                onLifecycle: (e) => this.importsLifecycle(e),
                transform: this.index.imports.transform,
                optional: true,
              }).pipe(map((event) => ({ resource: 'imports' as const, ns, event: event as WatchedEvent }))),
            ]
          : []),
        ...(this.config.mcsApi
          ? [
              watchResource<ServiceExport>(this.api, SERVICE_EXPORTS, ns, {
                onLifecycle,
                transform: this.index.exports.transform,
                optional: true,
              }).pipe(map((event) => ({ resource: 'exports' as const, ns, event: event as WatchedEvent }))),
            ]
          : []),
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
      this.resync = setInterval(() => this.enqueueAll(), this.config.resyncPeriod);
      this.resync.unref();
    }
  }

  /**
   * --mcs-api without the MCS CRDs: said once, and the globals go on without ServiceImports until
   * the CRD is there (looked for again every 30 s); then every global gets its ServiceImport.
   */
  private importsLifecycle(e: WatchLifecycle): void {
    if (e.type === 'absent') {
      if (this.index.importsServed !== false)
        this.log.warn(
          { resource: e.resource },
          this.config.mcsApi
            ? '--mcs-api: no ServiceImport CRD (multicluster.x-k8s.io) here: no ServiceImport is written until it is installed'
            : '--source=mcs: no ServiceImport CRD (multicluster.x-k8s.io) here: no MCS member is read until it is installed',
        );
      this.index.importsServed = false;
    } else if (e.type === 'listed' && this.index.importsServed !== true) {
      this.index.importsServed = true;
      queueMicrotask(() => this.enqueueAll());
    }
    this.lifecycle(e);
  }

  private handle(resource: Resource, ns: string | undefined, event: WatchedEvent): void {
    const keys =
      resource === 'services'
        ? this.index.apply(resource, event as ResourceEvent<Service>)
        : resource === 'slices'
          ? this.index.apply(resource, event as ResourceEvent<EndpointSlice>)
          : resource === 'exports'
            ? this.index.apply(resource, event as ResourceEvent<ServiceExport>)
            : this.index.apply(resource, event as ResourceEvent<ServiceImport>);
    if (resource === 'services') {
      const e = event as ResourceEvent<Service>;
      this.reportMirrorProblems(e);
      const namespaces = new Set((e.type === 'relisted' ? e.items : [e.object]).map((s) => s.metadata.namespace ?? ''));
      for (const namespace of namespaces) for (const listener of this.serviceListeners) listener(namespace);
    }
    // Listed once the relist's last page is in.
    if (event.type === 'relisted' && event.page?.last !== false && this.gate.listed(`${resource}/${ns ?? '*'}`)) {
      this.cachesSynced();
      return;
    }
    if (this.gate.open) for (const key of keys) this.queue.add(key);
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
    this.remoteDiscovery?.stop();
    await this.queue.shutdown();
  }
}
