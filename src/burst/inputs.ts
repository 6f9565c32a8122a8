// Bursting's inputs as watched caches, like the aggregator's: nothing is read per pass. Here, in
// each namespace that holds a policy: Deployments, Services, ConfigMaps and the split objects
// (HTTPRoutes, TrafficSplits; either CRD may be missing). In each peer a policy of that namespace
// names or has replicas in: our replicas there (a label selector: nothing else of the peer is
// held). The mirrors `<svc>-<peer>` come from the aggregator's own Service cache. Watches open when
// a policy needs them and close when none does; every change marks the namespace's policies dirty.
import { merge, map, type Subscription } from 'rxjs';
import { CONFIG_MAPS, DEPLOYMENTS, HTTP_ROUTES, SERVICES, TRAFFIC_SPLITS, type KubeApi, type ResourceType } from '../cluster/kube-api.js';
import { watchResource, type WatchLifecycle } from '../cluster/watch-stream.js';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { burst, ours } from '../domain/labels.js';
import { withoutManagedFields } from '../domain/projection.js';
import { ObjectStore } from '../engine/object-store.js';
import type { Logger } from '../observability/logger.js';
import type { PeerClusters } from './peers.js';
import { REPLICA_KINDS, type BurstKind, type BurstWorld, type Owned, type ReplicaKind, type RouteKind } from './plan.js';
import type { BurstPolicy } from './policy.js';
import { isReplicaOf, madeBy, type Deployment, type ReplicaSource } from './replica.js';
import { workloadOf, type Workload } from './workload.js';

export const TYPES: Readonly<Record<BurstKind, ResourceType>> = {
  ConfigMap: CONFIG_MAPS,
  Service: SERVICES,
  Deployment: DEPLOYMENTS,
  HTTPRoute: HTTP_ROUTES,
  TrafficSplit: TRAFFIC_SPLITS,
};
const LOCAL_KINDS = Object.keys(TYPES) as BurstKind[];
/** Everything bursting made in a peer, whichever policy: one watch per kind serves every policy of the namespace. */
const REPLICAS = `${ours.appManagedByLabel}=${ours.appManagedBy},${burst.replicaOf}`;

/** The aggregator's Service cache, where the peers' exports come back as mirrors. */
export interface MirrorView {
  has(namespace: string, name: string): boolean;
}

/** The caches of one namespace in one cluster, fed by one watch per kind. */
class Scope {
  readonly stores = new Map<BurstKind, ObjectStore<KubeObject>>();
  private readonly unsynced: Set<BurstKind>;
  private subscription: Subscription | undefined;
  /** Why the scope cannot watch (a peer's credentials); retried at the next pass that needs it. */
  error: Error | undefined;

  constructor(readonly kinds: readonly BurstKind[]) {
    for (const kind of kinds) this.stores.set(kind, new ObjectStore<KubeObject>(withoutManagedFields));
    this.unsynced = new Set(kinds);
  }

  get synced(): boolean {
    return this.subscription !== undefined && this.unsynced.size === 0;
  }

  objects(kind: BurstKind): KubeObject[] {
    return [...(this.stores.get(kind)?.values() ?? [])];
  }

  start(
    api: KubeApi,
    namespace: string,
    labelSelector: string | undefined,
    onLifecycle: (e: WatchLifecycle) => void,
    changed: () => void,
  ): void {
    this.error = undefined;
    const streams = this.kinds.map((kind) =>
      watchResource<KubeObject>(api, TYPES[kind], namespace, {
        labelSelector,
        onLifecycle,
        transform: this.stores.get(kind)!.transform,
        optional: kind === 'HTTPRoute' || kind === 'TrafficSplit',
      }).pipe(map((event) => ({ kind, event }))),
    );
    this.subscription = merge(...streams).subscribe(({ kind, event }) => {
      const changes = this.stores.get(kind)!.apply(event);
      const newlySynced = event.type === 'relisted' && this.unsynced.delete(kind) && this.unsynced.size === 0;
      if (newlySynced || (this.synced && changes.length > 0)) changed();
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }
}

/** What a pass needs, or why it cannot have it yet. */
export type WorldOrWait = { world: BurstWorld } | { waiting: string };

export class BurstInputs {
  /** By namespace. */
  private readonly local = new Map<string, Scope>();
  /** By `peer/namespace`. */
  private readonly remote = new Map<string, Scope>();

  constructor(
    private readonly api: KubeApi,
    private readonly peers: PeerClusters,
    private readonly mirrors: MirrorView,
    /** A namespace's inputs changed (or finished listing): its policies are dirty. */
    private readonly changed: (namespace: string) => void,
    private readonly onLifecycle: (event: WatchLifecycle) => void,
    private readonly log: Logger,
  ) {}

  /** How many watched scopes are open (here and in peers): for logs and tests. */
  get scopes(): { local: number; remote: number } {
    return { local: this.local.size, remote: this.remote.size };
  }

  /** Opens what the demand (namespace → peers) needs and closes what it no longer does. */
  want(demand: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [namespace, scope] of this.local)
      if (!demand.has(namespace)) {
        scope.stop();
        this.local.delete(namespace);
      }
    for (const [key, scope] of this.remote) {
      const [peer, namespace] = key.split('/') as [string, string];
      if (!demand.get(namespace)?.has(peer)) {
        scope.stop();
        this.remote.delete(key);
        this.log.info({ peer, namespace }, 'stopped watching replicas in a peer: no policy needs it');
      }
    }
    for (const [namespace, peers] of demand) {
      if (!this.local.has(namespace)) {
        const scope = new Scope(LOCAL_KINDS);
        this.local.set(namespace, scope);
        scope.start(this.api, namespace, undefined, this.onLifecycle, () => this.changed(namespace));
      }
      for (const peer of peers) if (!this.remote.has(`${peer}/${namespace}`)) this.openPeer(peer, namespace);
    }
  }

  private openPeer(peer: string, namespace: string): void {
    const scope = new Scope(REPLICA_KINDS);
    this.remote.set(`${peer}/${namespace}`, scope);
    this.peers.api(peer).then(
      (api) => {
        if (this.remote.get(`${peer}/${namespace}`) !== scope) return;
        this.log.info({ peer, namespace }, 'watching replicas in a peer');
        scope.start(
          api,
          namespace,
          REPLICAS,
          (e) => this.onLifecycle({ ...e, resource: `${e.resource}@${peer}` }),
          () => this.changed(namespace),
        );
      },
      (err: unknown) => {
        scope.error = err instanceof Error ? err : new Error(String(err));
        this.changed(namespace);
      },
    );
  }

  /**
   * Everything a pass over `source`'s policy sees, from the caches: the workload (none without a
   * valid policy), our replicas in `peers`, our split objects here, the mirrors. Waiting while a
   * cache has not listed yet (its listing marks the policy dirty again); a peer that cannot be
   * watched throws why, and is tried again.
   */
  world(source: ReplicaSource, peers: readonly string[], policy: BurstPolicy | undefined): WorldOrWait {
    const here = this.local.get(source.namespace);
    if (!here?.synced) return { waiting: `the caches of namespace ${source.namespace}` };
    const replicas = new Map<string, Owned<ReplicaKind>[]>();
    for (const peer of peers) {
      const scope = this.remote.get(`${peer}/${source.namespace}`);
      if (scope?.error) {
        this.remote.delete(`${peer}/${source.namespace}`);
        this.openPeer(peer, source.namespace);
        throw scope.error;
      }
      if (!scope?.synced) return { waiting: `the replicas in ${peer}` };
      replicas.set(
        peer,
        REPLICA_KINDS.flatMap((kind) => scope.objects(kind).flatMap((object) => (isReplicaOf(object, source) ? [{ kind, object }] : []))),
      );
    }
    const routes: Owned<RouteKind>[] = (['HTTPRoute', 'TrafficSplit'] as const).flatMap((kind) =>
      here.objects(kind).flatMap((object) => (madeBy(object, source) ? [{ kind, object }] : [])),
    );
    const workload: Workload = policy
      ? workloadOf(policy, {
          deployments: here.objects('Deployment') as Deployment[],
          services: here.objects('Service') as Service[],
          configMaps: here.objects('ConfigMap'),
        })
      : { deployments: [], services: [], configMaps: [] };
    return {
      world: { workload, replicas, routes, mirrored: (service, peer) => this.mirrors.has(source.namespace, `${service}-${peer}`) },
    };
  }

  /** Our own write, before the watch brings it: the next pass plans from it. */
  recordWrite(cluster: string, localCluster: string, kind: BurstKind, written: KubeObject): void {
    this.scopeOf(cluster, localCluster, written.metadata.namespace ?? '')
      ?.stores.get(kind)
      ?.recordWrite(written);
  }

  recordDelete(cluster: string, localCluster: string, kind: BurstKind, namespace: string, name: string, uid: string | undefined): void {
    this.scopeOf(cluster, localCluster, namespace)?.stores.get(kind)?.recordDelete(namespace, name, uid);
  }

  private scopeOf(cluster: string, localCluster: string, namespace: string): Scope | undefined {
    return cluster === localCluster ? this.local.get(namespace) : this.remote.get(`${cluster}/${namespace}`);
  }

  stop(): void {
    for (const scope of [...this.local.values(), ...this.remote.values()]) scope.stop();
    this.local.clear();
    this.remote.clear();
  }
}
