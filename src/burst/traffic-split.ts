// The SMI alternative to the HTTPRoute, for meshes that read SMI rather than Gateway API: one
// `split.smi-spec.io/v1alpha2` TrafficSplit per Service, what Linkerd's SMI extension turns into
// its own routes. Its apex (`spec.service`) is the local Service and the same Service is also a
// backend, next to its mirrors `<svc>-<peer>`: clients keep addressing the apex, and the part of
// the traffic weighted to the apex stays here. The v1alpha2 text advises against an apex that is
// its own backend because an apex usually selects every version; this one selects only the local
// pods and each mirror is a Service of its own, so the weights say exactly where traffic goes (the
// shape Linkerd's multicluster traffic-shifting examples and linkerd-failover use).
import type { KubeObject, Service } from '../domain/k8s-types.js';
import type { ReplicaSource } from './replica.js';
import { appliedIdentity, backendsAtHome, mirrorName, splitMetadata, type PolicyOwner, type SplitWeights } from './route.js';

export interface TrafficSplit extends KubeObject {
  spec: {
    service: string;
    // v1alpha2 weights are integers and relative, like Gateway API's (v1alpha1 had quantities).
    backends: { service: string; weight: number }[];
  };
}

/** Ports play no part in an SMI split: one per Service, hence no port in the name. */
export const trafficSplitName = (service: string): string => `${service}-burst`;

export function trafficSplit(service: Service, split: SplitWeights, source: ReplicaSource, owner: PolicyOwner): TrafficSplit {
  const name = service.metadata.name ?? '';
  return {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: splitMetadata(trafficSplitName(name), service.metadata.namespace, source, owner),
    spec: {
      service: name,
      backends: [
        { service: name, weight: split.local },
        ...Object.entries(split.peers).map(([peer, weight]) => ({ service: mirrorName(name, peer), weight })),
      ],
    },
  };
}

/** The same split with every weight home (the apex 1, the mirrors 0): what it says before it is removed. */
export const trafficSplitAtHome = (ts: TrafficSplit): TrafficSplit => ({
  ...appliedIdentity(ts),
  spec: { service: ts.spec.service, backends: backendsAtHome(ts.spec.backends) },
});
