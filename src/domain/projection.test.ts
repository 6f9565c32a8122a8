import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from './k8s-types.js';
import type { MemberView, Settings } from './desired.js';
import type { GlobalWorld } from './plan.js';
import { planGlobal } from './plan.js';
import { classifyLocal, classifyMirror } from './members.js';
import { projectService, projectSlice, withoutManagedFields } from './projection.js';
import { compactServices, compactSlices } from './compact.js';
import { objectKey } from '../shared.js';
import { localService, mirrorService } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import { arbMembers } from '../test-support/arbitraries.js';

const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 7 };
const key = { namespace: 'data', name: 'db' };

/** What a real API server adds that the domain never reads: the projection must drop it harmlessly. */
function withServerFields<T extends Service | EndpointSlice>(object: T, salt: number): T {
  const copy = structuredClone(object) as T & { status?: unknown };
  const m = copy.metadata as T['metadata'] & { managedFields?: unknown };
  m.creationTimestamp = '2026-11-21T10:00:00Z';
  m.generation = salt;
  m.managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:metadata': {} } }];
  m.labels = { ...m.labels, 'app.kubernetes.io/name': `app-${salt}` };
  m.annotations = { ...m.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' };
  if ('spec' in copy && copy.spec) {
    copy.spec = { ...copy.spec, ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' };
    copy.spec.ports = copy.spec.ports?.map((p) => ({ ...p, nodePort: 30000 + salt }));
    copy.status = { loadBalancer: {} };
  }
  if ('endpoints' in copy && copy.endpoints) {
    copy.endpoints = copy.endpoints.map((e, i) => ({
      ...e,
      nodeName: i % 2 ? 'node-1' : undefined,
      zone: i % 3 ? 'zone-a' : undefined,
      targetRef: i % 2 ? { kind: 'Pod', namespace: 'data', name: `pod-${i}`, uid: `u-${i}`, resourceVersion: String(salt) } : undefined,
    }));
  }
  return copy;
}

const full = (views: MemberView[]): MemberView[] =>
  views.map((v, i) => ({ ...v, service: withServerFields(v.service, i), slices: v.slices.map((s) => withServerFields(s, i)) }));

/** A Service as the cache gives it back: projected, packed (compact.ts) and read back. */
const cachedService = (s: Service): Service => compactServices.unpack(compactServices.pack(projectService(s)), objectKey(s));
const cachedSlice = (s: EndpointSlice): EndpointSlice => compactSlices.unpack(compactSlices.pack(projectSlice(s)), objectKey(s));

const projected = (world: GlobalWorld): GlobalWorld => ({
  ...world,
  members: world.members.map((v) => ({ ...v, service: cachedService(v.service), slices: v.slices.map(cachedSlice) })),
  atGlobalName: world.atGlobalName && cachedService(world.atGlobalName),
  ownedSlices: world.ownedSlices.map(cachedSlice),
});

describe('what the cache keeps (projection)', () => {
  it('plans exactly as the whole objects do (projected, packed and read back), from an empty namespace, a converged one and a tampered one', () => {
    fc.assert(
      fc.property(arbMembers, arbMembers, fc.nat(), (beforeViews, afterViews, tamper) => {
        const ns = new FakeNamespace();
        const before = full(beforeViews);
        const after = full(afterViews);
        const check = () => {
          const world = ns.world(key, after, 'db-global');
          expect(planGlobal(projected(world), settings)).toEqual(planGlobal(world, settings));
        };
        check();
        converge(ns, (w) => planGlobal(w, settings), key, before, 'db-global');
        for (const [name, slice] of ns.slices) ns.slices.set(name, withServerFields(slice, 1));
        check();
        // Someone else's edit: a selector on the global, or on a slice a label gone, the owner changed, an endpoint dropped.
        const global = ns.services.get('db-global');
        const victim = [...ns.slices.values()][tamper % Math.max(1, ns.slices.size)];
        if (global && tamper % 4 === 3) global.spec!.selector = { app: 'db' };
        else if (victim) {
          if (tamper % 4 === 0) delete victim.metadata.labels!['multicluster.kubernetes.io/source-cluster'];
          else if (tamper % 4 === 1) victim.metadata.ownerReferences = [{ ...victim.metadata.ownerReferences![0]!, uid: 'someone-else' }];
          else victim.endpoints = victim.endpoints!.slice(1);
        }
        check();
      }),
      { numRuns: 80 },
    );
  });

  it('classifies a Service exactly as the whole object does', () => {
    const labels = fc.dictionary(
      fc.constantFrom(
        'mirror.linkerd.io/headless-mirror-svc-name',
        'multicluster.linkerd.io/remote-discovery',
        'globalsvc.dev/exclude',
        'app.kubernetes.io/managed-by',
        'globalsvc.dev/global-of',
        'team',
      ),
      fc.constantFrom('true', 'false', 'globalsvc', 'db'),
    );
    const annotations = fc.dictionary(
      fc.constantFrom('mirror.linkerd.io/remote-svc-fq-name', 'globalsvc.dev/exclude', 'note'),
      fc.constantFrom('db.data.svc.cluster.local', 'true', '', 'x.y'),
    );
    fc.assert(
      fc.property(labels, annotations, fc.constantFrom('east', 'Bad_Name'), fc.boolean(), (l, a, cluster, local) => {
        const service = withServerFields(
          local
            ? { ...localService('db'), metadata: { ...localService('db').metadata, labels: l, annotations: a } }
            : mirrorService({ name: 'db', cluster, labels: l, annotations: a }),
          3,
        );
        expect(classifyMirror(cachedService(service))).toEqual(classifyMirror(service));
        expect(classifyLocal(cachedService(service), 'west')).toEqual(classifyLocal(service, 'west'));
      }),
    );
  });

  it('keeps neither managedFields, status nor annotations the domain does not read', () => {
    const service = withServerFields(mirrorService({ name: 'db', cluster: 'east' }), 1);
    const kept = projectService(service);
    expect(kept).toEqual({
      metadata: {
        name: 'db-east',
        namespace: 'data',
        uid: 'uid-data-db-east',
        resourceVersion: undefined,
        labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': 'east' },
        annotations: { 'mirror.linkerd.io/remote-svc-fq-name': 'db.data.svc.cluster.local' },
      },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
    });
  });

  it('keeps a whole object (a BurstPolicy) but its managedFields', () => {
    const policy = { metadata: { name: 'web', managedFields: [{ manager: 'kubectl' }] }, spec: { burstValue: 100 } };
    expect(withoutManagedFields(policy)).toEqual({ metadata: { name: 'web' }, spec: { burstValue: 100 } });
  });
});
