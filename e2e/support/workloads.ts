import type { EndpointSlice, KubeObject, Service } from '../../src/domain/k8s-types.js';
import { ENDPOINT_SLICES, SERVICES } from '../../src/cluster/kube-api.js';
import type { Cluster } from '../testbed/cluster.js';
import { DEPLOYMENTS, PODS, STATEFUL_SETS } from '../testbed/kube.js';
import type { TestBed } from '../testbed/testbed.js';

export interface Pod extends KubeObject {
  spec: { hostname?: string; nodeName?: string };
  status?: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

/**
 * Runs as is on kwok's fake nodes and on kind-style ones (preloaded there, hack/kind/build-images.sh:
 * Kubernetes' own pause, built here): ready at once, no probe, no configuration.
 */
export const WORKLOAD_IMAGE = 'globalsvc.local/pause:3.10.1';

const EXPORTED = { 'mirror.linkerd.io/exported': 'true' };

export interface StatefulSetOptions {
  /** Linkerd's export label: true (default), false, or remote-discovery. */
  exported?: boolean | 'remote-discovery';
  port?: number;
  /** The Service port's name: "pg" unless given; "" leaves the one port unnamed. */
  portName?: string;
  /** The headless Service's name, when it differs from the StatefulSet's. */
  serviceName?: string;
  serviceLabels?: Record<string, string>;
  serviceAnnotations?: Record<string, string>;
  /** The headless Service answers for pods before they are ready (databases that bootstrap through DNS). */
  publishNotReadyAddresses?: boolean;
  /** What the pods run instead of WORKLOAD_IMAGE (real nodes only: kwok runs nothing). */
  container?: { image: string; command: string[] };
}

/**
 * The namespace in every cluster, as a team has it where its service runs and where it is used:
 * Linkerd's mirror (run without -enable-namespace-creation, the chart's default) skips an export
 * into a cluster that lacks its namespace.
 */
export async function namespaceEverywhere(bed: TestBed, namespace: string): Promise<void> {
  for (const cluster of bed.clusters.values()) await cluster.admin.ensureNamespace(namespace);
}

/** A StatefulSet with its headless Service, exported to the other clusters (Linkerd's label). */
export async function deployStatefulSet(
  cluster: Cluster,
  namespace: string,
  name: string,
  replicas: number,
  opts: StatefulSetOptions = {},
): Promise<void> {
  const serviceName = opts.serviceName ?? name;
  const port = opts.port ?? 5432;
  const exported: Record<string, string> =
    opts.exported === false ? {} : { 'mirror.linkerd.io/exported': opts.exported === 'remote-discovery' ? 'remote-discovery' : 'true' };
  await cluster.admin.ensureNamespace(namespace);
  await cluster.admin.apply<Service>(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: serviceName,
        namespace,
        labels: { app: name, ...exported, ...opts.serviceLabels },
        annotations: opts.serviceAnnotations,
      },
      spec: {
        clusterIP: 'None',
        selector: { app: name },
        ...(opts.publishNotReadyAddresses && { publishNotReadyAddresses: true }),
        ports: [{ ...(opts.portName === '' ? {} : { name: opts.portName ?? 'pg' }), protocol: 'TCP', port }],
      },
    },
    SERVICES,
  );
  await cluster.admin.apply(
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace },
      spec: {
        serviceName,
        replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'db',
                image: opts.container?.image ?? WORKLOAD_IMAGE,
                ...(opts.container ? { command: opts.container.command } : {}),
                ports: [{ name: 'pg', containerPort: port }],
              },
            ],
          },
        },
      },
    } as KubeObject,
    STATEFUL_SETS,
  );
}

/** A Service a team owns under the name a global would take: not ours, so globalsvc must leave it alone. */
export async function squatterService(cluster: Cluster, namespace: string, name: string): Promise<Service> {
  await cluster.admin.ensureNamespace(namespace);
  return cluster.admin.apply<Service>(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels: { team: 'payments' } },
      spec: { selector: { app: 'legacy-cache' }, ports: [{ name: 'redis', port: 6379 }] },
    },
    SERVICES,
  );
}

export async function scaleStatefulSet(cluster: Cluster, namespace: string, name: string, replicas: number): Promise<void> {
  await cluster.admin.patchMerge(STATEFUL_SETS, namespace, name, { spec: { replicas } });
}

/**
 * A Deployment behind an exported ClusterIP Service: Linkerd mirrors it in gateway mode, or with
 * `exported: 'remote-discovery'` as a remote-discovery Service without endpoints.
 */
export async function deployWeb(
  cluster: Cluster,
  namespace: string,
  name: string,
  replicas: number,
  opts: { exported?: 'true' | 'remote-discovery' | false; labels?: Record<string, string> } = {},
): Promise<void> {
  await cluster.admin.ensureNamespace(namespace);
  await cluster.admin.apply<Service>(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace,
        labels: {
          app: name,
          ...(opts.exported !== false && EXPORTED),
          ...(opts.exported && { [Object.keys(EXPORTED)[0]!]: opts.exported }),
          ...opts.labels,
        },
      },
      spec: { selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] },
    },
    SERVICES,
  );
  await cluster.admin.apply(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'web', image: WORKLOAD_IMAGE, ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    } as KubeObject,
    DEPLOYMENTS,
  );
}

export async function readyPods(cluster: Cluster, namespace: string, app: string): Promise<Pod[]> {
  const pods = await cluster.admin.list<Pod>(PODS, namespace, `app=${app}`);
  return pods.filter(
    (p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata.deletionTimestamp,
  );
}

export async function getService(cluster: Cluster, namespace: string, name: string): Promise<Service | undefined> {
  return cluster.admin.get<Service>(SERVICES, namespace, name);
}

export async function slicesOf(cluster: Cluster, namespace: string, service: string): Promise<EndpointSlice[]> {
  return cluster.admin.list<EndpointSlice>(ENDPOINT_SLICES, namespace, `kubernetes.io/service-name=${service}`);
}

/**
 * What a viewer cluster should see for a StatefulSet exported from several clusters, worked out
 * without globalsvc: its own pods' IPs, and for every other cluster's pod `<pod>` the ClusterIP of
 * the endpoint mirror `<pod>-<cluster>` Linkerd created in the viewer.
 */
export async function expectedAddresses(bed: TestBed, viewer: string, namespace: string, app: string): Promise<Map<string, string>> {
  const byHostname = new Map<string, string>();
  for (const cluster of bed.clusters.values()) {
    for (const pod of await readyPods(cluster, namespace, app)) {
      const hostname = `${pod.metadata.name}-${cluster.name}`;
      if (cluster.name === viewer) byHostname.set(hostname, pod.status!.podIP!);
      else {
        const mirror = await getService(bed.cluster(viewer), namespace, hostname);
        if (mirror?.spec?.clusterIP) byHostname.set(hostname, mirror.spec.clusterIP);
      }
    }
  }
  return byHostname;
}

export const fqdn = (name: string, namespace: string) => `${name}.${namespace}.svc.cluster.local`;

export const sorted = (values: Iterable<string>) => [...values].sort();

/** A Service marked as Linkerd's mirror of `cluster` but without its remote name: globalsvc's MissingRemoteName, told on the watch path. */
export async function namelessMirror(cluster: Cluster, namespace: string, name: string, of: string): Promise<void> {
  await cluster.admin.apply<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': of } },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  });
}
