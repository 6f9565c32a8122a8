import type { Endpoint, EndpointPort, EndpointSlice, Service } from './k8s-types.js';
import { isReady, unreachableEndpoint } from './endpoints.js';
import { linkerd } from './labels.js';
import { compareStrings } from '../shared.js';

// How a remote headless service's pods are read from what Linkerd's mirror writes
// (linkerd-mirror-real.md, cluster_watcher_headless.go). Per pod, an endpoint mirror: a ClusterIP
// Service `<hostname>-<link>` annotated `<hostname>.<svc>.<ns>.svc.<domain>`, whose Endpoints hold
// the gateway, ready while the gateway answers its probe. The headless mirror's own Endpoints list
// each pod as {hostname, that ClusterIP}, but Linkerd's repair leaves them ready when the gateway
// dies, and a remote Service update rewrites them with the gateway's address and no hostnames
// until the next remote Endpoints event. The endpoint mirrors are the truth; the headless
// mirror's slices only say which ports the pods listen on.

/** One pod's endpoint mirror and its slices. */
export interface EndpointMirror {
  service: Service;
  slices: readonly EndpointSlice[];
}

/** The pod's hostname: the first label of the endpoint mirror's remote name (`<hostname>.<svc>.<ns>.svc.<domain>`). */
function hostnameOf(endpointMirror: Service): string | undefined {
  const fq = endpointMirror.metadata.annotations?.[linkerd.remoteServiceFqName];
  const hostname = fq?.split('.')[0];
  return hostname ? hostname : undefined;
}

/**
 * The ports the pods listen on: the headless mirror's slice ports while they list pods (Linkerd
 * copies the remote Endpoints' ports), else the mirror Service's target ports (what a remote
 * Endpoints would list), numbers only.
 */
function podPorts(root: Service, rootSlices: readonly EndpointSlice[]): EndpointPort[] {
  const listing = rootSlices.find((s) => (s.endpoints ?? []).some((e) => e.hostname));
  if (listing) return [...(listing.ports ?? [])];
  return (root.spec?.ports ?? []).map((p) => ({
    name: p.name ?? '',
    protocol: p.protocol ?? 'TCP',
    port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
  }));
}

/**
 * A headless mirror's pods as one slice per address family, read from its endpoint mirrors: the
 * pod's hostname, the endpoint mirror's ClusterIP, and ready and serving only while Linkerd shows
 * the endpoint mirror ready (its gateway answers). An endpoint mirror whose slices list no
 * endpoint is not listed: kube-proxy reads slices, so its ClusterIP routes nowhere until
 * kube-controller-manager mirrors its Endpoints (late after a restart; soak seed 1509848758 saw
 * one published for over a minute from the headless mirror's Endpoints, which still listed it). Only while Linkerd has made no
 * endpoint mirror at all are the headless mirror's slices read, less what has no hostname
 * (Linkerd lists a pod there only with its hostname: an address without one is the gateway its
 * Service update or first export wrote, e2e 18 saw it).
 */
export function podsOfHeadlessMirror(
  root: Service,
  rootSlices: readonly EndpointSlice[],
  endpointMirrors: readonly EndpointMirror[],
): EndpointSlice[] {
  const byFamily = new Map<'IPv4' | 'IPv6', Endpoint[]>();
  for (const { service, slices } of endpointMirrors) {
    const address = service.spec?.clusterIP;
    const hostname = hostnameOf(service);
    if (!address || address === 'None' || !hostname) continue;
    const gateway = slices.flatMap((s) => s.endpoints ?? []);
    if (gateway.length === 0) continue; // just made: the headless mirror does not list it yet either
    const pod: Endpoint = { addresses: [address], hostname, conditions: { ready: true } };
    const family = address.includes(':') ? 'IPv6' : 'IPv4';
    const list = byFamily.get(family) ?? [];
    list.push(gateway.some(isReady) ? pod : unreachableEndpoint(pod));
    byFamily.set(family, list);
  }
  if (endpointMirrors.length === 0) return rootSlices.map((s) => ({ ...s, endpoints: (s.endpoints ?? []).filter((e) => e.hostname) }));
  if (byFamily.size === 0) return [];
  const ports = podPorts(root, rootSlices);
  return [...byFamily].map(([addressType, endpoints]) => ({
    metadata: { name: `${root.metadata.name}-${addressType.toLowerCase()}-endpoint-mirrors`, namespace: root.metadata.namespace },
    addressType,
    ports,
    endpoints: endpoints.sort((a, b) => compareStrings(a.hostname ?? '', b.hostname ?? '')),
  }));
}
