import type { Endpoint, EndpointPort, EndpointSlice, KubeObject, ObjectMeta, OwnerReference, Service, ServicePort } from './k8s-types.js';
import { discovery, linkerd, ours } from './labels.js';
import { projectConditions, SERVICE_ANNOTATIONS, SERVICE_LABELS, SLICE_LABELS } from './projection.js';
import {
  RecordReader,
  record,
  writeAddresses,
  writeByte,
  writeIdentity,
  writeJson,
  writeNumber,
  writeText,
  writeUint,
} from './record-bytes.js';

// How the cache stores the Services and EndpointSlices it holds by the tens of thousands: each
// projected object (projection.ts) as one string of its fields' bytes (record-bytes.ts), its
// identity first. As objects, a member slice of 4 endpoints costs about 1,200 bytes of heap (some
// twenty JS objects, arrays and strings); as JSON tuples 230 characters; as bytes 95
// (bench/heap-model.ts measures the whole index). A reconcile reads a handful of objects, each read
// back when read: the planner sees exactly the projected object (compact.test.ts: unpack(pack(o))
// equals o for any Service or slice).
//
// Each record is a sequence of fields, an optional one announced by a bit in a mask before it;
// labels and annotations are positional over the projection's lists; an endpoint's conditions are
// one number of their 27 combinations; what the projection does not know (an unprojected object's
// other fields) is kept as JSON text.

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

/** Label values from a small set (managers, cluster names, flags): written as words (record-bytes.ts). */
const WORD_LABELS: ReadonlySet<string> = new Set([
  discovery.managedBy,
  discovery.sourceCluster,
  ours.appManagedByLabel,
  ours.memberOrigin,
  ours.exclude,
  linkerd.mirroredService,
  linkerd.clusterName,
  linkerd.remoteDiscovery,
  linkerd.exported,
]);

/** The bits of a mask, one per optional field, in the order the fields follow it. */
const bit = (present: boolean, n: number) => (present ? 1 << n : 0);

/** Labels or annotations by their position in the projection's list: a mask of those present, then their values. */
function writeMap(map: Record<string, string>, keys: readonly string[]): void {
  let mask = 0;
  keys.forEach((k, i) => (mask += bit(map[k] !== undefined, i)));
  writeUint(mask);
  keys.forEach((k) => map[k] !== undefined && writeText(map[k], WORD_LABELS.has(k)));
}

function readMap(r: RecordReader, keys: readonly string[]): Record<string, string> {
  const mask = r.uint();
  const out: Record<string, string> = {};
  keys.forEach((k, i) => {
    if (mask & (1 << i)) out[k] = r.text();
  });
  return out;
}

/** A map the projection's list covers is written by position; any other (an unprojected object's) as JSON. */
const positional = (map: Record<string, string>, keys: readonly string[]) => Object.keys(map).every((k) => keys.includes(k));

/**
 * The owner our own slices have, a Service that controls them (as projection.ts keeps it), written
 * as its name and uid. Any other reference is kept as JSON.
 */
const isServiceController = (r: OwnerReference) =>
  r.apiVersion === 'v1' &&
  r.kind === 'Service' &&
  r.controller === true &&
  typeof r.name === 'string' &&
  typeof r.uid === 'string' &&
  Object.keys(r).length === 5;

function writeMeta(m: ObjectMeta, labels: readonly string[], annotations: readonly string[]): void {
  const { name: _n, namespace: _ns, uid: _u, resourceVersion: _rv, deletionTimestamp, ownerReferences, ...rest } = m;
  const { labels: l, annotations: a, ...other } = rest;
  const hasOther = Object.keys(other).length > 0;
  const lPositional = l !== undefined && positional(l, labels);
  const aPositional = a !== undefined && positional(a, annotations);
  writeUint(
    bit(deletionTimestamp !== undefined, 0) +
      bit(lPositional, 1) +
      bit(l !== undefined && !lPositional, 2) +
      bit(aPositional, 3) +
      bit(a !== undefined && !aPositional, 4) +
      bit(ownerReferences !== undefined, 5) +
      bit(hasOther, 6),
  );
  if (deletionTimestamp !== undefined) writeText(deletionTimestamp);
  if (lPositional) writeMap(l, labels);
  else if (l !== undefined) writeJson(l);
  if (aPositional) writeMap(a, annotations);
  else if (a !== undefined) writeJson(a);
  if (ownerReferences !== undefined) {
    writeUint(ownerReferences.length);
    for (const r of ownerReferences) {
      if (isServiceController(r)) {
        writeByte(0);
        writeText(r.name!);
        writeIdentity(r.uid);
      } else {
        writeByte(1);
        writeJson(r);
      }
    }
  }
  if (hasOther) writeJson(other);
}

function readMeta(r: RecordReader, key: string, labels: readonly string[], annotations: readonly string[]): ObjectMeta {
  const uid = r.identity();
  const resourceVersion = r.identity();
  const slash = key.indexOf('/');
  const m: ObjectMeta = { name: key.slice(slash + 1) };
  if (slash > 0) m.namespace = key.slice(0, slash);
  if (uid !== undefined) m.uid = uid;
  if (resourceVersion !== undefined) m.resourceVersion = resourceVersion;
  const mask = r.uint();
  const deletionTimestamp = mask & 1 ? r.text() : undefined;
  const l = mask & 2 ? readMap(r, labels) : mask & 4 ? (r.json() as Record<string, string>) : undefined;
  const a = mask & 8 ? readMap(r, annotations) : mask & 16 ? (r.json() as Record<string, string>) : undefined;
  let owners: OwnerReference[] | undefined;
  if (mask & 32) {
    owners = [];
    for (let n = r.uint(); n > 0; n--)
      owners.push(
        r.byte() === 0
          ? { apiVersion: 'v1', kind: 'Service', name: r.text(), uid: r.identity()!, controller: true }
          : (r.json() as OwnerReference),
      );
  }
  if (mask & 64) Object.assign(m, r.json());
  if (deletionTimestamp !== undefined) m.deletionTimestamp = deletionTimestamp;
  if (l) m.labels = l;
  if (a) m.annotations = a;
  if (owners) m.ownerReferences = owners;
  return m;
}

/** A list: absent, null, or its items. */
function writeList<T>(list: readonly T[] | null | undefined, each: (item: T) => void): void {
  if (list === undefined) return writeUint(0);
  if (list === null) return writeUint(1);
  writeUint(list.length + 2);
  list.forEach(each);
}

function readList<T>(r: RecordReader, each: () => T): T[] | null | undefined {
  const head = r.uint();
  if (head === 0) return undefined;
  if (head === 1) return null;
  const out: T[] = [];
  for (let n = head - 2; n > 0; n--) out.push(each());
  return out;
}

/** ready, serving, terminating: each unset, true or false. */
const TRI = [undefined, true, false] as const;
const tri = (b: boolean | undefined) => (b === undefined ? 0 : b ? 1 : 2);

function writeEndpoint(e: Endpoint): void {
  const c = e.conditions;
  const ref = e.targetRef;
  writeAddresses(e.addresses);
  writeByte(c === undefined ? 0 : 1 + tri(c.ready) * 9 + tri(c.serving) * 3 + tri(c.terminating));
  writeByte(bit(e.hostname !== undefined, 0) + bit(e.zone !== undefined, 1) + bit(e.nodeName !== undefined, 2) + bit(ref !== undefined, 3));
  if (e.hostname !== undefined) writeText(e.hostname);
  if (e.zone !== undefined) writeText(e.zone, true);
  if (e.nodeName !== undefined) writeText(e.nodeName, true);
  if (ref !== undefined) {
    writeByte(
      bit(ref.name !== undefined, 0) + bit(ref.kind !== undefined, 1) + bit(ref.namespace !== undefined, 2) + bit(ref.uid !== undefined, 3),
    );
    if (ref.name !== undefined) writeText(ref.name);
    if (ref.kind !== undefined) writeText(ref.kind, true);
    if (ref.namespace !== undefined) writeText(ref.namespace, true);
    if (ref.uid !== undefined) writeIdentity(ref.uid);
  }
}

function readEndpoint(r: RecordReader): Endpoint {
  const e: Endpoint = { addresses: r.addresses() };
  const conditions = r.byte();
  if (conditions > 0) {
    const n = conditions - 1;
    e.conditions = projectConditions({ ready: TRI[Math.floor(n / 9)], serving: TRI[Math.floor(n / 3) % 3], terminating: TRI[n % 3] });
  }
  const mask = r.byte();
  if (mask & 1) e.hostname = r.text();
  if (mask & 2) e.zone = r.text();
  if (mask & 4) e.nodeName = r.text();
  if (mask & 8) {
    const refMask = r.byte();
    const name = refMask & 1 ? r.text() : undefined;
    const kind = refMask & 2 ? r.text() : undefined;
    const namespace = refMask & 4 ? r.text() : undefined;
    const uid = refMask & 8 ? r.identity() : undefined;
    e.targetRef = { kind, namespace, name, uid };
  }
  return e;
}

function writeSlicePort(p: EndpointPort): void {
  writeByte(
    bit(p.port !== undefined, 0) + bit(p.name !== undefined, 1) + bit(p.protocol !== undefined, 2) + bit(p.appProtocol !== undefined, 3),
  );
  if (p.port !== undefined) writeNumber(p.port);
  if (p.name !== undefined) writeText(p.name, true);
  if (p.protocol !== undefined) writeText(p.protocol, true);
  if (p.appProtocol !== undefined) writeText(p.appProtocol, true);
}

function readSlicePort(r: RecordReader): EndpointPort {
  const mask = r.byte();
  const out: EndpointPort = {};
  if (mask & 1) out.port = r.number();
  if (mask & 2) out.name = r.text();
  if (mask & 4) out.protocol = r.text();
  if (mask & 8) out.appProtocol = r.text();
  return out;
}

/** What both packed codecs read off the record's head, without reading the rest. */
const packedIdentity = {
  uid: (p: unknown) => new RecordReader(p as string).identity(),
  resourceVersion: (p: unknown) => {
    const r = new RecordReader(p as string);
    r.identity();
    return r.identity();
  },
};

export const compactSlices: StoreCodec<EndpointSlice> = {
  pack(slice) {
    const { metadata, addressType, ports, endpoints, ...rest } = slice;
    const hasOther = Object.keys(rest).length > 0;
    return record(() => {
      writeIdentity(metadata.uid);
      writeIdentity(metadata.resourceVersion);
      writeMeta(metadata, SLICE_LABELS, []);
      writeByte(bit(addressType !== undefined, 0) + bit(hasOther, 1));
      if (addressType !== undefined) writeText(addressType, true);
      writeList(ports, writeSlicePort);
      writeList(endpoints, writeEndpoint);
      if (hasOther) writeJson(rest);
    });
  },
  unpack(packed, key) {
    const r = new RecordReader(packed as string);
    const metadata = readMeta(r, key, SLICE_LABELS, []);
    const mask = r.byte();
    const addressType = (mask & 1 ? r.text() : undefined) as string;
    const ports = readList(r, () => readSlicePort(r));
    const endpoints = readList(r, () => readEndpoint(r));
    const other = mask & 2 ? (r.json() as object) : {};
    return { ...other, metadata, addressType, ports, endpoints };
  },
  ...packedIdentity,
};

function writeServicePort(p: ServicePort): void {
  const target = p.targetPort;
  writeByte(
    bit(p.port !== undefined, 0) +
      bit(p.name !== undefined, 1) +
      bit(p.protocol !== undefined, 2) +
      bit(typeof target === 'number', 3) +
      bit(typeof target === 'string', 4) +
      bit(p.appProtocol !== undefined, 5) +
      bit(p.nodePort !== undefined, 6),
  );
  if (p.port !== undefined) writeNumber(p.port);
  if (p.name !== undefined) writeText(p.name, true);
  if (p.protocol !== undefined) writeText(p.protocol, true);
  if (typeof target === 'number') writeNumber(target);
  if (typeof target === 'string') writeText(target, true);
  if (p.appProtocol !== undefined) writeText(p.appProtocol, true);
  if (p.nodePort !== undefined) writeNumber(p.nodePort);
}

function readServicePort(r: RecordReader): ServicePort {
  const mask = r.byte();
  const out: ServicePort = { port: (mask & 1 ? r.number() : undefined) as number };
  if (mask & 2) out.name = r.text();
  if (mask & 4) out.protocol = r.text();
  if (mask & 8) out.targetPort = r.number();
  if (mask & 16) out.targetPort = r.text();
  if (mask & 32) out.appProtocol = r.text();
  if (mask & 64) out.nodePort = r.number();
  return out;
}

export const compactServices: StoreCodec<Service> = {
  pack(service) {
    const { metadata, spec, ...rest } = service;
    const hasOther = Object.keys(rest).length > 0;
    return record(() => {
      writeIdentity(metadata.uid);
      writeIdentity(metadata.resourceVersion);
      writeMeta(metadata, SERVICE_LABELS, SERVICE_ANNOTATIONS);
      writeByte(bit(spec !== undefined, 0) + bit(hasOther, 1));
      if (spec) {
        const { clusterIP, ports, ...fields } = spec;
        const hasFields = Object.keys(fields).length > 0;
        writeByte(bit(clusterIP !== undefined, 0) + bit(hasFields, 1));
        // Headless is the clusterIP of every global: a word. Any other is one Service's own.
        if (clusterIP !== undefined) writeText(clusterIP, clusterIP === 'None');
        if (hasFields) writeJson(fields);
        writeList(ports, writeServicePort);
      }
      if (hasOther) writeJson(rest);
    });
  },
  unpack(packed, key) {
    const r = new RecordReader(packed as string);
    const metadata = readMeta(r, key, SERVICE_LABELS, SERVICE_ANNOTATIONS);
    const mask = r.byte();
    let spec: Service['spec'];
    if (mask & 1) {
      const specMask = r.byte();
      const clusterIP = specMask & 1 ? r.text() : undefined;
      spec = specMask & 2 ? (r.json() as NonNullable<Service['spec']>) : {};
      if (clusterIP !== undefined) spec.clusterIP = clusterIP;
      const ports = readList(r, () => readServicePort(r));
      if (ports !== undefined) spec.ports = ports as ServicePort[];
    }
    const service: Service = { ...(mask & 2 ? (r.json() as object) : {}), metadata };
    if (spec) service.spec = spec;
    return service;
  },
  ...packedIdentity,
};
