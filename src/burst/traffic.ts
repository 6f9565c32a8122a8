// ShiftTraffic and RestoreTraffic here: the HTTPRoutes of a burst, written by server-side apply and
// removed by uid. Restoring sends every weight home before the route goes, so a data plane that
// has not seen the deletion yet already routes home.
import { HTTP_ROUTES, KubeApiError, type KubeApi } from '../cluster/kube-api.js';
import type { Service } from '../domain/k8s-types.js';
import { ours } from '../domain/labels.js';
import { madeBy, policySelector, type ReplicaSource } from './replica.js';
import { homeWeights, httpRoutes, type HTTPRoute, type SplitWeights } from './route.js';

export type RouteApi = Pick<KubeApi, 'listAll' | 'apply' | 'delete'>;

export class TrafficShifter {
  constructor(
    private readonly api: RouteApi,
    private readonly mayWrite: () => boolean,
  ) {}

  private async routes(source: ReplicaSource): Promise<HTTPRoute[]> {
    const { items } = await this.api.listAll<HTTPRoute>(HTTP_ROUTES, source.namespace, { labelSelector: policySelector(source) });
    return items.filter((r) => madeBy(r, source));
  }

  private check(): void {
    if (!this.mayWrite()) throw new Error('not the leader: no route written');
  }

  /** The routes for `services` with `split`; our routes for other services go. */
  async shift(
    source: ReplicaSource,
    owner: { apiVersion: string; kind: string; name: string; uid: string },
    services: readonly Service[],
    split: SplitWeights,
  ): Promise<void> {
    const wanted = services.flatMap((s) => httpRoutes(s, split, source, owner));
    for (const route of wanted) {
      this.check();
      await this.api.apply(HTTP_ROUTES, route, ours.fieldManager);
    }
    const names = new Set(wanted.map((r) => r.metadata.name));
    for (const stale of (await this.routes(source)).filter((r) => !names.has(r.metadata.name))) await this.remove(stale);
  }

  /** Every weight home, then the routes gone. Returns how many there were. */
  async restore(source: ReplicaSource): Promise<number> {
    const routes = await this.routes(source);
    for (const r of routes) await this.remove(r);
    return routes.length;
  }

  private async remove(route: HTTPRoute): Promise<void> {
    this.check();
    const backends = route.spec.rules.flatMap((rule) => rule.backendRefs);
    const [local, ...mirrors] = backends;
    const peers = mirrors.map((b) => b.name);
    const home = homeWeights(peers);
    await this.api.apply(
      HTTP_ROUTES,
      {
        apiVersion: route.apiVersion,
        kind: route.kind,
        metadata: { name: route.metadata.name, namespace: route.metadata.namespace, labels: route.metadata.labels },
        spec: {
          parentRefs: route.spec.parentRefs,
          rules: [{ backendRefs: [{ ...local!, weight: home.local }, ...mirrors.map((b) => ({ ...b, weight: home.peers[b.name]! }))] }],
        },
      },
      ours.fieldManager,
    );
    this.check();
    try {
      await this.api.delete(HTTP_ROUTES, route.metadata.namespace ?? '', route.metadata.name ?? '', { uid: route.metadata.uid });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }
}
