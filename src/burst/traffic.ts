// ShiftTraffic and RestoreTraffic here: the objects that split a burst's traffic — Gateway API
// HTTPRoutes or SMI TrafficSplits, as the policy chooses — written by server-side apply and removed
// by uid. Restoring sends every weight home before the object goes, so a data plane that has not
// seen the deletion yet already routes home. Both kinds are looked at every time: a policy switched
// from one API to the other, or deleted, leaves nothing of the other behind.
import type { Leadership } from '../cluster/leadership.js';
import { HTTP_ROUTES, KubeApiError, TRAFFIC_SPLITS, type KubeApi, type ResourceType } from '../cluster/kube-api.js';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { ours } from '../domain/labels.js';
import type { TrafficApi } from './policy.js';
import { madeBy, policySelector, type ReplicaSource } from './replica.js';
import { httpRouteAtHome, httpRoutes, type PolicyOwner, type SplitWeights } from './route.js';
import { trafficSplit, trafficSplitAtHome } from './traffic-split.js';

export type RouteApi = Pick<KubeApi, 'listAll' | 'apply' | 'delete'>;

/** What the shifter needs to know of one split API: where its objects live, how to build them and send them home. */
interface SplitKind {
  readonly type: ResourceType;
  build(services: readonly Service[], split: SplitWeights, source: ReplicaSource, owner: PolicyOwner): KubeObject[];
  atHome(object: KubeObject): KubeObject;
}

const KINDS: Readonly<Record<TrafficApi, SplitKind>> = {
  HTTPRoute: {
    type: HTTP_ROUTES,
    build: (services, split, source, owner) => services.flatMap((s) => httpRoutes(s, split, source, owner)),
    atHome: httpRouteAtHome,
  },
  TrafficSplit: {
    type: TRAFFIC_SPLITS,
    build: (services, split, source, owner) => services.map((s) => trafficSplit(s, split, source, owner)),
    atHome: trafficSplitAtHome,
  },
};

export class TrafficShifter {
  constructor(
    private readonly api: RouteApi,
    private readonly leadership: Leadership,
  ) {}

  /** Ours of one kind. A kind whose CRD is not installed (404) has none: a mesh need not have both APIs. */
  private async existing(kind: SplitKind, source: ReplicaSource): Promise<KubeObject[]> {
    try {
      const { items } = await this.api.listAll<KubeObject>(kind.type, source.namespace, { labelSelector: policySelector(source) });
      return items.filter((o) => madeBy(o, source));
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return [];
      throw err;
    }
  }

  private check(): void {
    this.leadership.assert('the routes');
  }

  /** The split objects of `api` for `services` with `split`; ours of the other API, or for other services, go. */
  async shift(
    source: ReplicaSource,
    owner: PolicyOwner,
    services: readonly Service[],
    split: SplitWeights,
    api: TrafficApi,
  ): Promise<void> {
    const chosen = KINDS[api];
    const wanted = chosen.build(services, split, source, owner);
    for (const object of wanted) {
      this.check();
      await this.api.apply(chosen.type, object, ours.fieldManager);
    }
    const names = new Set(wanted.map((o) => o.metadata.name));
    for (const kind of Object.values(KINDS))
      for (const stale of await this.existing(kind, source))
        if (kind !== chosen || !names.has(stale.metadata.name)) await this.remove(kind, stale);
  }

  /** Every weight home, then the split objects gone, of both APIs. Returns how many there were. */
  async restore(source: ReplicaSource): Promise<number> {
    let removed = 0;
    for (const kind of Object.values(KINDS))
      for (const object of await this.existing(kind, source)) {
        await this.remove(kind, object);
        removed++;
      }
    return removed;
  }

  private async remove(kind: SplitKind, object: KubeObject): Promise<void> {
    this.check();
    await this.api.apply(kind.type, kind.atHome(object), ours.fieldManager);
    this.check();
    try {
      await this.api.delete(kind.type, object.metadata.namespace ?? '', object.metadata.name ?? '', { uid: object.metadata.uid });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }
}
