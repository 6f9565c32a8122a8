import type { Endpoint, EndpointPort, ServicePort } from './k8s-types.js';
import { compareStrings } from '../shared.js';

// Canonical forms, so that "is this slice already what we want?" is a plain comparison and
// defaulting by the API server (protocol TCP, unset conditions) never reads as a change.

/**
 * An endpoint's identity within one source cluster and address type: its addresses and hostname.
 * Two pods of one cluster may hold one address at once, each with its own name (soak seed
 * 183916993: kwok-controller, restarted with west's control plane, gave db2-0 the address db2-1
 * still had; a reused IP while the old pod terminates does the same): each keeps its per-pod name.
 * The same pod listed twice (a member's slices being rebalanced) is still one endpoint.
 */
export function endpointKey(endpoint: Endpoint): string {
  const addresses = endpoint.addresses.join(',');
  return endpoint.hostname === undefined ? addresses : `${addresses}/${endpoint.hostname}`;
}

/** discovery.k8s.io: an unset `ready` is to be read as ready. */
export function isReady(endpoint: Endpoint): boolean {
  return endpoint.conditions?.ready ?? true;
}

/**
 * The endpoint as the global publishes it. Conditions are written out explicitly with the
 * discovery.k8s.io defaults (ready unset = ready, serving unset = ready, terminating unset = false),
 * so consumers of the global see exactly what consumers of the member saw.
 */
export function publishedEndpoint(endpoint: Endpoint, hostname: string | undefined): Endpoint {
  const ready = isReady(endpoint);
  const published: Endpoint = {
    addresses: [...endpoint.addresses],
    conditions: {
      ready,
      serving: endpoint.conditions?.serving ?? ready,
      terminating: endpoint.conditions?.terminating ?? false,
    },
  };
  if (hostname !== undefined) published.hostname = hostname;
  if (endpoint.zone) published.zone = endpoint.zone;
  if (endpoint.nodeName) published.nodeName = endpoint.nodeName;
  if (endpoint.targetRef?.name) {
    const { kind, namespace, name, uid } = endpoint.targetRef;
    published.targetRef = { kind, namespace, name, uid };
  }
  return published;
}

/** An endpoint whose cluster Linkerd cannot reach (its gateway fails the probe): neither ready nor serving. */
export function unreachableEndpoint(endpoint: Endpoint): Endpoint {
  return { ...endpoint, conditions: { ...endpoint.conditions, ready: false, serving: false } };
}

/** A string that is equal for two endpoints exactly when the global would publish them alike. */
export function endpointFingerprint(endpoint: Endpoint): string {
  const c = endpoint.conditions ?? {};
  const ready = c.ready ?? true;
  const ref = endpoint.targetRef;
  return JSON.stringify([
    endpoint.addresses,
    ready,
    c.serving ?? ready,
    c.terminating ?? false,
    endpoint.hostname ?? null,
    endpoint.zone ?? null,
    endpoint.nodeName ?? null,
    ref?.name ? [ref.kind ?? null, ref.namespace ?? null, ref.name, ref.uid ?? null] : null,
  ]);
}

/** Which of two copies of one endpoint wins: ready over not ready, then serving, then the smaller. */
export function preferEndpoint(a: Endpoint, b: Endpoint): Endpoint {
  const rank = (e: Endpoint) => (isReady(e) ? 2 : 0) + ((e.conditions?.serving ?? true) ? 1 : 0);
  const byRank = rank(b) - rank(a);
  if (byRank !== 0) return byRank > 0 ? b : a;
  return endpointFingerprint(a) <= endpointFingerprint(b) ? a : b;
}

export function canonicalSlicePorts(ports: readonly EndpointPort[] | null | undefined): EndpointPort[] {
  return (ports ?? [])
    .map((p) => {
      const out: EndpointPort = { name: p.name ?? '', protocol: p.protocol ?? 'TCP' };
      if (p.port !== undefined) out.port = p.port;
      if (p.appProtocol) out.appProtocol = p.appProtocol;
      return out;
    })
    .sort(
      (a, b) =>
        compareStrings(a.name ?? '', b.name ?? '') || (a.port ?? 0) - (b.port ?? 0) || compareStrings(a.protocol ?? '', b.protocol ?? ''),
    );
}

export function slicePortsKey(ports: readonly EndpointPort[] | null | undefined): string {
  return JSON.stringify(canonicalSlicePorts(ports));
}

export function canonicalServicePorts(ports: readonly ServicePort[] | undefined): ServicePort[] {
  return (ports ?? [])
    .map((p) => {
      const out: ServicePort = { name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port, targetPort: p.targetPort ?? p.port };
      if (p.appProtocol) out.appProtocol = p.appProtocol;
      return out;
    })
    .sort((a, b) => compareStrings(a.name ?? '', b.name ?? '') || a.port - b.port);
}
