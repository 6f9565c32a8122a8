import type { AddressType, Endpoint, EndpointPort, EndpointSlice, Service, ServicePort } from './k8s-types.js';
import { discovery, ours } from './labels.js';
import type { GlobalKey, Member } from './members.js';
import { keyString } from './members.js';
import { assignHostnames, globalServiceName } from './naming.js';
import {
  canonicalSlicePorts,
  endpointKey,
  isReady,
  preferEndpoint,
  publishedEndpoint,
  slicePortsKey,
  unreachableEndpoint,
} from './endpoints.js';
import { mapSlicePorts, ordered, unionPorts } from './ports.js';

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
  /**
   * A direct member whose cluster's API server does not answer (remote-discovery.ts): `stale`
   * keeps its last endpoints as they were, `expired` (after --remote-stale-after) publishes them
   * not ready. Past twice that, the member is gone.
   */
  remote?: { state: 'stale' | 'expired' };
  /** The member's EndpointSlices (never ours): for a headless mirror, its pods as its endpoint mirrors show them (headless-mirror.ts). */
  slices: readonly EndpointSlice[];
}

/** What the object a problem is about: the global itself, or another Service (a member, a squatter) or a ServiceImport in the way of its own. */
export type Subject = { kind: 'global' } | { kind: 'Service' | 'ServiceImport'; namespace: string; name: string; uid?: string };

/** The endpoints of one source cluster with one address type and one port set: one run of slices. */
export interface EndpointGroup {
  cluster: string;
  /** Read straight from the cluster (a direct member): no gateway stands between, so no gateway verdict applies. */
  direct?: boolean;
  addressType: AddressType;
  ports: EndpointPort[];
  portsKey: string;
  /** endpointKey → endpoint as published, hostname already made `<hostname>-<cluster>`. */
  endpoints: Map<string, Endpoint>;
  /** endpointKey → the hostname the member gave it (the pod's own), for endpoints that have one: KEP-1645's per-pod names keep it. */
  ownHostnames?: Map<string, string>;
}

/** What globalsvc knows of this cluster's links beside what Linkerd's mirrors say (src/domain/links.ts). */
export interface LinkState {
  /** Clusters with a Link here; undefined while that is unknown (Links not listed yet, no Link CRD, no right to read them). */
  linked?: ReadonlySet<string>;
  /** Clusters whose gateway fails globalsvc's own probe of it (the Link's probeSpec). */
  gatewayDown: ReadonlySet<string>;
}

export const NO_LINK_STATE: LinkState = Object.freeze({ gatewayDown: new Set<string>() });

export interface DesiredGlobal {
  key: GlobalKey;
  name: string;
  service: Service;
  groups: EndpointGroup[];
  problems: Problem[];
}

/**
 * Why a member's endpoints are not in its global as the member has them. Each is a Warning Event
 * on the member, a count in `globalsvc_left_out_endpoints{reason}` and a problem in `globalsvc status`.
 */
export type LeftOutReason = 'UnsupportedAddressType' | 'NoGlobalPort' | 'UnmappedPort' | 'UnmirrorableHostname';

export interface Problem {
  type: 'Warning' | 'Normal';
  reason: string;
  message: string;
  subject: Subject;
  /** Endpoints this problem keeps out of the global, or publishes without some of their ports. */
  leftOut?: { reason: LeftOutReason; endpoints: number };
  /** Endpoints this problem publishes although nothing keeps them current (a cluster without a Link). */
  stale?: { cluster: string; endpoints: number };
}

/** What the slices of a member can be left out for (the rest is Linkerd's, src/domain/mirrorability.ts). */
type SliceLeftOut = Exclude<LeftOutReason, 'UnmirrorableHostname'>;

const portText = (p: EndpointPort) => `${p.name ? `"${p.name}"` : 'unnamed'}/${p.protocol ?? 'TCP'} ${p.port ?? '(all)'}`;

/** What of one member cannot be published, per reason: how many endpoints, and what about them. */
class LeftOut {
  private readonly byReason = new Map<SliceLeftOut, { endpoints: number; what: Set<string> }>();

  note(reason: SliceLeftOut, endpoints: number, what: string): void {
    const seen = this.byReason.get(reason) ?? { endpoints: 0, what: new Set<string>() };
    seen.endpoints += endpoints;
    seen.what.add(what);
    this.byReason.set(reason, seen);
  }

  problems(view: MemberView): Problem[] {
    const { namespace = '', name = '', uid } = view.service.metadata;
    const member = `member ${namespace}/${name} (cluster ${view.member.cluster}${view.member.origin === 'direct' ? ', read directly' : ''})`;
    const global = `global ${keyString(view.member.key)}`;
    return [...this.byReason].map(([reason, { endpoints, what }]) => {
      const list = [...what].sort().join(', ');
      const message = {
        UnsupportedAddressType: `${endpoints} endpoint(s) of ${member} are in EndpointSlices of addressType ${list}: a global holds IPv4 and IPv6 addresses only (CoreDNS would answer its A query with a CNAME beside the A records), so they are left out of ${global}`,
        NoGlobalPort: `${endpoints} endpoint(s) of ${member} have ports ${list}, none of which is a port of ${global} by name or by the member Service's port number; they are left out, since they would answer its A query but no SRV query`,
        UnmappedPort: `port(s) ${list} of ${member} match no port of ${global} by name or by number; its ${endpoints} endpoint(s) there are published without them`,
      }[reason];
      return {
        type: 'Warning',
        reason,
        message,
        // A direct member's Service is in its own cluster: told on the global here.
        subject: view.member.origin === 'direct' ? { kind: 'global' } : { kind: 'Service', namespace, name, uid },
        leftOut: { reason, endpoints },
      } as const;
    });
  }
}

/** A member slice the global publishes, with its ports under the global's names. */
interface Accepted {
  view: MemberView;
  slice: EndpointSlice;
  ports: EndpointPort[];
}

const countable = (slice: EndpointSlice) => (slice.endpoints ?? []).filter((e) => e.addresses.length > 0).length;

/**
 * What a global may contain, slice by slice (Kubernetes' rules and what CoreDNS does with them):
 * IPv4 and IPv6 slices only, never FQDN; ports under the global's names (mapSlicePorts), a port
 * that maps to none dropped; a slice none of whose ports is the global's left out, unless the
 * global has no ports at all. Everything left out is reported on its member.
 */
function acceptSlices(members: readonly MemberView[], globalPorts: readonly ServicePort[], problems: Problem[]): Accepted[] {
  const accepted: Accepted[] = [];
  for (const view of ordered(members)) {
    const leftOut = new LeftOut();
    for (const slice of view.slices) {
      if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') {
        if (countable(slice) > 0) leftOut.note('UnsupportedAddressType', countable(slice), slice.addressType);
        continue;
      }
      const mapped = mapSlicePorts(slice.ports, view.service.spec?.ports, globalPorts);
      if (mapped.ports.length === 0 && globalPorts.length > 0) {
        if (countable(slice) > 0) leftOut.note('NoGlobalPort', countable(slice), (slice.ports ?? []).map(portText).join(' ') || 'none');
        continue;
      }
      if (mapped.unmapped.length > 0 && countable(slice) > 0)
        leftOut.note('UnmappedPort', countable(slice), mapped.unmapped.map(portText).join(', '));
      accepted.push({ view, slice, ports: mapped.ports });
    }
    problems.push(...leftOut.problems(view));
  }
  return accepted;
}

/**
 * The endpoint groups of a global: every endpoint of every slice it may publish exactly once per
 * source cluster, address type and port set, hostnames made `<hostname>-<cluster>` and unique in
 * the global, ports under the global's names.
 */
export function collectGroups(members: readonly MemberView[], globalPorts: readonly ServicePort[], problems: Problem[]): EndpointGroup[] {
  const accepted = acceptSlices(members, globalPorts, problems);
  const pairs: { cluster: string; hostname: string }[] = [];
  for (const { view, slice } of accepted) {
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.hostname) pairs.push({ cluster: view.member.cluster, hostname: endpoint.hostname });
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
  for (const { view, slice, ports } of accepted) {
    const cluster = view.member.cluster;
    const portsKey = slicePortsKey(ports);
    const id = JSON.stringify([cluster, view.member.origin === 'direct', slice.addressType, portsKey]);
    let group = groups.get(id);
    if (!group) {
      group = {
        cluster,
        ...(view.member.origin === 'direct' ? { direct: true } : {}),
        addressType: slice.addressType as AddressType,
        ports: canonicalSlicePorts(ports),
        portsKey,
        endpoints: new Map(),
        ownHostnames: new Map(),
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
      if (endpoint.hostname) group.ownHostnames!.set(key, endpoint.hostname);
    }
  }
  return [...groups.values()].filter((g) => g.endpoints.size > 0);
}

/** Every endpoint of the group becomes unreachable: neither ready nor serving. */
function markUnreachable(group: EndpointGroup): void {
  for (const [k, e] of group.endpoints) group.endpoints.set(k, unreachableEndpoint(e));
}

export function globalServiceLabels(key: GlobalKey): Record<string, string> {
  return { [ours.appManagedByLabel]: ours.appManagedBy, [ours.globalOf]: key.name };
}

export function globalSliceLabels(key: GlobalKey, globalName: string, cluster: string, direct = false): Record<string, string> {
  return {
    [discovery.serviceName]: globalName,
    [discovery.managedBy]: ours.sliceManager,
    [discovery.sourceCluster]: cluster,
    [ours.globalOf]: key.name,
    [ours.appManagedByLabel]: ours.appManagedBy,
    ...(direct ? { [ours.memberOrigin]: 'direct' } : {}),
  };
}

/**
 * Endpoints of other clusters that are not ready, by cluster. Linkerd mirrors only ready remote
 * endpoints, so a mirror's endpoint that is not ready is one whose gateway fails its probe:
 * Linkerd moved it to not ready (linkerd-mirror-real.md, the gateway probe).
 */
export function unreachableByCluster(groups: readonly EndpointGroup[], localCluster: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of groups) {
    // A direct member's pods carry their own readiness: one not ready is a pod, not a gateway.
    if (g.cluster === localCluster || g.direct) continue;
    let n = 0;
    for (const e of g.endpoints.values()) if (!isReady(e)) n++;
    if (n > 0) out.set(g.cluster, (out.get(g.cluster) ?? 0) + n);
  }
  return out;
}

/**
 * The global a set of members calls for, or null when there is none: a global exists while at
 * least one member of another cluster does, mirrored or direct (a local service alone is just a
 * service).
 */
export function computeDesired(
  key: GlobalKey,
  members: readonly MemberView[],
  settings: Settings,
  links: LinkState = NO_LINK_STATE,
  /** Whether the local member alone makes one (a ServiceImport of a Service only this cluster exports, --mcs-api). */
  localAlone = false,
): DesiredGlobal | null {
  if (!members.some((m) => m.member.origin !== 'local') && !(localAlone && members.length > 0)) return null;
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
  // A database that bootstraps through DNS (CockroachDB, Cassandra, etcd) sets it on its headless
  // Service so that peers find pods before they are ready; kube-controller-manager then publishes
  // those pods ready in the local member's slices, and the global must answer them too. Linkerd
  // mirrors no remote pod that is not ready, so only the local member can ask for it.
  if (members.some((m) => m.member.origin === 'local' && m.service.spec?.publishNotReadyAddresses))
    service.spec!.publishNotReadyAddresses = true;
  const groups = collectGroups(members, service.spec!.ports!, problems);
  // Linkerd's own verdict can be missing: its mirror restarted while the gateway was already dead
  // never marks it dead (linkerd-mirror-real.md, the gateway probe). globalsvc's probe of the same
  // gateway is the second opinion, and the global says which one it follows.
  const behindGateway = (g: EndpointGroup) => g.cluster !== settings.localCluster && !g.direct;
  const down = [...links.gatewayDown].filter((c) => groups.some((g) => g.cluster === c && behindGateway(g))).sort();
  for (const g of groups) if (links.gatewayDown.has(g.cluster) && behindGateway(g)) markUnreachable(g);
  for (const m of members) {
    if (m.member.origin !== 'direct' || !m.remote) continue;
    if (m.remote.state === 'expired') for (const g of groups) if (g.direct && g.cluster === m.member.cluster) markUnreachable(g);
    problems.push({
      type: 'Warning',
      reason: 'RemoteClusterUnreachable',
      message:
        m.remote.state === 'stale'
          ? `cluster ${m.member.cluster}'s API server does not answer: ${name} keeps the endpoints last read from it, which may be stale`
          : `cluster ${m.member.cluster}'s API server has not answered for longer than --remote-stale-after: its endpoints in ${name} are published not ready, and leave it if it stays away as long again`,
      subject: { kind: 'global' },
    });
  }
  if (down.length > 0) service.metadata.annotations = { [ours.gatewayDown]: down.join(',') };
  // No count in the message: Linkerd marks a cluster's pods one by one, and one Event per outage is
  // what tells it (the count is globalsvc_unreachable_endpoints).
  for (const cluster of unreachableByCluster(groups, settings.localCluster).keys())
    problems.push({
      type: 'Warning',
      reason: 'ClusterUnreachable',
      // One message whichever probe saw it first: an Event per outage, not one per prober.
      message: `cluster ${cluster}'s gateway does not answer its probe: its endpoints are published not ready, so ${name} answers without them until its gateway is back`,
      subject: { kind: 'global' },
    });
  if (links.linked)
    for (const m of members) {
      if (m.member.origin !== 'mirror' || links.linked.has(m.member.cluster)) continue;
      const endpoints = groups.filter((g) => g.cluster === m.member.cluster).reduce((n, g) => n + g.endpoints.size, 0);
      problems.push({
        type: 'Warning',
        reason: 'LinkMissing',
        message: `cluster ${m.member.cluster} has no Link here (deleted without \`linkerd multicluster unlink\`?): Linkerd's mirror no longer follows it, so the ${endpoints} endpoint(s) of its member ${m.service.metadata.name} in ${name} are the last it wrote and may be stale; link ${m.member.cluster} again, or unlink it to remove its mirrors`,
        subject: { kind: 'global' },
        stale: { cluster: m.member.cluster, endpoints },
      });
    }
  return { key, name, service, groups, problems };
}
