// Applies a plan's writes to in-memory objects the way the API server would (create fails on a
// taken name, apply and delete check the resourceVersion), so planning can be tested in rounds.
import type { EndpointSlice, KubeObject, Service, ServiceImport } from '../domain/k8s-types.js';
import type { MemberView } from '../domain/desired.js';
import type { GlobalKey } from '../domain/members.js';
import type { GlobalPlan, GlobalWorld, Write } from '../domain/plan.js';
import { ours } from '../domain/labels.js';
import { derivedServiceName, isImportSlice } from '../domain/mcs.js';
import type { ExportClaim } from '../domain/service-export.js';
import { mergePatch } from './merge-patch.js';

export class FakeNamespace {
  services = new Map<string, Service>();
  slices = new Map<string, EndpointSlice>();
  imports = new Map<string, ServiceImport>();
  /** The exports of the key's name its worlds report (--mcs-api with ServiceExports). */
  exportClaims: ExportClaim[] = [];
  private version = 100;
  private allocated = 0;

  /** With `mcsApi`, its worlds hold the key's ServiceImport and its slices (--mcs-api). */
  constructor(private readonly mcsApi = false) {}

  private store(kind: Write['kind']): Map<string, KubeObject> {
    return (kind === 'Service' ? this.services : kind === 'ServiceImport' ? this.imports : this.slices) as Map<string, KubeObject>;
  }

  /**
   * The garbage collector: slices whose controller owner is gone are removed, later than the
   * delete (between rounds), as the real one does after its informers have seen it.
   */
  private collectGarbage(): void {
    const uids = new Set([...this.services.values(), ...this.imports.values()].map((s) => s.metadata.uid));
    for (const [name, s] of this.slices)
      if (s.metadata.ownerReferences?.some((r) => r.controller && !uids.has(r.uid))) this.slices.delete(name);
  }

  apply(writes: readonly Write[]): void {
    this.collectGarbage();
    for (const w of writes) {
      const store = this.store(w.kind);
      if (w.verb === 'delete') {
        const current = store.get(w.name);
        if (!current) throw new Error(`delete of missing ${w.kind} ${w.name}`);
        if (w.uid && current.metadata.uid !== w.uid) throw new Error(`delete precondition failed for ${w.name}`);
        store.delete(w.name);
        continue;
      }
      if (w.verb === 'patch') {
        const current = store.get(w.name);
        if (!current) throw new Error(`patch of missing ${w.kind} ${w.name}`);
        if (w.patch.metadata.resourceVersion !== undefined && w.patch.metadata.resourceVersion !== current.metadata.resourceVersion)
          throw new Error(`conflict on ${w.name}`);
        const next = mergePatch(current, w.patch);
        next.metadata.resourceVersion = String(++this.version);
        store.set(w.name, next);
        continue;
      }
      const name = w.object.metadata.name!;
      const current = store.get(name);
      if (w.verb === 'create' && current) throw new Error(`create of existing ${w.kind} ${name}`);
      if (w.verb === 'apply' && w.subresource === 'status') {
        // The status subresource: only the status changes, whatever else the object says.
        if (!current) throw new Error(`apply of missing ${w.kind} ${name}/status`);
        const next = { ...structuredClone(current), status: structuredClone((w.object as ServiceImport).status) } as KubeObject;
        next.metadata.resourceVersion = String(++this.version);
        store.set(name, next);
        continue;
      }
      if (w.verb === 'apply' || w.verb === 'update') {
        if (!current) throw new Error(`${w.verb} of missing ${w.kind} ${name}`);
        if (w.object.metadata.resourceVersion !== current.metadata.resourceVersion) throw new Error(`conflict on ${name}`);
      }
      const next = structuredClone(w.object);
      // A Service created without a clusterIP gets one, as the API server allocates it.
      const spec = (next as Service).spec;
      if (w.verb === 'create' && w.kind === 'Service' && spec && spec.clusterIP === undefined)
        spec.clusterIP = `10.96.${++this.allocated}.1`;
      next.metadata.uid = current?.metadata.uid ?? `uid-${name}`;
      next.metadata.resourceVersion = String(++this.version);
      store.set(name, next);
    }
  }

  world(key: GlobalKey, members: MemberView[], globalName: string): GlobalWorld {
    this.collectGarbage();
    const owned = [...this.slices.values()].filter(
      (s) =>
        s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === ours.sliceManager &&
        s.metadata.labels?.[ours.globalOf] === key.name,
    );
    return {
      key,
      members,
      atGlobalName: this.services.get(globalName),
      ownedSlices: owned.filter((s) => !isImportSlice(s)),
      sliceNameTaken: (n) => this.slices.has(n),
      ...(this.mcsApi
        ? {
            mcs: {
              atImportName: this.imports.get(key.name),
              atDerivedName: this.services.get(derivedServiceName(key)),
              ownedSlices: owned.filter(isImportSlice),
              exports: this.exportClaims,
            },
          }
        : {}),
    };
  }

  /** The slices of ServiceImport `name`. */
  importSlicesOf(name: string): EndpointSlice[] {
    return [...this.slices.values()].filter((s) => s.metadata.labels?.['multicluster.kubernetes.io/service-name'] === name);
  }

  slicesOf(globalName: string): EndpointSlice[] {
    return [...this.slices.values()].filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === globalName);
  }
}

/** Plans and applies until a plan has no writes (at most `rounds` times); returns the plans made. */
export function converge(
  ns: FakeNamespace,
  plan: (world: GlobalWorld) => GlobalPlan,
  key: GlobalKey,
  members: MemberView[],
  globalName: string,
  rounds = 4,
): GlobalPlan[] {
  const plans: GlobalPlan[] = [];
  for (let i = 0; i < rounds; i++) {
    const p = plan(ns.world(key, members, globalName));
    plans.push(p);
    if (p.writes.length === 0) return plans;
    ns.apply(p.writes);
  }
  return plans;
}
