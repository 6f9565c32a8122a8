import type { EndpointSlice, KubeObject, Service, ServiceExport, ServiceImport } from '../domain/k8s-types.js';
import { discovery, linkerd, mcs, ours } from '../domain/labels.js';
import { podsOfHeadlessMirror, type EndpointMirror } from '../domain/headless-mirror.js';
import type { Classification, GlobalKey } from '../domain/members.js';
import { classifyLocal, classifyMirror, isExported, isMirror, isOurs, keyString, parseKey } from '../domain/members.js';
import { NO_LINK_STATE, type LinkState, type MemberView } from '../domain/desired.js';
import type { GlobalWorld, Kind } from '../domain/plan.js';
import { globalServiceName } from '../domain/naming.js';
import type { ResourceEvent } from '../cluster/watch-stream.js';
import type { Change } from './object-store.js';
import { ObjectStore } from './object-store.js';
import { KeyedSets } from './keyed-sets.js';
import { DirectMembers } from './direct-members.js';
import { projectService, projectServiceExport, projectServiceImport, projectSlice } from '../domain/projection.js';
import { claimOfLocal, claimOfMember, type ExportClaim } from '../domain/service-export.js';
import { derivedServiceName, isImportSlice, mcsMembers } from '../domain/mcs.js';
import { intern, objectKey } from '../shared.js';
import { compactServices, compactSlices } from '../domain/compact.js';

export interface IndexSettings {
  localCluster: string;
  globalSuffix: string;
  includeLocal: boolean;
  /** Direct members are read from linked clusters (--remote-discovery): Linkerd's remote-discovery mirrors are then plumbing. */
  remoteDiscovery?: boolean;
  /** Each global has a ServiceImport (--mcs-api): the world of a key holds it and its slices. */
  mcsApi?: boolean;
  /** Where members come from (--source): Linkerd's mirrors (the default), another MCS implementation's ServiceImports and slices. */
  sources?: { linkerd: boolean; mcs: boolean };
}

const ref = objectKey;

/**
 * A classification kept for as long as its mirror lives, with its names interned (src/shared.ts):
 * each was read anew out of the packed cache, and the same namespace, cluster and service names
 * are held by every other classification and index.
 */
function internStrings(c: Classification): Classification {
  if (c.kind !== 'member') return c;
  const { member } = c;
  return {
    kind: 'member',
    member: {
      ...member,
      key: { namespace: intern(member.key.namespace), name: intern(member.key.name) },
      cluster: intern(member.cluster),
      serviceName: intern(member.serviceName),
    },
  };
}

/**
 * The in-memory view of this cluster the controller decides from: the Service and EndpointSlice
 * caches plus the lookups a reconcile needs (mirrors by global key, slices by service, our slices
 * by key). Every change returns the global keys it may affect: the only thing events do is mark
 * those keys dirty.
 */
export class MemberIndex {
  readonly services = new ObjectStore<Service>(projectService, compactServices);
  readonly slices = new ObjectStore<EndpointSlice>(projectSlice, compactSlices);
  /** ServiceImports (--mcs-api only): ours, and any at a global's import name. */
  readonly imports = new ObjectStore<ServiceImport>(projectServiceImport);
  /** ServiceExports (--mcs-api only): each marks the Service of its name for export. */
  readonly exports = new ObjectStore<ServiceExport>(projectServiceExport);
  /** key → mirror Services (namespace/name) whose classification names that key. */
  private readonly mirrorsByKey = new KeyedSets();
  /** mirror namespace/name → its classification. */
  private readonly mirrorClass = new Map<string, Classification>();
  /** How many mirrors have each kind of classification (a gauge read at every scrape). */
  private readonly mirrorKinds = new Map<Classification['kind'], number>();
  /** namespace/service-name → EndpointSlices (namespace/name) of that service, ours excluded. */
  private readonly slicesByService = new KeyedSets();
  /** key → our EndpointSlices. */
  private readonly ownedSlicesByKey = new KeyedSets();
  /** key → our Services labelled for it. */
  private readonly ownedServicesByKey = new KeyedSets();
  /** key → our ServiceImports labelled for it. */
  private readonly ownedImportsByKey = new KeyedSets();
  /** Headless mirror (namespace/name) → its per-pod endpoint mirrors (namespace/name): their readiness is the pods' reachability. */
  private readonly endpointMirrorsByRoot = new KeyedSets();
  /** Endpoint mirror (namespace/name) → the headless mirror it belongs to. */
  private readonly rootOfEndpointMirror = new Map<string, string>();
  /** ServiceImports another MCS implementation wrote (--source=mcs), by key: their slices are members. */
  private readonly foreignImports = new Set<string>();
  /** namespace/derived Service name → the foreign ServiceImport (key) that names it (Cilium's slices name the derived Service). */
  private readonly importOfDerived = new Map<string, string>();
  /** key → slices labelled multicluster.kubernetes.io/service-name and source-cluster, ours excluded (--source=mcs). */
  private readonly mcsSlicesByKey = new KeyedSets();
  /** Local Services (namespace/name, which is their key) exported to other clusters: what Linkerd cannot mirror of them is told. */
  private readonly exported = new Set<string>();

  /** Services of linked clusters read straight from them (--remote-discovery; remote-discovery.ts fills it). */
  readonly direct = new DirectMembers();

  /** Objects in the caches, the linked clusters' read straight from them too: how much work there is (src/observability/compilers.ts). */
  get cachedObjects(): number {
    return this.services.size + this.slices.size + this.imports.size + this.exports.size + this.direct.cachedObjects;
  }

  /** Whether the API server serves ServiceImports (--mcs-api; undefined until first listed): without the CRD no import is planned. */
  importsServed: boolean | undefined;

  /** The Links here and globalsvc's probe of their gateways (src/engine/links.ts keeps it current). */
  links: LinkState = NO_LINK_STATE;

  constructor(private readonly settings: IndexSettings) {}

  globalName(key: GlobalKey): string {
    return globalServiceName(key.name, this.settings.globalSuffix);
  }

  /** Every key something in the cache speaks for: mirrors, or objects of ours still around. */
  knownKeys(): Set<string> {
    return new Set([
      ...this.mirrorsByKey.keys(),
      ...this.ownedSlicesByKey.keys(),
      ...this.ownedServicesByKey.keys(),
      ...this.ownedImportsByKey.keys(),
      ...this.exported,
      ...[...this.exports.values()].map(ref),
      ...this.foreignImports,
      ...this.direct.keys(),
    ]);
  }

  /** Mirrors by the kind of their classification. */
  classificationCounts(): ReadonlyMap<Classification['kind'], number> {
    return this.mirrorKinds;
  }

  private setClassification(id: string, c: Classification | undefined): void {
    const before = this.mirrorClass.get(id);
    if (before) this.mirrorKinds.set(before.kind, this.mirrorKinds.get(before.kind)! - 1);
    if (c) {
      this.mirrorClass.set(intern(id), internStrings(c));
      this.mirrorKinds.set(c.kind, (this.mirrorKinds.get(c.kind) ?? 0) + 1);
    } else this.mirrorClass.delete(id);
  }

  classificationOf(namespace: string, name: string): Classification | undefined {
    return this.mirrorClass.get(`${namespace}/${name}`);
  }

  private keyOfClassification(c: Classification | undefined): string | undefined {
    if (!c || c.kind === 'ignored') return undefined;
    if (c.kind === 'member') return keyString(c.member.key);
    return c.key ? keyString(c.key) : undefined;
  }

  private indexService(service: Service, add: boolean, keys: Set<string>): void {
    const id = ref(service);
    const ns = service.metadata.namespace ?? '';
    const mirror = isMirror(service) && this.settings.sources?.linkerd !== false;
    const root = mirror ? service.metadata.labels?.[linkerd.headlessMirrorServiceName] : undefined;
    if (root !== undefined) {
      const rootId = `${ns}/${root}`;
      this.endpointMirrorsByRoot.update(rootId, id, add);
      if (add) this.rootOfEndpointMirror.set(intern(id), intern(rootId));
      else this.rootOfEndpointMirror.delete(id);
      const key = this.keyOfClassification(this.mirrorClass.get(rootId));
      if (key) keys.add(key);
    }
    if (mirror) {
      const classification = add ? classifyMirror(service, { remoteDiscovery: this.settings.remoteDiscovery }) : undefined;
      const key = this.keyOfClassification(classification ?? this.mirrorClass.get(id));
      this.setClassification(id, classification);
      if (key) {
        this.mirrorsByKey.update(key, id, add);
        keys.add(key);
      }
    }
    // A ClusterSetIP ServiceImport's derived Service (--mcs-api): its key's.
    const derivedFor = service.metadata.labels?.[ours.derivedFor];
    if (derivedFor !== undefined) keys.add(`${ns}/${derivedFor}`);
    if (isOurs(service)) {
      const key = `${ns}/${service.metadata.labels?.[ours.globalOf] ?? ''}`;
      this.ownedServicesByKey.update(key, id, add);
      keys.add(key);
    }
    if (isExported(service)) {
      if (add) this.exported.add(intern(id));
      else this.exported.delete(id);
      keys.add(id);
    }
    // As a possible local member, and as a possible holder of some global's name.
    if (this.hasRemoteMembers(id)) keys.add(id);
    // As a Service a ServiceExport exports, or one that still carries an export's marks.
    if (service.metadata.annotations?.[ours.exportedAt] !== undefined || this.exports.get(ns, service.metadata.name ?? '')) keys.add(id);
  }

  private indexSlice(slice: EndpointSlice, add: boolean, keys: Set<string>): void {
    const id = ref(slice);
    const ns = slice.metadata.namespace ?? '';
    const labels = slice.metadata.labels ?? {};
    if (labels[discovery.managedBy] === ours.sliceManager) {
      const key = `${ns}/${labels[ours.globalOf] ?? ''}`;
      this.ownedSlicesByKey.update(key, id, add);
      keys.add(key);
      return;
    }
    if (this.settings.sources?.mcs && labels[discovery.sourceCluster] !== undefined) {
      const mcsName = labels[mcs.serviceName];
      if (mcsName !== undefined) {
        this.mcsSlicesByKey.update(`${ns}/${mcsName}`, id, add);
        keys.add(`${ns}/${mcsName}`);
      }
      const derivedOf = labels[discovery.serviceName] && this.importOfDerived.get(`${ns}/${labels[discovery.serviceName]}`);
      if (derivedOf) keys.add(derivedOf);
    }
    const serviceName = labels[discovery.serviceName];
    if (serviceName === undefined) return;
    const serviceId = `${ns}/${serviceName}`;
    this.slicesByService.update(serviceId, id, add);
    const key = this.keyOfClassification(this.mirrorClass.get(this.rootOfEndpointMirror.get(serviceId) ?? serviceId));
    if (key) keys.add(key);
    if (this.hasRemoteMembers(serviceId) || this.exported.has(serviceId)) keys.add(serviceId);
  }

  /** Whether another cluster has a member for this key: a mirror of it here, or its Service read directly. */
  private hasRemoteMembers(key: string): boolean {
    return this.mirrorsByKey.has(key) || this.direct.has(key) || this.foreignImports.has(key);
  }

  private affected<T extends KubeObject>(changes: Change<T>[], index: (o: T, add: boolean, keys: Set<string>) => void): Set<string> {
    const keys = new Set<string>();
    for (const { before, after } of changes) {
      if (before) index(before, false, keys);
      if (after) index(after, true, keys);
    }
    return keys;
  }

  /** Takes one event of a watched collection into the cache; returns the global keys it may affect. */
  apply(resource: 'services', event: ResourceEvent<Service>): Set<string>;
  apply(resource: 'slices', event: ResourceEvent<EndpointSlice>): Set<string>;
  apply(resource: 'imports', event: ResourceEvent<ServiceImport>): Set<string>;
  apply(resource: 'exports', event: ResourceEvent<ServiceExport>): Set<string>;
  apply(
    resource: 'services' | 'slices' | 'imports' | 'exports',
    event: ResourceEvent<Service> | ResourceEvent<EndpointSlice> | ResourceEvent<ServiceImport> | ResourceEvent<ServiceExport>,
  ): Set<string> {
    if (resource === 'services') return this.serviceChanges(this.services.apply(event as ResourceEvent<Service>));
    if (resource === 'slices') return this.sliceChanges(this.slices.apply(event as ResourceEvent<EndpointSlice>));
    if (resource === 'exports')
      return this.affected(this.exports.apply(event as ResourceEvent<ServiceExport>), (e, _add, keys) => keys.add(ref(e)));
    return this.importChanges(this.imports.apply(event as ResourceEvent<ServiceImport>));
  }

  /**
   * The exports of a key's name (--mcs-api): this cluster's, when a ServiceExport exports a Service
   * that can be, and each linked cluster's, as its mirror carries it.
   */
  exportClaims(key: GlobalKey): ExportClaim[] {
    const claims: ExportClaim[] = [];
    const exp = this.exports.get(key.namespace, key.name);
    const service = this.services.get(key.namespace, key.name);
    if (exp && !exp.metadata.deletionTimestamp && service && service.spec?.type !== 'ExternalName')
      claims.push(claimOfLocal(this.settings.localCluster, exp, service));
    for (const { service: mirror, classification: c } of this.mirrorsOf(key)) {
      if (c.kind !== 'member') continue;
      const claim = claimOfMember({ member: c.member, service: mirror, slices: [] });
      if (claim) claims.push(claim);
    }
    return claims;
  }

  /** Records ServiceImport changes: an import is the key of its namespace and name, ours or in the way of ours. */
  importChanges(changes: Change<ServiceImport>[]): Set<string> {
    return this.affected(changes, (imp, add, keys) => {
      const id = ref(imp);
      if (isOurs(imp))
        this.ownedImportsByKey.update(`${imp.metadata.namespace ?? ''}/${imp.metadata.labels?.[ours.globalOf] ?? ''}`, id, add);
      else if (this.settings.sources?.mcs) {
        if (add) this.foreignImports.add(id);
        else this.foreignImports.delete(id);
        const derived = imp.metadata.annotations?.[mcs.derivedService];
        if (derived !== undefined) {
          const derivedId = `${imp.metadata.namespace ?? ''}/${derived}`;
          if (add) this.importOfDerived.set(derivedId, id);
          else if (this.importOfDerived.get(derivedId) === id) this.importOfDerived.delete(derivedId);
        }
      }
      keys.add(id);
    });
  }

  /** Records Service changes; returns the keys they touch, including a squatter's global name. */
  serviceChanges(changes: Change<Service>[]): Set<string> {
    const keys = this.affected(changes, (s, add, k) => this.indexService(s, add, k));
    for (const { before, after } of changes) {
      const svc = (after ?? before)!;
      const key = this.keyForGlobalName(svc.metadata.namespace ?? '', svc.metadata.name ?? '');
      if (key) keys.add(key);
    }
    return keys;
  }

  sliceChanges(changes: Change<EndpointSlice>[]): Set<string> {
    return this.affected(changes, (s, add, k) => this.indexSlice(s, add, k));
  }

  /** The key whose global would be called `name` in `namespace`, if any mirror asks for one. */
  private keyForGlobalName(namespace: string, name: string): string | undefined {
    const suffix = this.settings.globalSuffix;
    if (name.endsWith(suffix)) {
      const candidate = `${namespace}/${name.slice(0, -suffix.length)}`;
      if (this.hasRemoteMembers(candidate)) return candidate;
    }
    // Truncated names (over 63 characters) carry a hash and are found by scanning this namespace's keys.
    if (name.length < 63) return undefined;
    for (const key of new Set([...this.mirrorsByKey.keys(), ...this.direct.keys()])) {
      const k = parseKey(key);
      if (k.namespace === namespace && this.globalName(k) === name) return key;
    }
    return undefined;
  }

  private slicesOfService(namespace: string, name: string): EndpointSlice[] {
    const ids = this.slicesByService.get(`${namespace}/${name}`);
    const out: EndpointSlice[] = [];
    for (const id of ids) {
      const slash = id.indexOf('/');
      const slice = this.slices.get(id.slice(0, slash), id.slice(slash + 1));
      if (slice && !slice.metadata.deletionTimestamp) out.push(slice);
    }
    return out;
  }

  private resolve<T extends KubeObject>(store: ObjectStore<T>, ids: Iterable<string>): T[] {
    const out: T[] = [];
    for (const id of ids) {
      const slash = id.indexOf('/');
      const obj = store.get(id.slice(0, slash), id.slice(slash + 1));
      if (obj) out.push(obj);
    }
    return out;
  }

  /** The mirrors that speak for a key, whatever they turned out to be (member, unsupported, excluded, ...). */
  mirrorsOf(key: GlobalKey): { service: Service; classification: Classification }[] {
    return this.resolve(this.services, this.mirrorsByKey.get(keyString(key))).map((service) => ({
      service,
      classification: this.mirrorClass.get(ref(service)) ?? { kind: 'ignored' },
    }));
  }

  /** The local Service `<name>` of a key, when `--include-local` makes it a candidate member. */
  localOf(key: GlobalKey): { service: Service; classification: Classification } | undefined {
    const service = this.services.get(key.namespace, key.name);
    if (!this.settings.includeLocal || !service) return undefined;
    return { service, classification: classifyLocal(service, this.settings.localCluster) };
  }

  /** Everything the planner needs for one key, read from the cache. */
  world(key: GlobalKey): GlobalWorld {
    const id = keyString(key);
    const members: MemberView[] = [];
    for (const { service: mirror, classification: c } of this.mirrorsOf(key)) {
      if (c.kind !== 'member') continue;
      const slices = this.slicesOfService(key.namespace, c.member.serviceName);
      const pods =
        mirror.spec?.clusterIP === 'None'
          ? podsOfHeadlessMirror(mirror, slices, this.endpointMirrorsOf(`${key.namespace}/${c.member.serviceName}`))
          : slices;
      members.push({ member: c.member, service: mirror, slices: pods });
    }
    members.push(...this.direct.membersOf(key), ...this.mcsMembersOf(key));
    const local = this.localOf(key);
    if (local?.classification.kind === 'member') {
      // Another cluster's slices an MCS implementation files under the local Service's name (Cilium's sync) are not the local member's.
      const own = (s: EndpointSlice) =>
        (s.metadata.labels?.[discovery.sourceCluster] ?? this.settings.localCluster) === this.settings.localCluster;
      members.push({
        member: local.classification.member,
        service: local.service,
        slices: this.slicesOfService(key.namespace, key.name).filter(own),
      });
    }
    const exported = this.exported.has(id) ? this.services.get(key.namespace, key.name) : undefined;
    const owned = this.resolve(this.slices, this.ownedSlicesByKey.get(id));
    return {
      key,
      members,
      atGlobalName: this.services.get(key.namespace, this.globalName(key)),
      ownedSlices: owned.filter((slice) => !isImportSlice(slice)),
      sliceNameTaken: (name) => this.slices.has(key.namespace, name),
      links: this.links,
      ...(exported ? { exported: { service: exported, slices: this.slicesOfService(key.namespace, key.name) } } : {}),
      ...(this.settings.mcsApi && this.importsServed
        ? {
            mcs: {
              atImportName: this.imports.get(key.namespace, key.name),
              atDerivedName: this.services.get(key.namespace, derivedServiceName(key)),
              ownedSlices: owned.filter(isImportSlice),
              exports: this.exportClaims(key),
            },
          }
        : {}),
    };
  }

  /** Members of another MCS implementation (--source=mcs, src/domain/mcs.ts): its ServiceImport of the key and the slices it keeps for it. */
  private mcsMembersOf(key: GlobalKey): MemberView[] {
    if (!this.settings.sources?.mcs) return [];
    const imp = this.imports.get(key.namespace, key.name);
    if (!imp || isOurs(imp)) return [];
    const slices = new Map<string, EndpointSlice>();
    for (const s of this.resolve(this.slices, this.mcsSlicesByKey.get(keyString(key)))) slices.set(ref(s), s);
    // Cilium files them under the derived Service (or the local Service) with the source cluster on each.
    for (const name of new Set([imp.metadata.annotations?.[mcs.derivedService] ?? key.name, key.name]))
      for (const s of this.slicesOfService(key.namespace, name))
        if (s.metadata.labels?.[discovery.sourceCluster] !== undefined) slices.set(ref(s), s);
    return mcsMembers(imp, [...slices.values()], this.settings.localCluster);
  }

  /** The per-pod endpoint mirrors Linkerd made for a headless mirror, with their slices. */
  private endpointMirrorsOf(rootId: string): EndpointMirror[] {
    return this.resolve(this.services, this.endpointMirrorsByRoot.get(rootId)).map((service) => ({
      service,
      slices: this.slicesOfService(service.metadata.namespace ?? '', service.metadata.name ?? ''),
    }));
  }

  /** Says our write of this object is being sent: the watch's events of it wait for its answer (ObjectStore.beginWrite). */
  beginWrite(kind: Kind, namespace: string, name: string): void {
    this.storeOf(kind).beginWrite(namespace, name);
  }

  /**
   * Ends that write, its answer recorded: the events held meanwhile are applied, the write's echo
   * as no change. Returns the keys what others changed meanwhile may affect.
   */
  endWrite(kind: Kind, namespace: string, name: string): Set<string> {
    if (kind === 'ServiceImport') return this.importChanges(this.imports.endWrite(namespace, name));
    if (kind === 'Service') return this.serviceChanges(this.services.endWrite(namespace, name));
    return this.sliceChanges(this.slices.endWrite(namespace, name));
  }

  private storeOf(kind: Kind): ObjectStore<KubeObject> {
    return (kind === 'Service' ? this.services : kind === 'ServiceImport' ? this.imports : this.slices) as ObjectStore<KubeObject>;
  }

  /** Records an object our own write returned, before the watch brings it. */
  recordWrite(kind: 'Service' | 'EndpointSlice' | 'ServiceImport' | 'ServiceExport', object: KubeObject): void {
    if (kind === 'ServiceExport') this.exports.recordWrite(object as ServiceExport);
    else if (kind === 'ServiceImport') {
      const change = this.imports.recordWrite(object as ServiceImport);
      if (change) this.importChanges([change]);
    } else if (kind === 'Service') {
      const change = this.services.recordWrite(object as Service);
      if (change) this.serviceChanges([change]);
    } else {
      const change = this.slices.recordWrite(object as EndpointSlice);
      if (change) this.sliceChanges([change]);
    }
  }

  recordDelete(kind: 'Service' | 'EndpointSlice' | 'ServiceImport', namespace: string, name: string, uid: string | undefined): void {
    if (kind === 'ServiceImport') {
      const change = this.imports.recordDelete(namespace, name, uid);
      if (change) this.importChanges([change]);
    } else if (kind === 'Service') {
      const change = this.services.recordDelete(namespace, name, uid);
      if (change) this.serviceChanges([change]);
    } else {
      const change = this.slices.recordDelete(namespace, name, uid);
      if (change) this.sliceChanges([change]);
    }
  }
}
