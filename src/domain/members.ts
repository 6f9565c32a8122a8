import type { Service } from './k8s-types.js';
import { linkerd, ours } from './labels.js';
import { isDnsLabel } from './naming.js';

/** The original service a global stands for: one per namespace and name, whatever the cluster. */
export interface GlobalKey {
  namespace: string;
  name: string;
}

export const keyString = (key: GlobalKey): string => `${key.namespace}/${key.name}`;

export function parseKey(value: string): GlobalKey {
  const slash = value.indexOf('/');
  return { namespace: value.slice(0, slash), name: value.slice(slash + 1) };
}

/** One cluster's copy of an original service, as seen in this cluster. */
export interface Member {
  key: GlobalKey;
  /** The cluster whose endpoints this member carries (the Link's target cluster, or ours). */
  cluster: string;
  /** The Service whose EndpointSlices hold the member's endpoints: in this cluster, or in `cluster` for a direct member. */
  serviceName: string;
  /**
   * `mirror`: Linkerd's mirror of a linked cluster's Service (gateway or headless mode); `local`:
   * this cluster's own Service; `direct`: a linked cluster's Service read straight from that
   * cluster (remote discovery on a flat network: its pod IPs, no gateway).
   */
  origin: 'mirror' | 'local' | 'direct';
}

/**
 * What a Service in this cluster means to the aggregator. Only `member` contributes endpoints;
 * `unsupported` and `rejected` are problems somebody should hear about; `excluded` is a choice
 * the owner made; `ignored` is everything that is none of our business.
 */
export type Classification =
  | { kind: 'member'; member: Member }
  | { kind: 'unsupported'; key: GlobalKey; cluster: string; reason: string; message: string }
  | { kind: 'rejected'; key?: GlobalKey; reason: string; message: string }
  | { kind: 'excluded'; key: GlobalKey; message: string }
  | { kind: 'ignored' };

const IGNORED: Classification = { kind: 'ignored' };

export function isMirror(service: Service): boolean {
  return service.metadata.labels?.[linkerd.mirroredService] === 'true';
}

export function isOurs(service: Service): boolean {
  const labels = service.metadata.labels ?? {};
  return labels[ours.appManagedByLabel] === ours.appManagedBy && ours.globalOf in labels;
}

function isExcluded(service: Service): boolean {
  return service.metadata.labels?.[ours.exclude] === 'true' || service.metadata.annotations?.[ours.exclude] === 'true';
}

/**
 * Classifies a Service Linkerd's service mirror wrote. The original name comes from the
 * `remote-svc-fq-name` annotation (`<svc>.<ns>.svc.<domain>`), never from cutting `-<cluster>` off
 * the mirror's own name: that breaks as soon as a service name contains a cluster name.
 */
export function classifyMirror(service: Service, options: { remoteDiscovery?: boolean } = {}): Classification {
  if (!isMirror(service) || isOurs(service)) return IGNORED;
  const labels = service.metadata.labels ?? {};
  const namespace = service.metadata.namespace ?? '';
  const mirrorName = `${namespace}/${service.metadata.name ?? ''}`;
  // Endpoint mirrors (one per remote pod of a headless service) are plumbing of the headless
  // mirror they belong to; federated services have no cluster and no endpoints.
  if (linkerd.headlessMirrorServiceName in labels) return IGNORED;
  const cluster = labels[linkerd.clusterName];
  if (cluster === undefined) return IGNORED;

  const fqName = service.metadata.annotations?.[linkerd.remoteServiceFqName];
  if (fqName === undefined || fqName === '') {
    return {
      kind: 'rejected',
      reason: 'MissingRemoteName',
      message: `mirror ${mirrorName} has no ${linkerd.remoteServiceFqName} annotation, so its original service is unknown; it is left out of every global`,
    };
  }
  const [name, remoteNamespace] = fqName.split('.');
  if (name === undefined || !isDnsLabel(name) || (remoteNamespace !== undefined && remoteNamespace !== namespace)) {
    return {
      kind: 'rejected',
      reason: 'GarbledRemoteName',
      message: `mirror ${mirrorName} has ${linkerd.remoteServiceFqName}="${fqName}", which is not <service>.${namespace}.svc.<domain>; it is left out of every global`,
    };
  }
  const key = { namespace, name };
  if (!isDnsLabel(cluster)) {
    return {
      kind: 'rejected',
      key,
      reason: 'InvalidClusterName',
      message: `mirror ${mirrorName} has ${linkerd.clusterName}="${cluster}", which is not a DNS label; it is left out of global ${keyString(key)}`,
    };
  }
  if (isExcluded(service)) {
    return { kind: 'excluded', key, message: `mirror ${mirrorName} opted out with ${ours.exclude}=true` };
  }
  if (linkerd.remoteDiscovery in labels) {
    // With --remote-discovery, the cluster's Service itself is read (a direct member): Linkerd's
    // endpoint-less mirror of it says nothing more.
    if (options.remoteDiscovery) return IGNORED;
    return {
      kind: 'unsupported',
      key,
      cluster,
      reason: 'RemoteDiscoveryMirror',
      message: `mirror ${mirrorName} of cluster ${cluster} uses Linkerd remote discovery: it has no Endpoints to publish, so cluster ${cluster} is missing from global ${keyString(key)}; run globalsvc with --remote-discovery to read it from cluster ${cluster} itself, or export the service in gateway or headless mode`,
    };
  }
  return { kind: 'member', member: { key, cluster, serviceName: service.metadata.name ?? '', origin: 'mirror' } };
}

/** Whether a Service of this cluster is exported to other clusters through Linkerd's mirrors. */
export function isExported(service: Service): boolean {
  if (isMirror(service) || isOurs(service)) return false;
  const value = service.metadata.labels?.[linkerd.exported];
  return value === 'true' || value === 'remote-discovery';
}

/** Classifies the local Service `<name>` of a global's namespace, a member when `--include-local`. */
export function classifyLocal(service: Service, localCluster: string): Classification {
  if (isMirror(service) || isOurs(service)) return IGNORED;
  const key = { namespace: service.metadata.namespace ?? '', name: service.metadata.name ?? '' };
  if (isExcluded(service)) {
    return { kind: 'excluded', key, message: `local service ${keyString(key)} opted out with ${ours.exclude}=true` };
  }
  if (service.spec?.type === 'ExternalName') return IGNORED;
  return { kind: 'member', member: { key, cluster: localCluster, serviceName: key.name, origin: 'local' } };
}

/**
 * Classifies a Service read straight from linked cluster `cluster` (it matched the Link's
 * remote-discovery selector there): a direct member of the global of its namespace and name.
 */
export function classifyDirect(service: Service, cluster: string): Classification {
  const key = { namespace: service.metadata.namespace ?? '', name: service.metadata.name ?? '' };
  if (isOurs(service) || isMirror(service) || service.spec?.type === 'ExternalName') return IGNORED;
  if (isExcluded(service))
    return { kind: 'excluded', key, message: `service ${keyString(key)} of cluster ${cluster} opted out with ${ours.exclude}=true` };
  return { kind: 'member', member: { key, cluster, serviceName: key.name, origin: 'direct' } };
}
