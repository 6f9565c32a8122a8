import type { Endpoint, EndpointSlice, KubeObject, OwnerReference, Service, ServiceImport, ServiceImportPort } from './k8s-types.js';
import { resolveExports } from './service-export.js';
import { discovery, mcs, ours } from './labels.js';
import type { GlobalKey } from './members.js';
import { isOurs, keyString } from './members.js';
import { globalServiceName, shortHash } from './naming.js';
import { canonicalServicePorts, slicePortsKey } from './endpoints.js';
import type { DesiredGlobal, EndpointGroup, LinkState, MemberView, Problem, Settings } from './desired.js';
import { computeDesired, globalServiceLabels, globalSliceLabels } from './desired.js';
import { packSlices } from './packing.js';
import { unmirrorable, type ExportedService } from './mirrorability.js';
import {
  derivedNameTaken,
  derivedUpToDate,
  desiredDerivedService,
  desiredImport,
  importEndpoints,
  importType,
  isOurDerived,
  importNameTaken,
  importOwner,
  importPorts,
  exportedMetadataHash,
  importSliceLabels,
  importStatusUpToDate,
  importUpToDate,
  isOurImport,
  type ImportWorld,
} from './mcs.js';

/** What the cache holds for one global key: its members and the objects at its names. */
export interface GlobalWorld {
  key: GlobalKey;
  members: readonly MemberView[];
  /** The Service named like this key's global, whoever owns it. */
  atGlobalName: Service | undefined;
  /** Slices labelled ours for this key. */
  ownedSlices: readonly EndpointSlice[];
  /** Whether an EndpointSlice of this name exists in the key's namespace (ours or not). */
  sliceNameTaken: (name: string) => boolean;
  /** The local Service `<name>` when it is exported to other clusters, with its slices. */
  exported?: ExportedService;
  /** The Links here and globalsvc's own probe of their gateways; none known when absent. */
  links?: LinkState;
  /** The key's ServiceImport and its slices, with --mcs-api; absent, no ServiceImport is planned. */
  mcs?: ImportWorld;
}

export type Kind = 'Service' | 'EndpointSlice' | 'ServiceImport';

/** One API write. `apply` carries the observed resourceVersion as a precondition; a ServiceImport's status is its own subresource. */
export type Write =
  | { verb: 'create'; kind: Kind; object: KubeObject }
  | { verb: 'apply'; kind: Kind; object: KubeObject; subresource?: 'status' }
  /**
   * The whole object replaced (PUT), its observed resourceVersion a precondition: our own
   * EndpointSlices (a global's and a ServiceImport's), every field of which the plan says. The API
   * server writes one for about two thirds of the CPU of a server-side apply (2.1-2.6 against
   * 3.3-3.9 ms, a merge patch 2.9-3.5; docs/benchmarks.md), which under churn is the scarcest thing
   * there is. A label or annotation someone else adds to one is gone at its next update, as with
   * kube-controller-manager's EndpointSlice controller, which updates its slices the same way.
   */
  | { verb: 'update'; kind: Kind; object: KubeObject }
  /** A JSON merge patch (a list replaced whole, null removes), its resourceVersion a precondition. */
  | { verb: 'patch'; kind: Kind; namespace: string; name: string; patch: KubeObject }
  | { verb: 'delete'; kind: Kind; namespace: string; name: string; uid: string | undefined; resourceVersion: string | undefined };

export interface GlobalPlan {
  key: GlobalKey;
  globalName: string;
  writes: Write[];
  problems: Problem[];
  /** The slices could not be planned yet: the global Service (or ServiceImport) has to exist first (its uid owns them). */
  awaitingService: boolean;
  desired: DesiredGlobal | null;
}

/** `<verb> <kind> <namespace>/<name>`, for logs and the CLI. */
export function describeWrite(w: Write): string {
  const { namespace, name } = targetOf(w);
  return `${w.verb} ${w.kind}${w.verb === 'apply' && w.subresource ? `/${w.subresource}` : ''} ${namespace}/${name}`;
}

/** The namespace and name of the object a write changes. */
export function targetOf(w: Write): { namespace: string; name: string } {
  return w.verb === 'delete' || w.verb === 'patch'
    ? { namespace: w.namespace, name: w.name }
    : { namespace: w.object.metadata.namespace ?? '', name: w.object.metadata.name ?? '' };
}

function deleteOf(kind: Kind, obj: KubeObject): Write {
  const m = obj.metadata;
  return { verb: 'delete', kind, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid, resourceVersion: m.resourceVersion };
}

function labelsMatch(observed: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => observed?.[k] === v);
}

function serviceUpToDate(observed: Service, wanted: Service): boolean {
  return (
    labelsMatch(observed.metadata.labels, wanted.metadata.labels ?? {}) &&
    (observed.metadata.annotations?.[ours.gatewayDown] ?? '') === (wanted.metadata.annotations?.[ours.gatewayDown] ?? '') &&
    observed.spec?.selector === undefined &&
    (observed.spec?.publishNotReadyAddresses ?? false) === (wanted.spec?.publishNotReadyAddresses ?? false) &&
    JSON.stringify(canonicalServicePorts(observed.spec?.ports)) === JSON.stringify(canonicalServicePorts(wanted.spec?.ports))
  );
}

/**
 * What makes our global Service `observed` say what `wanted` says, as a JSON merge patch: our labels
 * and annotations (null removes one we no longer want), the ports as a whole list, headless
 * without selector. A merge patch replaces whatever the fields' owners: the Service is created
 * whole (one write), and its create's fields (an Update's, to server-side apply) could not be
 * replaced by an apply (a port number changed would be a second port of that name, which the API
 * server refuses) nor an annotation set at creation removed.
 */
function servicePatch(observed: Service, wanted: Service): KubeObject {
  const annotations: Record<string, string | null> = { ...wanted.metadata.annotations };
  if (observed.metadata.annotations?.[ours.gatewayDown] !== undefined && annotations[ours.gatewayDown] === undefined)
    annotations[ours.gatewayDown] = null;
  return {
    metadata: {
      resourceVersion: observed.metadata.resourceVersion,
      labels: wanted.metadata.labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ports: wanted.spec?.ports ?? [],
      publishNotReadyAddresses: wanted.spec?.publishNotReadyAddresses ?? false,
      ...(observed.spec?.selector !== undefined ? { selector: null } : {}),
    },
  } as unknown as KubeObject;
}

function ownerOf(service: Service): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: service.metadata.name ?? '',
    uid: service.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function ownedBy(slice: EndpointSlice, owner: OwnerReference): boolean {
  const controllers = (slice.metadata.ownerReferences ?? []).filter((r) => r.controller);
  return controllers.length === 1 && controllers[0]!.uid === owner.uid && controllers[0]!.name === owner.name;
}

/** How one run of slices (a global's, or its ServiceImport's) is labelled, named, owned and filled. */
interface SliceSet {
  owner: OwnerReference;
  labels: (group: EndpointGroup) => Record<string, string>;
  /** Stable, so a retried create can never duplicate a slice: `<prefix><n>`. */
  namePrefix: (group: EndpointGroup) => string;
  /** endpointKey → endpoint, as this set publishes the group's endpoints. */
  endpoints: (group: EndpointGroup) => ReadonlyMap<string, Endpoint>;
}

/** `<hash of the group's address type, ports and origin>`: one run of slices per group. */
function groupHash(group: EndpointGroup): string {
  return shortHash(`${group.addressType}|${group.portsKey}${group.direct ? '|direct' : ''}`, 5);
}

function planGroupSlices(world: GlobalWorld, set: SliceSet, group: EndpointGroup, existing: EndpointSlice[], maxPerSlice: number): Write[] {
  const labels = set.labels(group);
  const stale = new Set(
    existing.filter((s) => !labelsMatch(s.metadata.labels, labels) || !ownedBy(s, set.owner)).map((s) => s.metadata.name ?? ''),
  );
  const layout = packSlices({ desired: set.endpoints(group), existing, stale, maxPerSlice });
  const byName = new Map(existing.map((s) => [s.metadata.name ?? '', s]));
  const slice = (name: string, endpoints: EndpointSlice['endpoints'], resourceVersion?: string): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: world.key.namespace,
      labels,
      ownerReferences: [set.owner],
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    addressType: group.addressType,
    ports: group.ports,
    endpoints,
  });

  const writes: Write[] = layout.updates.map((u) => ({
    verb: 'update',
    kind: 'EndpointSlice',
    object: slice(u.name!, u.endpoints, byName.get(u.name!)?.metadata.resourceVersion),
  }));
  const prefix = set.namePrefix(group);
  let next = 0;
  for (const create of layout.creates) {
    while (world.sliceNameTaken(`${prefix}${next}`)) next++;
    writes.push({ verb: 'create', kind: 'EndpointSlice', object: slice(`${prefix}${next}`, create.endpoints) });
    next++;
  }
  for (const name of layout.deletes) writes.push(deleteOf('EndpointSlice', byName.get(name)!));
  return writes;
}

/**
 * The writes that make `owned` (our slices of one set) hold `groups`: one run of slices per
 * source cluster, origin, address type and port set; runs whose group is gone are deleted.
 */
function planSliceSet(
  world: GlobalWorld,
  set: SliceSet,
  groups: readonly EndpointGroup[],
  owned: readonly EndpointSlice[],
  maxPerSlice: number,
): Write[] {
  const groupId = (cluster: string | undefined, direct: boolean, addressType: string, portsKey: string) =>
    JSON.stringify([cluster, direct, addressType, portsKey]);
  const existingByGroup = new Map<string, EndpointSlice[]>();
  for (const slice of owned) {
    const labels = slice.metadata.labels;
    const id = groupId(
      labels?.[discovery.sourceCluster],
      labels?.[ours.memberOrigin] === 'direct',
      slice.addressType,
      slicePortsKey(slice.ports),
    );
    const group = existingByGroup.get(id);
    if (group) group.push(slice);
    else existingByGroup.set(id, [slice]);
  }
  const writes: Write[] = [];
  for (const group of groups) {
    const id = groupId(group.cluster, group.direct === true, group.addressType, group.portsKey);
    writes.push(...planGroupSlices(world, set, group, existingByGroup.get(id) ?? [], maxPerSlice));
    existingByGroup.delete(id);
  }
  // Slices of a cluster, address type or port set that no longer has endpoints.
  for (const leftovers of existingByGroup.values()) writes.push(...leftovers.map((s) => deleteOf('EndpointSlice', s)));
  return writes;
}

/**
 * Plans what makes the world of one global key right: the pure heart of the controller. Writes
 * only touch objects labelled ours; a Service of the global's name that is not ours is reported,
 * never changed, and none of our slices is left to feed it.
 */
export function planGlobal(world: GlobalWorld, settings: Settings): GlobalPlan {
  const plan = planGlobalService(world, settings);
  if (world.mcs) {
    // KEP-1645: a ServiceImport exists wherever a service is exported, the exporting cluster
    // included, even while it alone exports it (and so has no global).
    const exportedHere = world.mcs.exports?.some((c) => c.cluster === settings.localCluster) === true;
    const desired = plan.desired ?? (exportedHere ? computeDesired(world.key, world.members, settings, world.links, true) : null);
    planImport(world, world.mcs, plan, desired, settings);
  }
  return plan;
}

/** The global Service `<name>-global` and its slices. */
function planGlobalService(world: GlobalWorld, settings: Settings): GlobalPlan {
  const { key } = world;
  const desired = computeDesired(key, world.members, settings, world.links);
  const globalName = desired?.name ?? globalServiceName(key.name, settings.globalSuffix);
  // What Linkerd cannot mirror is told on the exported Service, and on the global where there is one.
  const exportProblems = world.exported ? unmirrorable(world.exported, settings.localCluster) : [];
  const problems = [...(desired?.problems ?? []), ...exportProblems.filter((p) => desired || p.subject.kind !== 'global')];
  const plan: GlobalPlan = { key, globalName, writes: [], problems, awaitingService: false, desired };
  const live = (o: KubeObject) => o.metadata.deletionTimestamp === undefined;
  const ownedSlices = world.ownedSlices.filter(live);
  const dropAllSlices = () => plan.writes.push(...ownedSlices.map((s) => deleteOf('EndpointSlice', s)));

  const at = world.atGlobalName;
  const ourService = at && isOurs(at) && at.metadata.labels?.[ours.globalOf] === key.name ? at : undefined;

  if (!desired) {
    // The last mirror is gone: the global goes, and every slice we made for this key with it. The
    // garbage collector would delete those the Service owns, but not before its informers have
    // caught up: after its API server came back, the soak (seed 42850920) saw one linger 20 s,
    // where CoreDNS would have served it to a global made again by that name. A delete the
    // collector won is done (the writer takes its 404 as success).
    if (ourService && live(ourService)) plan.writes.push(deleteOf('Service', ourService));
    dropAllSlices();
    return plan;
  }
  if (at && !ourService) {
    plan.problems.push({
      type: 'Warning',
      reason: 'GlobalNameTaken',
      message: `Service ${key.namespace}/${globalName} exists and is not managed by globalsvc; global ${keyString(key)} is not published. Rename or remove that Service to let globalsvc create it`,
      subject: { kind: 'Service', namespace: key.namespace, name: globalName, uid: at.metadata.uid },
    });
    dropAllSlices();
    return plan;
  }
  if (!ourService) {
    plan.writes.push({ verb: 'create', kind: 'Service', object: desired.service });
    dropAllSlices();
    plan.awaitingService = true;
    return plan;
  }
  if (!live(ourService)) {
    plan.awaitingService = true;
    return plan;
  }
  if (ourService.spec?.clusterIP !== 'None') {
    // clusterIP cannot change in place: a non-headless Service of ours is replaced.
    plan.writes.push(deleteOf('Service', ourService));
    plan.awaitingService = true;
    return plan;
  }
  if (!serviceUpToDate(ourService, desired.service))
    plan.writes.push({
      verb: 'patch',
      kind: 'Service',
      namespace: key.namespace,
      name: globalName,
      patch: servicePatch(ourService, desired.service),
    });

  const globalSlices: SliceSet = {
    owner: ownerOf(ourService),
    labels: (g) => globalSliceLabels(key, desired.name, g.cluster, g.direct),
    namePrefix: (g) => `${desired.name}-${g.cluster}-${groupHash(g)}-`,
    endpoints: (g) => g.endpoints,
  };
  plan.writes.push(...planSliceSet(world, globalSlices, desired.groups, ownedSlices, settings.maxEndpointsPerSlice));
  return plan;
}

/**
 * The key's ServiceImport and its slices (--mcs-api, src/domain/mcs.ts), beside the global: made
 * while there is a global to speak for, or while a ServiceExport here exports the name alone
 * (`desired` is then the local member's), never written over a ServiceImport that is not ours. A
 * ClusterSetIP import gets its virtual IP from a Service of its own, made after it (it owns it).
 */
function planImport(world: GlobalWorld, mcsWorld: ImportWorld, plan: GlobalPlan, desired: DesiredGlobal | null, settings: Settings): void {
  const { key } = world;
  const live = (o: KubeObject) => o.metadata.deletionTimestamp === undefined;
  const ownedSlices = mcsWorld.ownedSlices.filter(live);
  const dropAllSlices = () => plan.writes.push(...ownedSlices.map((s) => deleteOf('EndpointSlice', s)));
  const at = mcsWorld.atImportName;
  const ourImport = isOurImport(at, key) ? at : undefined;
  if (!desired) {
    // The derived Service goes with the import (the garbage collector: it is owned).
    if (ourImport && live(ourImport)) plan.writes.push(deleteOf('ServiceImport', ourImport));
    dropAllSlices();
    return;
  }
  if (at && !ourImport) {
    plan.problems.push(importNameTaken(key, at));
    dropAllSlices();
    return;
  }
  // ServiceExports decide type and ports by KEP-1645's rules (the oldest export wins); without any,
  // the members do, as they do the global's.
  const resolution = resolveExports(mcsWorld.exports ?? []);
  const type = resolution?.type ?? importType(world.members);
  const ports = resolution ? withAppProtocols(resolution.ports, importPorts(desired)) : importPorts(desired);
  if (!ourImport) {
    // Created with what a create may hold (its status is ignored there, its IPs come later); the next pass applies the rest.
    // Its labels are ours alone: a create's fields are not a later apply's to take away.
    const { metadata, spec } = desiredImport(desired, type, { ports });
    metadata.labels = globalServiceLabels(key);
    metadata.annotations = { [ours.importMetadata]: exportedMetadataHash() };
    plan.writes.push({
      verb: 'create',
      kind: 'ServiceImport',
      object: { apiVersion: mcs.apiVersion, kind: 'ServiceImport', metadata, spec } as ServiceImport,
    });
    dropAllSlices();
    plan.awaitingService = true;
    return;
  }
  if (!live(ourImport)) {
    plan.awaitingService = true;
    return;
  }

  // The derived Service: a ClusterSetIP import's, and no other's.
  const at2 = mcsWorld.atDerivedName;
  const derived = isOurDerived(at2, key, ourImport) ? at2 : undefined;
  let ips: string[] = [];
  if (type === 'ClusterSetIP') {
    const wantedDerived = desiredDerivedService(desired, ourImport, ports);
    if (at2 && !derived) {
      plan.problems.push(derivedNameTaken(key, at2));
      dropAllSlices();
      return;
    }
    if (!derived || !live(derived) || !derivedUpToDate(derived, wantedDerived)) {
      // A port set changed is a new Service (a create's ports are not the apply's to remove): the
      // virtual IP changes with it.
      if (derived && live(derived)) plan.writes.push(deleteOf('Service', derived));
      else if (!derived) plan.writes.push({ verb: 'create', kind: 'Service', object: wantedDerived });
      plan.awaitingService = true;
      return;
    }
    ips = derived.spec?.clusterIP && derived.spec.clusterIP !== 'None' ? [derived.spec.clusterIP] : [];
  } else if (derived && live(derived)) plan.writes.push(deleteOf('Service', derived));

  const wanted = desiredImport(desired, type, { ips, ports, ...(resolution ? { properties: resolution.properties } : {}) });
  const { metadata, spec, status } = wanted;
  if (!importUpToDate(ourImport, wanted))
    plan.writes.push({
      verb: 'apply',
      kind: 'ServiceImport',
      object: {
        apiVersion: wanted.apiVersion,
        kind: wanted.kind,
        metadata: { ...metadata, resourceVersion: ourImport.metadata.resourceVersion },
        spec,
      } as ServiceImport,
    });
  if (!importStatusUpToDate(ourImport, wanted))
    plan.writes.push({
      verb: 'apply',
      kind: 'ServiceImport',
      subresource: 'status',
      object: {
        apiVersion: wanted.apiVersion,
        kind: wanted.kind,
        metadata: { name: metadata.name, namespace: metadata.namespace },
        status,
      } as ServiceImport,
    });
  const derivedName = type === 'ClusterSetIP' ? derived?.metadata.name : undefined;
  // A slice made for the other type is deleted, not relabelled: its labels are its create's, which a
  // later apply cannot take away (a Headless import's slice left named for a derived Service would
  // stay in kube-proxy's rules).
  const [fitting, otherType] = partition(ownedSlices, (s) => s.metadata.labels?.[discovery.serviceName] === derivedName);
  plan.writes.push(...otherType.map((s) => deleteOf('EndpointSlice', s)));
  const importSlices: SliceSet = {
    owner: importOwner(ourImport),
    labels: (g) => importSliceLabels(key, g.cluster, g.direct, derivedName),
    namePrefix: (g) => `${key.name}-import-${g.cluster}-${groupHash(g)}-`,
    endpoints: importEndpoints,
  };
  plan.writes.push(...planSliceSet(world, importSlices, desired.groups, fitting, settings.maxEndpointsPerSlice));
}

/** Linkerd's mirrors drop appProtocol: an exported port takes it from the global's port it matches. */
function withAppProtocols(ports: readonly ServiceImportPort[], global: readonly ServiceImportPort[]): ServiceImportPort[] {
  return ports.map((p) => {
    const appProtocol = global.find((g) => g.name === p.name && g.protocol === p.protocol && g.port === p.port)?.appProtocol;
    return appProtocol ? { ...p, appProtocol } : { ...p };
  });
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
