import type { DesiredGlobal, EndpointGroup, MemberView, Problem } from './desired.js';
import { globalServiceLabels } from './desired.js';
import { endpointKey } from './endpoints.js';
import type { Endpoint, EndpointSlice, OwnerReference, Service, ServiceImport, ServiceImportPort } from './k8s-types.js';
import { discovery, mcs, ours } from './labels.js';
import type { GlobalKey } from './members.js';
import { isOurs, keyString } from './members.js';
import { globalServiceName, shortHash } from './naming.js';
import type { ExportClaim, ExportProperties } from './service-export.js';

/**
 * KEP-1645's face of a global (--mcs-api): the ServiceImport `<name>` in the global's namespace
 * and its EndpointSlices, which CoreDNS's `multicluster clusterset.local` serves as
 * `<name>.<ns>.svc.clusterset.local` and `<hostname>.<cluster>.<name>.<ns>.svc.clusterset.local`.
 */

/** Ports compared by what they say, not by the order the API server writes their fields in. */
const portsText = (ports: readonly ServiceImportPort[] | undefined) =>
  (ports ?? []).map((p) => `${p.name ?? ''}|${p.protocol ?? 'TCP'}|${p.appProtocol ?? ''}|${p.port}`).join(',');

/** What the cache holds for a key's ServiceImport: the objects at its names, whoever owns them, and our slices of it. */
export interface ImportWorld {
  atImportName: ServiceImport | undefined;
  /** The Service at the import's derived name (a ClusterSetIP import's virtual IP), whoever owns it. */
  atDerivedName?: Service | undefined;
  ownedSlices: readonly EndpointSlice[];
  /** The exports of the name made by ServiceExports (service-export.ts): when any, they decide the import's type and ports. */
  exports?: readonly ExportClaim[];
}

export type ImportType = 'ClusterSetIP' | 'Headless';

/**
 * KEP-1645's type of the service the members make: ClusterSetIP when every member is a ClusterIP
 * Service (exported ClusterIP Services, Linkerd's gateway-mode mirrors), Headless when any is
 * headless — the KEP's type conflict, resolved the way the global already is.
 */
export function importType(members: readonly MemberView[]): ImportType {
  return members.length > 0 && members.every((m) => m.service.spec?.clusterIP !== 'None') ? 'ClusterSetIP' : 'Headless';
}

/**
 * The Service that holds a ClusterSetIP import's virtual IP, `<name>-clusterset`: a ClusterIP
 * Service without selector, owned by the import, whose EndpointSlices are the import's, so that
 * kube-proxy sends the IP's traffic to every cluster's endpoints (mcs-api's reference controller
 * allocates it the same way).
 */
export function derivedServiceName(key: GlobalKey): string {
  return globalServiceName(key.name, '-clusterset');
}

export function desiredDerivedService(desired: DesiredGlobal, imp: ServiceImport, ports = importPorts(desired)): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: derivedServiceName(desired.key),
      namespace: desired.key.namespace,
      labels: { [ours.derivedFor]: desired.key.name },
      ownerReferences: [importOwner(imp)],
    },
    spec: {
      type: 'ClusterIP',
      ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP', port: p.port })),
    },
  };
}

/** Whether a Service is the derived Service of our import `imp`. */
export function isOurDerived(service: Service | undefined, key: GlobalKey, imp: ServiceImport): service is Service {
  const owner = service?.metadata.ownerReferences?.find((r) => r.controller);
  return service?.metadata.labels?.[ours.derivedFor] === key.name && owner?.uid === imp.metadata.uid;
}

/** Whether the derived Service has the ports `wanted` has (a port set changed is a new Service). */
export function derivedUpToDate(observed: Service, wanted: Service): boolean {
  return portsText(observed.spec?.ports) === portsText(wanted.spec?.ports);
}

/**
 * Labels of a ServiceImport's slices. Never `kubernetes.io/service-name: <name>`: that would make
 * them the local Service `<name>`'s, in its cluster.local answers and kube-proxy's rules.
 */
export function importSliceLabels(key: GlobalKey, cluster: string, direct = false, derived?: string): Record<string, string> {
  return {
    // A ClusterSetIP import's slices are its derived Service's too: kube-proxy routes its IP to them.
    ...(derived ? { [discovery.serviceName]: derived } : {}),
    [mcs.serviceName]: key.name,
    [mcs.sourceCluster]: cluster,
    [discovery.managedBy]: ours.sliceManager,
    [ours.globalOf]: key.name,
    [ours.appManagedByLabel]: ours.appManagedBy,
    ...(direct ? { [ours.memberOrigin]: 'direct' } : {}),
  };
}

/** Whether one of our slices is a ServiceImport's (else a global Service's). */
export function isImportSlice(slice: EndpointSlice): boolean {
  return slice.metadata.labels?.[mcs.serviceName] !== undefined;
}

/** The global's ports as a ServiceImport has them. */
export function importPorts(desired: DesiredGlobal): ServiceImportPort[] {
  return (desired.service.spec?.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    port: p.port,
  }));
}

/**
 * The ServiceImport a global calls for, labelled as our global Services are: its type, its ports
 * (the global's, or the exports' as KEP-1645 resolves them), a ClusterSetIP import's IPs;
 * status.clusters are the clusters with endpoints.
 */
export function desiredImport(
  desired: DesiredGlobal,
  type: ImportType,
  opts: { ips?: string[]; ports?: ServiceImportPort[]; properties?: ExportProperties } = {},
): ServiceImport {
  const { ips = [], ports = importPorts(desired), properties } = opts;
  const clusters = [...new Set(desired.groups.map((g) => g.cluster))].sort();
  const exported = { labels: properties?.labels ?? {}, annotations: properties?.annotations ?? {} };
  return {
    apiVersion: mcs.apiVersion,
    kind: 'ServiceImport',
    metadata: {
      name: desired.key.name,
      namespace: desired.key.namespace,
      // The exports' exportedLabels and exportedAnnotations (the oldest export's), ours over theirs.
      labels: { ...exported.labels, ...globalServiceLabels(desired.key) },
      annotations: { ...exported.annotations, [ours.importMetadata]: exportedMetadataHash(exported.labels, exported.annotations) },
    },
    spec: {
      type,
      ports,
      // KEP-1645: one IP per family, in the order of ipFamilies.
      ...(ips.length > 0 ? { ips, ipFamilies: ips.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')) } : {}),
      ...(properties
        ? {
            sessionAffinity: properties.sessionAffinity,
            ...(properties.sessionAffinityConfig ? { sessionAffinityConfig: properties.sessionAffinityConfig } : {}),
            internalTrafficPolicy: properties.internalTrafficPolicy,
            ...(properties.trafficDistribution ? { trafficDistribution: properties.trafficDistribution } : {}),
          }
        : {}),
    },
    status: { clusters: clusters.map((cluster) => ({ cluster })) },
  };
}

/** What an import records of the exported labels and annotations it was applied with (importUpToDate compares it). */
export function exportedMetadataHash(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): string {
  return shortHash(JSON.stringify([labels, annotations]), 8);
}

/** A group's endpoints with the hostnames their members gave them: the cluster is in the name already. */
export function importEndpoints(group: EndpointGroup): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  for (const [key, e] of group.endpoints) {
    const own = group.ownHostnames?.get(key);
    const endpoint: Endpoint = { ...e };
    if (own === undefined) delete endpoint.hostname;
    else endpoint.hostname = own;
    out.set(endpointKey(endpoint), endpoint);
  }
  return out;
}

export function importOwner(imp: ServiceImport): OwnerReference {
  return {
    apiVersion: mcs.apiVersion,
    kind: 'ServiceImport',
    name: imp.metadata.name ?? '',
    uid: imp.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether a ServiceImport is ours, for this key. */
export function isOurImport(imp: ServiceImport | undefined, key: GlobalKey): imp is ServiceImport {
  return imp !== undefined && isOurs(imp) && imp.metadata.labels?.[ours.globalOf] === key.name;
}

export function importNameTaken(key: GlobalKey, imp: ServiceImport): Problem {
  return {
    type: 'Warning',
    reason: 'ImportNameTaken',
    message: `ServiceImport ${key.namespace}/${key.name} exists and is not managed by globalsvc; global ${keyString(key)} has no clusterset.local name of globalsvc's. Remove that ServiceImport (or the MCS implementation that writes it) to let globalsvc write it`,
    // Told on the ServiceImport in the way, as GlobalNameTaken is on the Service in the way.
    subject: { kind: 'ServiceImport', namespace: key.namespace, name: key.name, uid: imp.metadata.uid },
  };
}

export function derivedNameTaken(key: GlobalKey, service: Service): Problem {
  const name = service.metadata.name ?? '';
  return {
    type: 'Warning',
    reason: 'DerivedNameTaken',
    message: `Service ${key.namespace}/${name} exists and is not the virtual IP of globalsvc's ServiceImport ${key.namespace}/${key.name}; ${key.name}.${key.namespace}.svc.clusterset.local has no address until that Service is renamed or removed`,
    subject: { kind: 'Service', namespace: key.namespace, name, uid: service.metadata.uid },
  };
}

/** Whether an observed ServiceImport of ours says what `wanted` says in its metadata and spec. */
export function importUpToDate(observed: ServiceImport, wanted: ServiceImport): boolean {
  const labels = wanted.metadata.labels ?? {};
  const text = (v: unknown) => JSON.stringify(v ?? null);
  return (
    Object.entries(labels).every(([k, v]) => observed.metadata.labels?.[k] === v) &&
    observed.metadata.annotations?.[ours.importMetadata] === wanted.metadata.annotations?.[ours.importMetadata] &&
    (['sessionAffinity', 'sessionAffinityConfig', 'internalTrafficPolicy', 'trafficDistribution'] as const).every(
      (f) => text(observed.spec?.[f]) === text(wanted.spec?.[f]),
    ) &&
    observed.spec?.type === wanted.spec?.type &&
    portsText(observed.spec?.ports) === portsText(wanted.spec?.ports) &&
    (observed.spec?.ips ?? []).join(',') === (wanted.spec?.ips ?? []).join(',') &&
    (observed.spec?.ipFamilies ?? []).join(',') === (wanted.spec?.ipFamilies ?? []).join(',')
  );
}

/** Whether its status names the clusters `wanted` names. */
export function importStatusUpToDate(observed: ServiceImport, wanted: ServiceImport): boolean {
  const clusters = (i: ServiceImport) => (i.status?.clusters ?? []).map((c) => c.cluster).join(',');
  return clusters(observed) === clusters(wanted);
}

/**
 * Members of another MCS implementation (--source=mcs): its ServiceImport `<ns>/<name>` (Cilium's,
 * Submariner Lighthouse's, mcs-api's controller's; never ours) and the EndpointSlices it keeps
 * for it, one run per source cluster: labelled `multicluster.kubernetes.io/source-cluster` and
 * either `multicluster.kubernetes.io/service-name: <name>` (KEP-1645, Lighthouse, mcs-api) or
 * `kubernetes.io/service-name: <the import's derived Service>` (Cilium's EndpointSlice sync).
 * Each other cluster is a direct member: its endpoints are the pods' addresses, reached over the
 * implementation's own network, no gateway between. The local cluster's own slices are left to the
 * local member. Ports and headlessness are the import's.
 */
export function mcsMembers(imp: ServiceImport, slices: readonly EndpointSlice[], localCluster: string): MemberView[] {
  const key = { namespace: imp.metadata.namespace ?? '', name: imp.metadata.name ?? '' };
  const service: Service = {
    metadata: { name: key.name, namespace: key.namespace, uid: imp.metadata.uid },
    spec: {
      clusterIP: imp.spec?.type === 'Headless' ? 'None' : (imp.spec?.ips?.[0] ?? ''),
      ports: (imp.spec?.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
    },
  };
  const byCluster = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const cluster = slice.metadata.labels?.[mcs.sourceCluster];
    if (cluster === undefined || cluster === localCluster || slice.metadata.deletionTimestamp) continue;
    const list = byCluster.get(cluster);
    if (list) list.push(slice);
    else byCluster.set(cluster, [slice]);
  }
  return [...byCluster]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([cluster, clusterSlices]) => ({
      member: { key, cluster, serviceName: key.name, origin: 'direct' as const },
      service,
      slices: clusterSlices,
    }));
}
