import type { Endpoint, EndpointSlice, Service, ServicePort } from '../domain/k8s-types.js';
import type { Classification, GlobalKey } from '../domain/members.js';
import { isMirror, keyString, parseKey } from '../domain/members.js';
import type { MemberView, Problem, Settings } from '../domain/desired.js';
import { collectGroups } from '../domain/desired.js';
import { describeWrite, planGlobal } from '../domain/plan.js';
import { isReady } from '../domain/endpoints.js';
import { discovery, linkerd, ours } from '../domain/labels.js';
import { linkInfo, type LinkInfo, type LinkObject, type Unmirrored } from '../domain/links.js';
import type { IndexSettings } from '../engine/member-index.js';
import { MemberIndex } from '../engine/member-index.js';
import { compareStrings } from '../shared.js';

// `globalsvc status`: what one read of a cluster says about every global, computed by the same
// index, classification and planner the controller uses, so "out of date" means exactly "the
// controller would still write something".

export const STATUS_SCHEMA = 'globalsvc.dev/status/v1';

export interface EndpointCount {
  ready: number;
  total: number;
}

/**
 * published: the global matches its members. out-of-date: the planner would still write (missing
 * Service, lagging or stale slices). blocked: a Service not ours holds the name. orphaned: ours,
 * but no usable mirror calls for it any more. unpublished: no usable mirror, and rightly no global.
 */
export type GlobalState = 'published' | 'out-of-date' | 'blocked' | 'orphaned' | 'unpublished';

/** A Service's classification, or `gone`: the global still publishes a cluster nothing stands for. */
export type MemberState = 'member' | 'unsupported' | 'rejected' | 'excluded' | 'gone';

export interface StatusProblem {
  reason: string;
  message: string;
  /** The object the problem is about: the global Service, a mirror, a squatter, or a Link. */
  object: { kind: 'Service' | 'ServiceImport' | 'Link'; namespace: string; name: string };
}

export interface MemberStatus {
  cluster: string;
  /** null for `gone`; `direct` for a linked cluster's Service read straight from it (--remote-discovery). */
  origin: 'mirror' | 'local' | 'direct' | null;
  /** The Service that carries the member's endpoints (in its own cluster for a direct member); null for `gone`. */
  service: string | null;
  state: MemberState;
  /** The member's endpoints as the global would publish them; null unless state is `member`. */
  endpoints: EndpointCount | null;
  /** What the global's slices hold for this cluster now. */
  published: EndpointCount;
}

export interface GlobalStatus {
  namespace: string;
  /** The original service. */
  name: string;
  /** The global Service's name. */
  global: string;
  state: GlobalState;
  endpoints: {
    /** What the global should publish: its members' endpoints merged as the planner merges them (none when no global is called for). */
    members: EndpointCount;
    /** Every endpoint in the global's slices. */
    published: EndpointCount;
  };
  /** Sorted by cluster. */
  members: MemberStatus[];
  /** The writes the controller would make now (`<verb> <kind> <namespace>/<name>`). */
  pendingWrites: string[];
  problems: StatusProblem[];
}

export interface StatusReport {
  schema: typeof STATUS_SCHEMA;
  cluster: string;
  /** The namespaces read; empty for all. */
  namespaces: string[];
  summary: { globals: number; problems: number };
  /** Sorted by namespace and name. */
  globals: GlobalStatus[];
  /** Problems of mirrors that belong to no global (no usable remote-svc-fq-name). */
  problems: StatusProblem[];
}

/** What one read of the cluster returned. */
export interface Listed {
  namespaces: readonly string[];
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  /** Linkerd's Links; absent when they cannot be read (no CRD, no right). */
  links?: readonly LinkObject[];
  /** The names of the cluster's namespaces, read with the Links. */
  existingNamespaces?: readonly string[];
  /**
   * With --remote-discovery: what each Link's cluster showed when read directly (its selected
   * Services and its EndpointSlices), or why it could not be read.
   */
  direct?: readonly { cluster: string; link: string; services: readonly Service[]; slices: readonly EndpointSlice[]; error?: string }[];
}

export type StatusSettings = Settings & IndexSettings;

const NONE: EndpointCount = Object.freeze({ ready: 0, total: 0 });
const plus = (a: EndpointCount, b: EndpointCount): EndpointCount => ({ ready: a.ready + b.ready, total: a.total + b.total });

function count(endpoints: Iterable<Endpoint>): EndpointCount {
  let ready = 0;
  let total = 0;
  for (const e of endpoints) {
    total++;
    if (isReady(e)) ready++;
  }
  return { ready, total };
}

const serviceRef = (namespace: string, name: string) => ({ kind: 'Service' as const, namespace, name });

function problemOf(p: Problem, key: GlobalKey, globalName: string): StatusProblem {
  const object =
    p.subject.kind === 'global'
      ? serviceRef(key.namespace, globalName)
      : { kind: p.subject.kind, namespace: p.subject.namespace, name: p.subject.name };
  return { reason: p.reason, message: p.message, object };
}

/** Endpoints in the global's slices, by the source cluster they are labelled with. */
function publishedByCluster(slices: readonly EndpointSlice[]): Map<string, EndpointCount> {
  const out = new Map<string, EndpointCount>();
  for (const slice of slices) {
    if (slice.metadata.deletionTimestamp) continue;
    const cluster = slice.metadata.labels?.[discovery.sourceCluster] ?? '';
    out.set(cluster, plus(out.get(cluster) ?? NONE, count(slice.endpoints ?? [])));
  }
  return out;
}

/** One row per candidate Service of the key: its mirrors, and the local Service under `--include-local`. */
function memberRows(
  index: MemberIndex,
  key: GlobalKey,
  views: readonly MemberView[],
  globalPorts: readonly ServicePort[],
  published: Map<string, EndpointCount>,
): { rows: MemberStatus[]; problems: StatusProblem[] } {
  const rows: MemberStatus[] = [];
  const problems: StatusProblem[] = [];
  const row = (service: Service, c: Classification, origin: 'mirror' | 'local') => {
    if (c.kind === 'ignored') return;
    const name = service.metadata.name ?? '';
    const view = c.kind === 'member' ? views.find((v) => v.member.origin === origin && v.service.metadata.name === name) : undefined;
    const cluster =
      c.kind === 'member'
        ? c.member.cluster
        : c.kind === 'unsupported'
          ? c.cluster
          : (service.metadata.labels?.[linkerd.clusterName] ?? '');
    rows.push({
      cluster,
      origin,
      service: name,
      state: c.kind,
      // Counted through the planner's own merge, so duplicates and address-less endpoints count as it counts them.
      endpoints: view ? count(collectGroups([view], globalPorts, []).flatMap((g) => [...g.endpoints.values()])) : null,
      published: published.get(cluster) ?? NONE,
    });
    if (c.kind === 'unsupported' || c.kind === 'rejected')
      problems.push({ reason: c.reason, message: c.message, object: serviceRef(key.namespace, name) });
  };
  for (const { service, classification } of index.mirrorsOf(key)) row(service, classification, 'mirror');
  for (const view of views)
    if (view.member.origin === 'direct')
      rows.push({
        cluster: view.member.cluster,
        origin: 'direct',
        service: view.service.metadata.name ?? '',
        state: 'member',
        endpoints: count(collectGroups([view], globalPorts, []).flatMap((g) => [...g.endpoints.values()])),
        published: published.get(view.member.cluster) ?? NONE,
      });
  const local = index.localOf(key);
  if (local) row(local.service, local.classification, 'local');
  return { rows, problems };
}

function globalStatus(index: MemberIndex, key: GlobalKey, settings: StatusSettings): GlobalStatus {
  const read = index.world(key);
  // The controller's own gateway probe is known here only by what it wrote on the global.
  const down = read.atGlobalName?.metadata.annotations?.[ours.gatewayDown];
  const world = { ...read, links: { ...index.links, gatewayDown: new Set(down ? down.split(',') : []) } };
  const plan = planGlobal(world, settings);
  const published = publishedByCluster(world.ownedSlices);
  const { rows, problems: memberProblems } = memberRows(index, key, world.members, plan.desired?.service.spec?.ports ?? [], published);
  const problems = [...plan.problems.map((p) => problemOf(p, key, plan.globalName)), ...memberProblems];

  const usable = new Set(rows.filter((r) => r.state === 'member').map((r) => r.cluster));
  for (const [source, n] of published) {
    if (usable.has(source) || n.total === 0) continue;
    problems.push({
      reason: 'StaleCluster',
      message: `global ${key.namespace}/${plan.globalName} still publishes ${n.total} endpoint(s) of cluster ${source}, which has no usable member here any more`,
      object: serviceRef(key.namespace, plan.globalName),
    });
    if (!rows.some((r) => r.cluster === source))
      rows.push({ cluster: source, origin: null, service: null, state: 'gone', endpoints: null, published: n });
  }

  const pendingWrites = plan.writes.map(describeWrite);
  if (pendingWrites.length > 0) {
    const shown = pendingWrites.slice(0, 3).join(', ') + (pendingWrites.length > 3 ? `, and ${pendingWrites.length - 3} more` : '');
    problems.push({
      reason: 'OutOfDate',
      message:
        `${pendingWrites.length} write(s) pending (${shown})${plan.awaitingService ? '; slices follow once the Service exists' : ''}. ` +
        `If this lasts, check that globalsvc runs and leads in cluster ${settings.localCluster} and read its log`,
      object: serviceRef(key.namespace, plan.globalName),
    });
  }

  const blocked = plan.problems.some((p) => p.reason === 'GlobalNameTaken');
  const state: GlobalState = blocked
    ? 'blocked'
    : !plan.desired
      ? pendingWrites.length > 0
        ? 'orphaned'
        : 'unpublished'
      : pendingWrites.length > 0
        ? 'out-of-date'
        : 'published';
  const membersEndpoints = count((plan.desired?.groups ?? []).flatMap((g) => [...g.endpoints.values()]));
  const publishedTotal = [...published.values()].reduce(plus, NONE);
  return {
    namespace: key.namespace,
    name: key.name,
    global: plan.globalName,
    state,
    endpoints: { members: membersEndpoints, published: publishedTotal },
    members: rows.sort((a, b) => compareStrings(a.cluster, b.cluster) || compareStrings(a.origin ?? '', b.origin ?? '')),
    pendingWrites,
    problems,
  };
}

/** Why Linkerd did not mirror an export here, from the Link's status and what this cluster has. */
function notMirrored(link: LinkInfo, u: Unmirrored, namespaces: readonly string[] | undefined): { reason: string; message: string } {
  const exported = `cluster ${link.cluster} exports ${u.namespace}/${u.name}, but Linkerd's mirror has not mirrored it here`;
  // Linkerd says MissingNamespace for ClusterIP Services only; for a headless one it only logs it.
  if (u.reason === 'MissingNamespace' || (namespaces && !namespaces.includes(u.namespace)))
    return {
      reason: 'MissingNamespace',
      message: `${exported}: namespace ${u.namespace} does not exist in this cluster. Create it here, or run the mirror with -enable-namespace-creation`,
    };
  // Every headless export reads so, also with -enable-headless-services, where the Endpoints decide.
  if (u.reason === 'InvalidService' && /headless/i.test(u.message))
    return {
      reason: 'HeadlessAwaitingPods',
      message: `${exported} yet: Linkerd mirrors a headless Service from its Endpoints, at the first pod or at their next change (one it could not mirror, say while this namespace was missing, waits for that change) — pod by pod (<pod>-${link.cluster}) when a pod has a hostname (a StatefulSet's), otherwise through the gateway as one ClusterIP Service, decided at that first mirroring. Until then no endpoint of ${link.cluster} is in ${u.name}'s global`,
    };
  return { reason: 'NotMirrored', message: `${exported}: ${u.reason}: ${u.message} (Link ${link.ref} status)` };
}

/**
 * The status of every global one read of a cluster shows: members per cluster, endpoints offered
 * and published, the writes the controller still owes, and every problem. Pure: the same listed
 * objects give the same report.
 */
export function statusReport(listed: Listed, settings: StatusSettings): StatusReport {
  const index = new MemberIndex({ ...settings, remoteDiscovery: listed.direct !== undefined });
  const links = listed.links?.flatMap((l) => linkInfo(l) ?? []);
  const unreadable: StatusProblem[] = [];
  for (const d of listed.direct ?? []) {
    const [namespace = '', name = ''] = d.link.split('/');
    if (d.error !== undefined) {
      unreadable.push({
        reason: 'RemoteClusterUnreadable',
        message: `cluster ${d.cluster} could not be read directly (remote discovery): ${d.error}`,
        object: { kind: 'Link', namespace, name },
      });
      continue;
    }
    index.direct.open(d.cluster);
    index.direct.apply(d.cluster, 'services', {
      type: 'relisted',
      namespace: undefined,
      items: d.services.map(index.direct.transforms.services),
    });
    index.direct.apply(d.cluster, 'slices', {
      type: 'relisted',
      namespace: undefined,
      items: d.slices.map(index.direct.transforms.slices),
    });
  }
  if (links) index.links = { linked: new Set(links.map((l) => l.cluster)), gatewayDown: new Set() };
  index.apply('services', { type: 'relisted', namespace: undefined, items: listed.services.map(index.services.transform) });
  index.apply('slices', { type: 'relisted', namespace: undefined, items: listed.slices.map(index.slices.transform) });

  const globals = [...index.knownKeys()]
    .sort()
    .map((k) => globalStatus(index, parseKey(k), settings))
    // An exported service that no other cluster exports has no global here, and is news only when Linkerd cannot mirror it.
    .filter((g) => g.state !== 'unpublished' || g.problems.length > 0 || index.mirrorsOf(g).length > 0);
  const problems: StatusProblem[] = [...unreadable];
  for (const service of index.services.values()) {
    if (!isMirror(service)) continue;
    const { namespace = '', name = '' } = service.metadata;
    const c = index.classificationOf(namespace, name);
    if (c?.kind === 'rejected' && !c.key) problems.push({ reason: c.reason, message: c.message, object: serviceRef(namespace, name) });
  }
  for (const link of links ?? [])
    for (const u of link.unmirrored) {
      const mirror = `${u.name}-${link.cluster}`;
      // Linkerd marks every headless export InvalidService, also those it mirrors pod by pod.
      if (index.services.has(u.namespace, mirror)) continue;
      if (listed.namespaces.length > 0 && !listed.namespaces.includes(u.namespace)) continue;
      problems.push({ ...notMirrored(link, u, listed.existingNamespaces), object: serviceRef(u.namespace, mirror) });
    }
  problems.sort((a, b) => compareStrings(keyString(a.object), keyString(b.object)));
  return {
    schema: STATUS_SCHEMA,
    cluster: settings.localCluster,
    namespaces: [...listed.namespaces],
    summary: { globals: globals.length, problems: problems.length + globals.reduce((n, g) => n + g.problems.length, 0) },
    globals,
    problems,
  };
}
