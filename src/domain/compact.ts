import type { Endpoint, EndpointPort, EndpointSlice, KubeObject, ObjectMeta, OwnerReference, Service, ServicePort } from './k8s-types.js';
import { projectConditions, SERVICE_ANNOTATIONS, SERVICE_LABELS, SLICE_LABELS } from './projection.js';

// How the cache stores the Services and EndpointSlices it holds by the tens of thousands: each
// projected object (projection.ts) as one string of JSON tuples, its identity first. As objects, a
// member slice of 4 endpoints costs about 1,200 bytes of heap (some twenty JS objects, arrays and
// strings); packed, one string of 230 characters (bench/heap-model.ts measures the whole index). A
// reconcile reads a handful of objects, each parsed back when read: the planner sees exactly the
// projected object (compact.test.ts: unpack(pack(o)) equals o for any Service or slice).
//
// In the tuples an absent field is `null` (JSON turns an undefined array element into null) and
// trailing absent fields are cut (a list that is null, not absent, stays null); labels and
// annotations are positional over the projection's lists; an endpoint's conditions are one number
// of their 27 combinations.

/**
 * One object packed: a JSON tuple of its uid, its resourceVersion and the fields below, made by
 * one JSON.stringify so that it is one flat string (a template literal joining the parts would
 * keep them as a rope, each part and each join an object of its own).
 */
function withIdentity(meta: ObjectMeta, body: Json[]): string {
  return JSON.stringify([meta.uid ?? null, meta.resourceVersion ?? null, ...body]);
}

/** A packed object parsed: its identity, and the fields after it. */
function parse(p: unknown): { identity: { uid?: string; resourceVersion?: string }; fields: Json[] } {
  const [uid, resourceVersion, ...fields] = JSON.parse(p as string) as Json[];
  const identity: { uid?: string; resourceVersion?: string } = {};
  if (typeof uid === 'string') identity.uid = uid;
  if (typeof resourceVersion === 'string') identity.resourceVersion = resourceVersion;
  return { identity, fields };
}

/** What both packed codecs read off the string's head. */
const packedIdentity = {
  uid: (p: unknown) => identity(p as string, 0),
  resourceVersion: (p: unknown) => identity(p as string, 1),
};

/** The uid (0) or resourceVersion (1) of a packed object, read without parsing the rest. */
function identity(p: string, field: 0 | 1): string | undefined {
  let at = 1;
  for (let i = 0; ; i++) {
    let value: string | undefined;
    if (p.startsWith('null', at)) at += 4;
    else {
      const end = p.indexOf('"', at + 1);
      value = p.slice(at + 1, end);
      // An escaped character (never in a uid or an etcd revision): let JSON read it.
      if (value.includes('\\')) return (JSON.parse(p) as (string | null)[])[field] ?? undefined;
      at = end + 1;
    }
    if (i === field) return value;
    at++; // the comma
  }
}

/** How a store keeps its objects: as they are, or packed. */
export interface StoreCodec<T extends KubeObject> {
  pack(object: T): unknown;
  /** The object back, given the store's `namespace/name` key. */
  unpack(packed: unknown, key: string): T;
  uid(packed: unknown): string | undefined;
  resourceVersion(packed: unknown): string | undefined;
}

/** Objects kept as they are: policies, workloads, ServiceImports and ServiceExports. */
export const asObjects: StoreCodec<KubeObject> = {
  pack: (object) => object,
  unpack: (packed) => packed as KubeObject,
  uid: (packed) => (packed as KubeObject).metadata.uid,
  resourceVersion: (packed) => (packed as KubeObject).metadata.resourceVersion,
};

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A tuple with its trailing absent (undefined) fields cut; an absent field before a present one becomes null. */
function tuple(...fields: unknown[]): Json[] {
  let end = fields.length;
  while (end > 0 && fields[end - 1] === undefined) end--;
  return fields.slice(0, end).map((f) => (f === undefined ? null : f)) as Json[];
}

const present = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

/** Labels or annotations by their position in the projection's list; any other key (an unprojected object) keeps the map. */
function packMap(map: Record<string, string> | undefined, keys: readonly string[]): Json | undefined {
  if (map === undefined) return undefined;
  if (Object.keys(map).some((k) => !keys.includes(k))) return map;
  return tuple(...keys.map((k) => map[k]));
}

function unpackMap(packed: Json | undefined, keys: readonly string[]): Record<string, string> | undefined {
  if (!present(packed)) return undefined;
  if (!Array.isArray(packed)) return packed as Record<string, string>;
  const out: Record<string, string> = {};
  packed.forEach((v, i) => {
    if (typeof v === 'string') out[keys[i]!] = v;
  });
  return out;
}

/**
 * The owner our own slices have, a Service that controls them (as projection.ts keeps it), packed as
 * its name and uid: 56 characters instead of 112, on each of 30,000 slices at 10,000 globals. Any
 * other reference is kept as it is (an object, told apart from the tuple).
 */
function packOwner(r: OwnerReference): Json {
  const serviceController =
    r.apiVersion === 'v1' &&
    r.kind === 'Service' &&
    r.controller === true &&
    typeof r.name === 'string' &&
    typeof r.uid === 'string' &&
    Object.keys(r).length === 5;
  return serviceController ? [r.name, r.uid] : (r as unknown as Json);
}

function unpackOwner(p: Json): OwnerReference {
  if (!Array.isArray(p)) return p as unknown as OwnerReference;
  const [name, uid] = p as string[];
  return { apiVersion: 'v1', kind: 'Service', name: name!, uid: uid!, controller: true };
}

function packMeta(m: ObjectMeta, labels: readonly string[], annotations: readonly string[]): Json[] {
  const { name: _n, namespace: _ns, uid: _u, resourceVersion: _rv, deletionTimestamp, ownerReferences, ...rest } = m;
  const { labels: l, annotations: a, ...other } = rest;
  return tuple(
    deletionTimestamp,
    packMap(l, labels),
    packMap(a, annotations),
    ownerReferences?.map(packOwner),
    Object.keys(other).length ? other : undefined,
  );
}

function unpackMeta(
  p: Json[],
  key: string,
  item: { uid?: string; resourceVersion?: string },
  labels: readonly string[],
  annotations: readonly string[],
): ObjectMeta {
  const slash = key.indexOf('/');
  const m: ObjectMeta = { name: key.slice(slash + 1) };
  if (slash > 0) m.namespace = key.slice(0, slash);
  if (item.uid !== undefined) m.uid = item.uid;
  if (item.resourceVersion !== undefined) m.resourceVersion = item.resourceVersion;
  const [deletionTimestamp, l, a, owners, other] = p;
  if (present(other)) Object.assign(m, other);
  if (present(deletionTimestamp)) m.deletionTimestamp = deletionTimestamp as string;
  const lm = unpackMap(l, labels);
  if (lm) m.labels = lm;
  const am = unpackMap(a, annotations);
  if (am) m.annotations = am;
  if (present(owners)) m.ownerReferences = (owners as Json[]).map(unpackOwner);
  return m;
}

/** ready, serving, terminating: each unset, true or false. */
const TRI = [undefined, true, false] as const;
const tri = (b: boolean | undefined) => (b === undefined ? 0 : b ? 1 : 2);

function packEndpoint(e: Endpoint): Json[] {
  const c = e.conditions;
  const conditions = c === undefined ? 0 : 1 + tri(c.ready) * 9 + tri(c.serving) * 3 + tri(c.terminating);
  const r = e.targetRef;
  return tuple(
    e.addresses.length === 1 ? e.addresses[0] : e.addresses,
    conditions,
    e.hostname,
    e.zone,
    e.nodeName,
    r ? tuple(r.name, r.kind, r.namespace, r.uid) : undefined,
  );
}

function unpackEndpoint(p: Json[]): Endpoint {
  const [addresses, conditions, hostname, zone, nodeName, ref] = p;
  const e: Endpoint = { addresses: typeof addresses === 'string' ? [addresses] : (addresses as string[]) };
  if (typeof conditions === 'number' && conditions > 0) {
    const n = conditions - 1;
    e.conditions = projectConditions({ ready: TRI[Math.floor(n / 9)], serving: TRI[Math.floor(n / 3) % 3], terminating: TRI[n % 3] });
  }
  if (present(hostname)) e.hostname = hostname as string;
  if (present(zone)) e.zone = zone as string;
  if (present(nodeName)) e.nodeName = nodeName as string;
  if (Array.isArray(ref)) {
    const [name, kind, namespace, uid] = ref as (string | null)[];
    e.targetRef = { kind: kind ?? undefined, namespace: namespace ?? undefined, name: name ?? undefined, uid: uid ?? undefined };
  }
  return e;
}

const packSlicePort = (p: EndpointPort): Json[] => tuple(p.port, p.name, p.protocol, p.appProtocol);

function unpackSlicePort(p: Json[]): EndpointPort {
  const [port, name, protocol, appProtocol] = p;
  const out: EndpointPort = {};
  if (present(name)) out.name = name as string;
  if (present(protocol)) out.protocol = protocol as string;
  if (present(port)) out.port = port as number;
  if (present(appProtocol)) out.appProtocol = appProtocol as string;
  return out;
}

/** The missing list (undefined) is told from the empty or null one. */
const packList = <T>(list: T[] | null | undefined, each: (item: T) => Json[]): Json =>
  list === undefined ? 0 : list === null ? null : list.map(each);
const unpackList = <T>(p: Json | undefined, each: (item: Json[]) => T): T[] | null | undefined =>
  p === 0 || p === undefined ? undefined : p === null ? null : (p as Json[][]).map(each);

export const compactSlices: StoreCodec<EndpointSlice> = {
  pack(slice) {
    const { metadata, addressType, ports, endpoints, ...rest } = slice;
    const other = Object.keys(rest).length ? rest : undefined;
    const body = tuple(
      packMeta(metadata, SLICE_LABELS, []),
      addressType,
      packList(ports, packSlicePort),
      packList(endpoints, packEndpoint),
      other,
    );
    return withIdentity(metadata, body);
  },
  unpack(packed, key) {
    const {
      identity: item,
      fields: [meta, addressType, ports, endpoints, other],
    } = parse(packed);
    const slice: EndpointSlice = {
      ...(present(other) ? (other as object) : {}),
      metadata: unpackMeta(meta as Json[], key, item, SLICE_LABELS, []),
      addressType: addressType as string,
      ports: unpackList(ports, unpackSlicePort),
      endpoints: unpackList(endpoints, unpackEndpoint),
    };
    return slice;
  },
  ...packedIdentity,
};

const packServicePort = (p: ServicePort): Json[] => tuple(p.port, p.name, p.protocol, p.targetPort, p.appProtocol, p.nodePort);

function unpackServicePort(p: Json[]): ServicePort {
  const [port, name, protocol, targetPort, appProtocol, nodePort] = p;
  const out: ServicePort = { port: port as number };
  if (present(name)) out.name = name as string;
  if (present(protocol)) out.protocol = protocol as string;
  if (present(targetPort)) out.targetPort = targetPort as number | string;
  if (present(appProtocol)) out.appProtocol = appProtocol as string;
  if (present(nodePort)) out.nodePort = nodePort as number;
  return out;
}

export const compactServices: StoreCodec<Service> = {
  pack(service) {
    const { metadata, spec, ...rest } = service;
    const other = Object.keys(rest).length ? rest : undefined;
    let packedSpec: Json | undefined;
    if (spec) {
      const { ports, ...fields } = spec;
      packedSpec = tuple(Object.keys(fields).length ? (fields as Json) : undefined, packList(ports, packServicePort));
    }
    const body = tuple(packMeta(metadata, SERVICE_LABELS, SERVICE_ANNOTATIONS), packedSpec, other);
    return withIdentity(metadata, body);
  },
  unpack(packed, key) {
    const {
      identity: item,
      fields: [meta, spec, other],
    } = parse(packed);
    const service: Service = {
      ...(present(other) ? (other as object) : {}),
      metadata: unpackMeta(meta as Json[], key, item, SERVICE_LABELS, SERVICE_ANNOTATIONS),
    };
    if (Array.isArray(spec)) {
      const [fields, ports] = spec;
      service.spec = { ...(present(fields) ? (fields as object) : {}) };
      const list = unpackList(ports, unpackServicePort);
      if (list !== undefined) service.spec.ports = list as ServicePort[];
    }
    return service;
  },
  ...packedIdentity,
};
