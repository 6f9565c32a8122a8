import type {
  Endpoint,
  EndpointConditions,
  EndpointPort,
  EndpointSlice,
  KubeObject,
  ObjectMeta,
  OwnerReference,
  Service,
  ServiceExport,
  ServiceImport,
  ServicePort,
} from './k8s-types.js';
import { discovery, linkerd, mcs, ours } from './labels.js';
import { intern as internString } from '../shared.js';

// What the cache keeps of the objects it watches: exactly the fields the domain reads, the way
// client-go's informers take a transform (SetTransform) to hold less. At 10,000 globals a cluster
// has ~40,000 Services and ~60,000 EndpointSlices in the cache; whole objects (status,
// timestamps, last-applied annotations, nodePorts, ...) cost several times what the planner
// needs. projection.test.ts plans over whole and projected worlds and expects the same plan:
// a field read by the domain but dropped here fails it.

export const SERVICE_LABELS = [
  linkerd.mirroredService,
  linkerd.clusterName,
  linkerd.headlessMirrorServiceName,
  linkerd.remoteDiscovery,
  linkerd.exported,
  ours.appManagedByLabel,
  ours.globalOf,
  ours.exclude,
  ours.derivedFor,
];
export const SERVICE_ANNOTATIONS = [
  linkerd.remoteServiceFqName,
  ours.exclude,
  ours.gatewayDown,
  ours.exportedAt,
  ours.exportType,
  ours.exportProperties,
];
export const SLICE_LABELS = [
  discovery.serviceName,
  discovery.managedBy,
  discovery.sourceCluster,
  ours.globalOf,
  ours.appManagedByLabel,
  ours.memberOrigin,
  mcs.serviceName,
];

/**
 * Values that repeat across tens of thousands of objects (namespaces, cluster names, label values,
 * protocols, zones) kept once, in V8's string table (src/shared.ts). Optional fields pass through.
 */
const intern = <S extends string | undefined>(value: S): S => (value === undefined ? value : (internString(value) as S));

function pick(from: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> | undefined {
  if (!from) return undefined;
  let out: Record<string, string> | undefined;
  for (const key of keys) {
    const value = from[key];
    if (value !== undefined) (out ??= {})[key] = intern(value);
  }
  return out;
}

function projectMeta(
  m: ObjectMeta,
  labels: readonly string[],
  annotations: readonly string[],
  owners: OwnerReference[] | undefined,
): ObjectMeta {
  const out: ObjectMeta = { name: m.name, namespace: intern(m.namespace), uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.deletionTimestamp !== undefined) out.deletionTimestamp = m.deletionTimestamp;
  const l = pick(m.labels, labels);
  if (l) out.labels = l;
  const a = pick(m.annotations, annotations);
  if (a) out.annotations = a;
  if (owners) out.ownerReferences = owners;
  return out;
}

function projectServicePort(p: ServicePort): ServicePort {
  const out: ServicePort = { name: intern(p.name), protocol: intern(p.protocol), port: p.port };
  if (p.targetPort !== undefined) out.targetPort = typeof p.targetPort === 'string' ? intern(p.targetPort) : p.targetPort;
  if (p.appProtocol !== undefined) out.appProtocol = intern(p.appProtocol);
  return out;
}

const EMPTY_SELECTOR: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A Service as the domain reads it: its identity, the labels and annotations that classify it, type, clusterIP, selector and ports. */
export function projectService(service: Service): Service {
  // A ServiceImport's derived Service is ours by its controller owner: keep that one's.
  const owners = service.metadata.labels?.[ours.derivedFor] !== undefined ? controllerOwners(service) : undefined;
  const out: Service = { metadata: projectMeta(service.metadata, SERVICE_LABELS, SERVICE_ANNOTATIONS, owners) };
  const spec = service.spec;
  if (spec) {
    out.spec = {};
    if (spec.type !== undefined) out.spec.type = intern(spec.type);
    // Headless is the one clusterIP shared by many (every global): keep the literal, not a copy each.
    if (spec.clusterIP !== undefined) out.spec.clusterIP = spec.clusterIP === 'None' ? 'None' : spec.clusterIP;
    // Only whether a global of ours has a selector matters; nobody reads what it selects.
    if (spec.selector !== undefined) out.spec.selector = EMPTY_SELECTOR;
    if (spec.ports) out.spec.ports = spec.ports.map(projectServicePort);
    if (spec.publishNotReadyAddresses) out.spec.publishNotReadyAddresses = true;
    // What a ServiceExport carries to the clusterset, kept where it is not the default (service-export.ts).
    if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None') {
      out.spec.sessionAffinity = intern(spec.sessionAffinity);
      if (spec.sessionAffinityConfig) out.spec.sessionAffinityConfig = structuredClone(spec.sessionAffinityConfig);
    }
    if (spec.internalTrafficPolicy !== undefined && spec.internalTrafficPolicy !== 'Cluster')
      out.spec.internalTrafficPolicy = intern(spec.internalTrafficPolicy);
    if (spec.trafficDistribution !== undefined) out.spec.trafficDistribution = intern(spec.trafficDistribution);
  }
  return out;
}

/** A ServiceImport as the planner reads it (--mcs-api): identity, our labels, type, ports, IPs and the clusters of its status. */
export function projectServiceImport(imp: ServiceImport): ServiceImport {
  const out: ServiceImport = {
    metadata: projectMeta(imp.metadata, [ours.appManagedByLabel, ours.globalOf], [mcs.derivedService, ours.importMetadata], undefined),
  };
  if (imp.spec) {
    out.spec = { ...(imp.spec.type ? { type: imp.spec.type } : {}), ports: (imp.spec.ports ?? []).map(projectServicePort) };
    if (imp.spec.ips?.length) out.spec.ips = [...imp.spec.ips];
    if (imp.spec.ipFamilies?.length) out.spec.ipFamilies = [...imp.spec.ipFamilies];
    for (const field of ['sessionAffinity', 'internalTrafficPolicy', 'trafficDistribution'] as const)
      if (imp.spec[field] !== undefined) out.spec[field] = intern(imp.spec[field]);
    if (imp.spec.sessionAffinityConfig) out.spec.sessionAffinityConfig = structuredClone(imp.spec.sessionAffinityConfig);
  }
  if (imp.status?.clusters) out.status = { clusters: imp.status.clusters.map((c) => ({ cluster: intern(c.cluster) })) };
  return out;
}

/** A ServiceExport as the export planner reads it: identity, generation, creationTimestamp (the export's time) and its conditions. */
export function projectServiceExport(exp: ServiceExport): ServiceExport {
  const m = exp.metadata;
  const metadata = projectMeta(m, [], [], undefined);
  if (m.generation !== undefined) metadata.generation = m.generation;
  if (m.creationTimestamp !== undefined) metadata.creationTimestamp = m.creationTimestamp;
  const out: ServiceExport = { metadata };
  if (exp.spec?.exportedLabels || exp.spec?.exportedAnnotations) out.spec = structuredClone(exp.spec);
  if (exp.status?.conditions) out.status = { conditions: exp.status.conditions.map((c) => ({ ...c })) };
  return out;
}

/** Conditions are one of 27 combinations: every endpoint shares its combination's frozen object. */
const conditionsPool = new Map<string, EndpointConditions>();
export function projectConditions(c: EndpointConditions | undefined): EndpointConditions | undefined {
  if (c === undefined) return undefined;
  const id = `${c.ready}|${c.serving}|${c.terminating}`;
  let shared = conditionsPool.get(id);
  if (!shared) {
    const fresh: EndpointConditions = {};
    if (c.ready !== undefined) fresh.ready = c.ready;
    if (c.serving !== undefined) fresh.serving = c.serving;
    if (c.terminating !== undefined) fresh.terminating = c.terminating;
    shared = Object.freeze(fresh);
    conditionsPool.set(id, shared);
  }
  return shared;
}

function projectEndpoint(e: Endpoint): Endpoint {
  const out: Endpoint = { addresses: e.addresses.length === 1 ? [e.addresses[0]!] : [...e.addresses] };
  const conditions = projectConditions(e.conditions);
  if (conditions) out.conditions = conditions;
  if (e.hostname !== undefined) out.hostname = e.hostname;
  if (e.zone !== undefined) out.zone = intern(e.zone);
  if (e.nodeName !== undefined) out.nodeName = intern(e.nodeName);
  const ref = e.targetRef;
  if (ref?.name) out.targetRef = { kind: intern(ref.kind), namespace: intern(ref.namespace), name: ref.name, uid: ref.uid };
  return out;
}

function projectEndpointPort(p: EndpointPort): EndpointPort {
  const out: EndpointPort = {};
  if (p.name !== undefined) out.name = intern(p.name);
  if (p.protocol !== undefined) out.protocol = intern(p.protocol);
  if (p.port !== undefined) out.port = p.port;
  if (p.appProtocol !== undefined) out.appProtocol = intern(p.appProtocol);
  return out;
}

/** Only our own slices' owners are read (is the global its controller?). */
function controllerOwners(obj: KubeObject): OwnerReference[] | undefined {
  const refs = obj.metadata.ownerReferences?.filter((r) => r.controller);
  if (!refs?.length) return undefined;
  return refs.map((r) => ({ apiVersion: intern(r.apiVersion), kind: intern(r.kind), name: r.name, uid: r.uid, controller: true }));
}

/** An EndpointSlice as the domain reads it: identity, the labels that place it, address type, ports and endpoints. */
export function projectSlice(slice: EndpointSlice): EndpointSlice {
  return {
    metadata: projectMeta(
      slice.metadata,
      SLICE_LABELS,
      [],
      slice.metadata.labels?.[discovery.managedBy] === ours.sliceManager ? controllerOwners(slice) : undefined,
    ),
    addressType: intern(slice.addressType),
    ports: slice.ports ? slice.ports.map(projectEndpointPort) : slice.ports,
    endpoints: slice.endpoints ? slice.endpoints.map(projectEndpoint) : slice.endpoints,
  };
}

/** What the cache keeps of an object the domain reads whole (a BurstPolicy): all but managedFields, never read and often larger than the rest. */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if ((object.metadata as { managedFields?: unknown }).managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata as ObjectMeta & { managedFields?: unknown };
  return { ...object, metadata };
}
