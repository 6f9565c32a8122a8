import PQueue from 'p-queue';
import { ENDPOINT_SLICES, SERVICES } from '../src/cluster/kube-api.js';
import type { Endpoint, EndpointSlice, Service } from '../src/domain/k8s-types.js';
import type { Admin } from '../e2e/testbed/kube.js';
import { CLUSTER, REMOTE_CLUSTERS } from './bed.js';

// The synthetic members of G globals: for every global `svc<g>`, a local Service in this cluster
// and one mirror per remote cluster with Linkerd's exact labels and annotations, each with one
// EndpointSlice shaped as kube-controller-manager's mirroring derives it from Linkerd's Endpoints.
// The slices carry their own managed-by so that kube-controller-manager leaves them alone (its
// mirroring controller deletes slices claiming its name without an Endpoints behind them), and
// writing them directly keeps the member side from being limited by the mirroring controller's QPS.

/** endpointslice.kubernetes.io/managed-by of the member slices the benchmark writes. */
export const BENCH_MANAGER = 'bench.globalsvc.dev';
export const SOURCE_CLUSTERS = [CLUSTER, ...REMOTE_CLUSTERS] as const;
export type SourceCluster = (typeof SOURCE_CLUSTERS)[number];
/** Writes in flight while the benchmark lays out its members (not measured). */
const SETUP_CONCURRENCY = 16;

export const globalName = (g: number) => `svc${g}`;

/** The Service in this cluster that holds a cluster's member of global g. */
export function memberServiceName(g: number, cluster: SourceCluster): string {
  return cluster === CLUSTER ? globalName(g) : `${globalName(g)}-${cluster}`;
}

/** A distinct address per cluster, global and endpoint (up to 62,500 × 20 per cluster). */
export function address(cluster: SourceCluster, n: number): string {
  const c = SOURCE_CLUSTERS.indexOf(cluster) + 1;
  return `10.${c * 20 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

export function endpoint(cluster: SourceCluster, n: number, hostname: string, ready = true): Endpoint {
  return { addresses: [address(cluster, n)], hostname, conditions: { ready, serving: ready, terminating: false } };
}

export function memberService(namespace: string, g: number, cluster: SourceCluster): Service {
  const name = memberServiceName(g, cluster);
  const mirror = cluster !== CLUSTER;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      ...(mirror
        ? {
            labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': cluster },
            annotations: {
              'mirror.linkerd.io/remote-svc-fq-name': `${globalName(g)}.${namespace}.svc.cluster.local`,
              'mirror.linkerd.io/remote-resource-version': '1',
            },
          }
        : {}),
    },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }] },
  };
}

export function memberSlice(namespace: string, g: number, cluster: SourceCluster, endpoints: Endpoint[]): EndpointSlice {
  const service = memberServiceName(g, cluster);
  const mirror = cluster !== CLUSTER;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-bench`,
      namespace,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': BENCH_MANAGER,
        ...(mirror ? { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': cluster } : {}),
      },
      ...(mirror
        ? {
            annotations: {
              'mirror.linkerd.io/remote-svc-fq-name': `${globalName(g)}.${namespace}.svc.cluster.local`,
              'mirror.linkerd.io/remote-gateway-identity':
                'linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local',
            },
          }
        : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints,
  };
}

/** The initial endpoints of a member: E ready pods pod-0..pod-(E-1). */
export function initialEndpoints(g: number, cluster: SourceCluster, perMember: number): Endpoint[] {
  return Array.from({ length: perMember }, (_, i) => endpoint(cluster, g * perMember + i, `pod-${i}`));
}

/** Writes the members of globals [0, globals) in `namespace`; returns how many objects it wrote. */
export async function createMembers(admin: Admin, namespace: string, globals: number, perMember: number): Promise<number> {
  await admin.ensureNamespace(namespace);
  const pool = new PQueue({ concurrency: SETUP_CONCURRENCY });
  let written = 0;
  for (let g = 0; g < globals; g++) {
    for (const cluster of SOURCE_CLUSTERS) {
      void pool.add(async () => {
        await admin.create(memberService(namespace, g, cluster), SERVICES);
        await admin.create(memberSlice(namespace, g, cluster, initialEndpoints(g, cluster, perMember)), ENDPOINT_SLICES);
        written += 2;
      });
    }
  }
  await pool.onIdle();
  return written;
}
