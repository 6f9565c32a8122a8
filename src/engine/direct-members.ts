import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import type { MemberView } from '../domain/desired.js';
import { discovery, ours } from '../domain/labels.js';
import { classifyDirect, keyString, type GlobalKey } from '../domain/members.js';
import { projectService, projectSlice } from '../domain/projection.js';
import type { ResourceEvent } from '../cluster/watch-stream.js';
import { objectKey } from '../shared.js';
import { ObjectStore, type Change } from './object-store.js';
import { compactServices, compactSlices } from '../domain/compact.js';

/**
 * How a linked cluster read straight from answers (remote-discovery.ts): `live` while its watches
 * do; `stale` once they fail (its members keep their last endpoints); `expired` after
 * --remote-stale-after (published not ready); `gone` after twice that (its members leave).
 */
export type RemoteState = 'live' | 'stale' | 'expired' | 'gone';

/** One linked cluster's remote-discovery Services and EndpointSlices, as read from it. */
class RemoteCache {
  readonly services = new ObjectStore<Service>(projectService, compactServices);
  readonly slices = new ObjectStore<EndpointSlice>(projectSlice, compactSlices);
  /** namespace/service-name → its slices (namespace/name), the remote's own globals excluded. */
  readonly slicesByService = new Map<string, Set<string>>();
  state: RemoteState = 'live';

  keys(): Set<string> {
    return new Set([...this.services.values()].map(objectKey));
  }
}

/**
 * The direct members of every global: Services of linked clusters read straight from them
 * (Linkerd's remote discovery, flat networks), with their EndpointSlices. Like the member index,
 * every change returns the global keys it may affect.
 */
export class DirectMembers {
  private readonly clusters = new Map<string, RemoteCache>();

  /** Starts holding what `cluster` says; a cluster already open keeps its cache. */
  open(cluster: string): void {
    if (!this.clusters.has(cluster)) this.clusters.set(cluster, new RemoteCache());
  }

  /** Forgets a cluster (its Link is gone): the keys of its members. */
  close(cluster: string): Set<string> {
    const cache = this.clusters.get(cluster);
    this.clusters.delete(cluster);
    return cache?.keys() ?? new Set();
  }

  /** Objects held from every linked cluster: part of how much work there is (src/observability/compilers.ts). */
  get cachedObjects(): number {
    let n = 0;
    for (const cache of this.clusters.values()) n += cache.services.size + cache.slices.size;
    return n;
  }

  clusterNames(): string[] {
    return [...this.clusters.keys()].sort();
  }

  state(cluster: string): RemoteState | undefined {
    return this.clusters.get(cluster)?.state;
  }

  /** Sets how the cluster answers: the keys of its members when that changes what they publish. */
  setState(cluster: string, state: RemoteState): Set<string> {
    const cache = this.clusters.get(cluster);
    if (!cache || cache.state === state) return new Set();
    cache.state = state;
    return cache.keys();
  }

  readonly transforms = { services: projectService, slices: projectSlice };

  apply(cluster: string, resource: 'services', event: ResourceEvent<Service>): Set<string>;
  apply(cluster: string, resource: 'slices', event: ResourceEvent<EndpointSlice>): Set<string>;
  apply(cluster: string, resource: 'services' | 'slices', event: ResourceEvent<Service> | ResourceEvent<EndpointSlice>): Set<string> {
    const cache = this.clusters.get(cluster);
    if (!cache) return new Set();
    const keys = new Set<string>();
    if (resource === 'services') {
      for (const { before, after } of cache.services.apply(event as ResourceEvent<Service>)) keys.add(objectKey((after ?? before)!));
      return keys;
    }
    for (const change of cache.slices.apply(event as ResourceEvent<EndpointSlice>)) this.indexSlice(cache, change, keys);
    return keys;
  }

  private indexSlice(cache: RemoteCache, { before, after }: Change<EndpointSlice>, keys: Set<string>): void {
    for (const [slice, add] of [
      [before, false],
      [after, true],
    ] as const) {
      if (!slice) continue;
      const labels = slice.metadata.labels ?? {};
      const service = labels[discovery.serviceName];
      if (service === undefined || labels[discovery.managedBy] === ours.sliceManager) continue;
      const serviceId = `${slice.metadata.namespace ?? ''}/${service}`;
      const ids = cache.slicesByService.get(serviceId) ?? new Set<string>();
      if (add) ids.add(objectKey(slice));
      else ids.delete(objectKey(slice));
      if (ids.size > 0) cache.slicesByService.set(serviceId, ids);
      else cache.slicesByService.delete(serviceId);
      if (cache.services.has(slice.metadata.namespace ?? '', service)) keys.add(serviceId);
    }
  }

  /** Whether a linked cluster has a Service for this key (namespace/name). */
  has(key: string): boolean {
    const slash = key.indexOf('/');
    for (const cache of this.clusters.values()) if (cache.services.has(key.slice(0, slash), key.slice(slash + 1))) return true;
    return false;
  }

  /** Every key a linked cluster has a Service for. */
  keys(): Set<string> {
    const out = new Set<string>();
    for (const cache of this.clusters.values()) for (const key of cache.keys()) out.add(key);
    return out;
  }

  /** The direct members of a key, one per cluster that has its Service (none from a cluster gone). */
  membersOf(key: GlobalKey): MemberView[] {
    const out: MemberView[] = [];
    for (const [cluster, cache] of this.clusters) {
      if (cache.state === 'gone') continue;
      const service = cache.services.get(key.namespace, key.name);
      if (!service) continue;
      const c = classifyDirect(service, cluster);
      if (c.kind !== 'member') continue;
      const slices: EndpointSlice[] = [];
      for (const id of cache.slicesByService.get(keyString(key)) ?? []) {
        const slash = id.indexOf('/');
        const slice = cache.slices.get(id.slice(0, slash), id.slice(slash + 1));
        if (slice && !slice.metadata.deletionTimestamp) slices.push(slice);
      }
      out.push({
        member: c.member,
        service,
        slices,
        ...(cache.state === 'stale' || cache.state === 'expired' ? { remote: { state: cache.state } } : {}),
      });
    }
    return out;
  }
}
