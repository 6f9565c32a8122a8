// Traffic shifting as data: the weights of a burst and the Gateway API HTTPRoutes that carry them.
// Linkerd splits a Service's traffic with an HTTPRoute whose parent is that Service (GAMMA): its
// backendRefs are the local Service and its mirrors `<svc>-<peer>`, each with a weight.
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { burst, ours } from '../domain/labels.js';
import type { Weights } from './policy.js';
import { identityValue, type ReplicaSource } from './replica.js';

export interface SplitWeights {
  readonly local: number;
  readonly peers: Readonly<Record<string, number>>;
}

/**
 * Fixed: the policy's percentages, the peers' share split evenly (the remainder to the first
 * peers, so the total stays 100). ReadyReplicas: each cluster's ready replicas, which Gateway API
 * weights take as they are (they are relative, not percentages); with none ready anywhere, all stays
 * home.
 */
export function splitWeights(weights: Weights, localReady: number, peerReady: Readonly<Record<string, number>>): SplitWeights {
  const peers = Object.keys(peerReady);
  if (weights.mode === 'Fixed') {
    const each = Math.floor(weights.peers / Math.max(1, peers.length));
    const extra = weights.peers - each * peers.length;
    return { local: weights.local, peers: Object.fromEntries(peers.map((p, i) => [p, each + (i < extra ? 1 : 0)])) };
  }
  const total = localReady + peers.reduce((sum, p) => sum + peerReady[p]!, 0);
  if (total === 0) return { local: 1, peers: Object.fromEntries(peers.map((p) => [p, 0])) };
  return { local: localReady, peers: { ...peerReady } };
}

/** All home, the local Service (always the first backend) 1 and the mirrors 0: what a split says before it is removed. */
export const backendsAtHome = <B extends { weight: number }>(backends: readonly B[]): B[] =>
  backends.map((b, i) => ({ ...b, weight: i === 0 ? 1 : 0 }));

/** What server-side apply of an object we made states about it besides its spec, and nothing the API server filled in. */
export const appliedIdentity = (object: KubeObject) => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  metadata: { name: object.metadata.name, namespace: object.metadata.namespace, labels: object.metadata.labels },
});

export interface HTTPRoute extends KubeObject {
  spec: {
    parentRefs: { group: ''; kind: 'Service'; name: string; port: number }[];
    rules: { backendRefs: { group: ''; kind: 'Service'; name: string; port: number; weight: number }[] }[];
  };
}

/** The name of the mirror the service mirror makes here of a peer's exported Service. */
export const mirrorName = (service: string, peer: string): string => `${service}-${peer}`;

export const routeName = (service: string, port: number): string => `${service}-burst-${port}`;

export interface PolicyOwner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** What every object carrying a burst's split has: labelled like the replicas, owned by the policy (deleting it takes them along). */
export const splitMetadata = (name: string, namespace: string | undefined, source: ReplicaSource, owner: PolicyOwner) => ({
  name,
  namespace,
  labels: {
    [burst.policy]: identityValue(source.cluster, source.namespace, source.policy),
    [ours.appManagedByLabel]: ours.appManagedBy,
  },
  ownerReferences: [{ ...owner, controller: true }],
});

/**
 * One HTTPRoute per port of `service` (a backendRef to a Service needs its port).
 */
export function httpRoutes(service: Service, split: SplitWeights, source: ReplicaSource, owner: PolicyOwner): HTTPRoute[] {
  const name = service.metadata.name ?? '';
  return (service.spec?.ports ?? []).map((port) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: splitMetadata(routeName(name, port.port), service.metadata.namespace, source, owner),
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name, port: port.port }],
      rules: [
        {
          backendRefs: [
            { group: '', kind: 'Service', name, port: port.port, weight: split.local },
            ...Object.entries(split.peers).map(([peer, weight]) => ({
              group: '' as const,
              kind: 'Service' as const,
              name: mirrorName(name, peer),
              port: port.port,
              weight,
            })),
          ],
        },
      ],
    },
  }));
}

/** The same route with every weight home: what it says before it is removed. */
export const httpRouteAtHome = (route: HTTPRoute): HTTPRoute => ({
  ...appliedIdentity(route),
  spec: { parentRefs: route.spec.parentRefs, rules: [{ backendRefs: backendsAtHome(route.spec.rules.flatMap((r) => r.backendRefs)) }] },
});
