import type { RequestObserver } from '../cluster/kube-api.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, exponentialBuckets } from 'prom-client';

/** Every metric globalsvc exports, on its own registry (no global state shared with libraries). */
export class Metrics {
  readonly registry = new Registry();

  readonly reconcileDuration = new Histogram({
    name: 'globalsvc_reconcile_duration_seconds',
    help: 'Time to reconcile one global service key, by result (success, error, requeue).',
    labelNames: ['result'] as const,
    buckets: exponentialBuckets(0.0005, 2, 16),
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'globalsvc_queue_depth',
    help: 'Global service keys waiting to be reconciled.',
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'globalsvc_queue_wait_seconds',
    help: 'Time a global service key waited for a free worker, from being ready (its batch period or retry backoff over) to its reconcile starting.',
    buckets: exponentialBuckets(0.0005, 2, 16),
    registers: [this.registry],
  });

  readonly workers = new Gauge({
    name: 'globalsvc_workers',
    help: 'Reconciles allowed to run at once: --start-workers until every global has been reconciled once (a cold start, a new leader), --workers after.',
    registers: [this.registry],
  });

  readonly globals = new Gauge({
    name: 'globalsvc_globals',
    help: 'Global services published (our headless Services), and globals blocked by a name taken by someone else.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly endpoints = new Gauge({
    name: 'globalsvc_endpoints',
    help: 'Endpoints published in global services, by source cluster.',
    labelNames: ['source_cluster'] as const,
    registers: [this.registry],
  });

  readonly unreachable = new Gauge({
    name: 'globalsvc_unreachable_endpoints',
    help: "Endpoints of other clusters published not ready because their cluster's gateway fails its probe (Linkerd's, or globalsvc's own), by source cluster.",
    labelNames: ['source_cluster'] as const,
    registers: [this.registry],
  });

  readonly unlinked = new Gauge({
    name: 'globalsvc_unlinked_endpoints',
    help: 'Endpoints published from mirrors of a cluster that has no Link here any more (deleted without unlink): nothing keeps them current. By source cluster.',
    labelNames: ['source_cluster'] as const,
    registers: [this.registry],
  });

  readonly gatewayUp = new Gauge({
    name: 'globalsvc_gateway_up',
    help: "globalsvc's own probe of each linked cluster's gateway (the Link's probeSpec): 1 answering, 0 failing its failureThreshold; absent until the probe has an answer.",
    labelNames: ['source_cluster'] as const,
    registers: [this.registry],
  });

  readonly remoteClusterState = new Gauge({
    name: 'globalsvc_remote_cluster_state',
    help: 'Linked clusters read directly (--remote-discovery), 1 for the state each is in: live (its watches answer), stale (they do not; its endpoints are the last read), expired (published not ready, after --remote-stale-after), gone (its members left every global, after twice that).',
    labelNames: ['source_cluster', 'state'] as const,
    registers: [this.registry],
  });

  readonly gatewayProbes = new Counter({
    name: 'globalsvc_gateway_probes_total',
    help: "globalsvc's probes of linked clusters' gateways, by source cluster and result (success, failure).",
    labelNames: ['source_cluster', 'result'] as const,
    registers: [this.registry],
  });

  readonly leftOut = new Gauge({
    name: 'globalsvc_left_out_endpoints',
    help: 'Member endpoints not in their global as the member has them, by reason: UnsupportedAddressType (FQDN slices), NoGlobalPort, UnmappedPort (published without a port), UnmirrorableHostname (an exported pod Linkerd cannot mirror to other clusters).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly apiRequests = new Counter({
    name: 'globalsvc_api_requests_total',
    help: 'Requests to the Kubernetes API, by cluster (this one, or a peer bursting writes to), verb, kind and HTTP status code (or "error" when no answer came).',
    labelNames: ['cluster', 'verb', 'kind', 'code'] as const,
    registers: [this.registry],
  });

  readonly apiWrites = new Counter({
    name: 'globalsvc_api_writes_total',
    help: 'Writes the reconciler made, by verb, kind and result (success, conflict, not_found, error).',
    labelNames: ['verb', 'kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly watchRestarts = new Counter({
    name: 'globalsvc_watch_restarts_total',
    help: 'Watches restarted, by resource and reason (reconnect, gone = 410 relist, error).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  readonly members = new Gauge({
    name: 'globalsvc_members',
    help: 'Mirror Services seen, by state (member, unsupported, rejected, excluded).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly serviceExports = new Gauge({
    name: 'globalsvc_service_exports',
    help: 'ServiceExports here (--mcs-api), by state as their conditions say: exported, pending, conflict (Conflict=True), invalid (Valid=False: NoService, InvalidServiceType).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly problems = new Counter({
    name: 'globalsvc_problems_total',
    help: 'Problems reported as Kubernetes Events, by reason (GlobalNameTaken, PortConflict, RemoteDiscoveryMirror, ...).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventsDropped = new Counter({
    name: 'globalsvc_events_dropped_total',
    help: 'Events not written because too many were already waiting (the problem is still logged and counted in globalsvc_problems_total), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'globalsvc_leader',
    help: '1 while this replica may write (it holds the Lease, or leader election is off), 0 while it stands by.',
    registers: [this.registry],
  });

  readonly cachesSynced = new Gauge({
    name: 'globalsvc_caches_synced',
    help: '1 once every watched collection has been listed, 0 before.',
    registers: [this.registry],
  });

  readonly compilers = new Gauge({
    name: 'globalsvc_v8_compilers',
    help: "1 once V8's baseline and optimizing compilers are on: globalsvc starts on V8's interpreter alone and turns them on when its caches or its event loop show work for them.",
    registers: [this.registry],
  });

  readonly smallHeapCollections = new Counter({
    name: 'globalsvc_v8_small_heap_collections_total',
    help: "Full collections globalsvc asked V8 for while it is small (V8's compilers off), its old generation grown 1 MiB since the last: V8's own step is 8 MB.",
    registers: [this.registry],
  });

  private readonly collectors: (() => void)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'globalsvc_' });
  }

  /** Registers a function that sets gauges from live state just before each scrape. */
  onCollect(collector: () => void): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    for (const collect of this.collectors) collect();
    return this.registry.metrics();
  }
}

/** Counts each request to `cluster`'s API in `metrics`: this cluster's, a peer's or a linked cluster's. */
export const requestCounter =
  (metrics: Metrics) =>
  (cluster: string): RequestObserver =>
  (verb, kind, code) =>
    metrics.apiRequests.inc({ cluster, verb, kind, code: String(code) });
