import type { AddressType, Endpoint, EndpointPort, EndpointSlice, Service, ServicePort } from './k8s-types.js';
import { discovery, ours } from './labels.js';
import type { GlobalKey, Member } from './members.js';
import { assignHostnames, globalServiceName } from './naming.js';
import { canonicalServicePorts, canonicalSlicePorts, endpointKey, preferEndpoint, publishedEndpoint, slicePortsKey } from './endpoints.js';

export interface Settings {
  /** This cluster's name in the links: the source cluster of the local member. */
  localCluster: string;
  globalSuffix: string;
  maxEndpointsPerSlice: number;
}

/** A member with what this cluster's cache holds for it. */
export interface MemberView {
  member: Member;
  service: Service;
  /** The member Service's EndpointSlices (never ours). */
  slices: readonly EndpointSlice[];
}

/** What the object a problem is about: the global itself, or another Service (a member, a squatter). */
export type Subject = { kind: 'global' } | { kind: 'Service'; namespace: string; name: string; uid?: string };

export interface Problem {
  type: 'Warning' | 'Normal';
  reason: string;
  message: string;
  subject: Subject;
}

/** The endpoints of one source cluster with one address type and one port set: one run of slices. */
export interface EndpointGroup {
  cluster: string;
  addressType: AddressType;
  ports: EndpointPort[];
  portsKey: string;
  /** endpointKey → endpoint as published, hostname already made `<hostname>-<cluster>`. */
  endpoints: Map<string, Endpoint>;
}

export interface DesiredGlobal {
  key: GlobalKey;
  name: string;
  service: Service;
  groups: EndpointGroup[];
  problems: Problem[];
}

const ADDRESS_TYPES: ReadonlySet<string> = new Set(['IPv4', 'IPv6', 'FQDN']);

/**
 * Members in the same order in every cluster: by cluster name (never "local first"), so that
 * every cluster settles a conflict the same way and a client sees one Service wherever it runs.
 */
function ordered(members: readonly MemberView[]): MemberView[] {
  return [...members].sort(
    (a, b) => a.member.cluster.localeCompare(b.member.cluster) || a.member.serviceName.localeCompare(b.member.serviceName),
  );
}

/**
 * The ports of the global Service: the union of the members' ports by name and protocol. When
 * members disagree on a port number the member of the first cluster by name wins, so every
 * cluster computes the same Service.
 */
export function unionPorts(members: readonly MemberView[], problems: Problem[]): ServicePort[] {
  const byName = new Map<string, { port: ServicePort; from: string }>();
  for (const view of ordered(members)) {
    for (const port of canonicalServicePorts(view.service.spec?.ports)) {
      const id = `${port.name}/${port.protocol}`;
      const seen = byName.get(id);
      if (!seen) byName.set(id, { port, from: view.member.cluster });
      else if (seen.port.port !== port.port) {
        problems.push({
          type: 'Warning',
          reason: 'PortConflict',
          message: `port "${port.name}"/${port.protocol} is ${seen.port.port} in cluster ${seen.from} but ${port.port} in cluster ${view.member.cluster}; the global uses ${seen.port.port}`,
          subject: { kind: 'global' },
        });
      }
    }
  }
  // The API server refuses two ports with one number and protocol, and unnamed ports beside others.
  const ports: ServicePort[] = [];
  const numbers = new Set<string>();
  const candidates = [...byName.values()].map((v) => v.port);
  for (const port of candidates) {
    if (candidates.length > 1 && !port.name) {
      problems.push({
        type: 'Warning',
        reason: 'PortConflict',
        message: `an unnamed port ${port.port}/${port.protocol} cannot stand beside named ports in one Service; it is left out of the global's ports (its endpoints are still published)`,
        subject: { kind: 'global' },
      });
      continue;
    }
    const number = `${port.port}/${port.protocol}`;
    if (numbers.has(number)) {
      problems.push({
        type: 'Warning',
        reason: 'PortConflict',
        message: `ports named differently share ${number}; only "${ports.find((p) => `${p.port}/${p.protocol}` === number)?.name}" is kept in the global's ports`,
        subject: { kind: 'global' },
      });
      continue;
    }
    numbers.add(number);
    ports.push(port);
  }
  return ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/**
 * The endpoint groups of a global: every endpoint of every member slice exactly once per source
 * cluster and address type, hostnames made `<hostname>-<cluster>` and unique in the global.
 */
export function collectGroups(members: readonly MemberView[], problems: Problem[]): EndpointGroup[] {
  const pairs: { cluster: string; hostname: string }[] = [];
  for (const view of members) {
    for (const slice of view.slices) {
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.hostname) pairs.push({ cluster: view.member.cluster, hostname: endpoint.hostname });
      }
    }
  }
  const hostnames = assignHostnames(pairs);
  for (const r of hostnames.rewritten) {
    problems.push({
      type: 'Warning',
      reason: 'HostnameRewritten',
      message:
        r.why === 'invalid'
          ? `hostname "${r.hostname}" of cluster ${r.cluster} does not make a valid DNS label with its cluster name; it is published as "${r.label}"`
          : `hostname "${r.hostname}" of cluster ${r.cluster} would collide with another cluster's pod as "${r.hostname}-${r.cluster}"; it is published as "${r.label}"`,
      subject: { kind: 'global' },
    });
  }

  const groups = new Map<string, EndpointGroup>();
  for (const view of ordered(members)) {
    const cluster = view.member.cluster;
    for (const slice of view.slices) {
      if (!ADDRESS_TYPES.has(slice.addressType)) continue;
      const portsKey = slicePortsKey(slice.ports);
      const id = JSON.stringify([cluster, slice.addressType, portsKey]);
      let group = groups.get(id);
      if (!group) {
        group = {
          cluster,
          addressType: slice.addressType as AddressType,
          ports: canonicalSlicePorts(slice.ports),
          portsKey,
          endpoints: new Map(),
        };
        groups.set(id, group);
      }
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.addresses.length === 0) continue;
        const label = endpoint.hostname ? hostnames.labels.get(`${cluster}/${endpoint.hostname}`) : undefined;
        const published = publishedEndpoint(endpoint, label);
        const key = endpointKey(published);
        const existing = group.endpoints.get(key);
        // The same address twice in one cluster happens while a member's slices are rebalanced.
        group.endpoints.set(key, existing ? preferEndpoint(existing, published) : published);
      }
    }
  }
  return [...groups.values()].filter((g) => g.endpoints.size > 0);
}

export function globalServiceLabels(key: GlobalKey): Record<string, string> {
  return { [ours.appManagedByLabel]: ours.appManagedBy, [ours.globalOf]: key.name };
}

export function globalSliceLabels(key: GlobalKey, globalName: string, cluster: string): Record<string, string> {
  return {
    [discovery.serviceName]: globalName,
    [discovery.managedBy]: ours.sliceManager,
    [discovery.sourceCluster]: cluster,
    [ours.globalOf]: key.name,
    [ours.appManagedByLabel]: ours.appManagedBy,
  };
}

/**
 * The global a set of members calls for, or null when there is none: a global exists while at
 * least one mirror member does (a local service alone is just a service).
 */
export function computeDesired(key: GlobalKey, members: readonly MemberView[], settings: Settings): DesiredGlobal | null {
  if (!members.some((m) => m.member.origin === 'mirror')) return null;
  const problems: Problem[] = [];
  const name = globalServiceName(key.name, settings.globalSuffix);
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: key.namespace,
      labels: globalServiceLabels(key),
    },
    spec: { clusterIP: 'None', ports: unionPorts(members, problems) },
  };
  return { key, name, service, groups: collectGroups(members, problems), problems };
}
