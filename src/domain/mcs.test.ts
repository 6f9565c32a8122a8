import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceImport } from './k8s-types.js';
import type { Settings } from './desired.js';
import { planGlobal } from './plan.js';
import type { MemberView } from './desired.js';
import { endpoint, localService, memberSlice, mirrorService, statefulSet, view } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import { arbMembersWithDirect } from '../test-support/arbitraries.js';

const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
const key = { namespace: 'data', name: 'db' };
const plan = (world: Parameters<typeof planGlobal>[0]) => planGlobal(world, settings);
const SOURCE = 'multicluster.kubernetes.io/source-cluster';

describe('the ServiceImport of a global (--mcs-api)', () => {
  it('is created beside the global, Headless with its ports and clusters, with slices of the pods under their own hostnames', () => {
    const ns = new FakeNamespace(true);
    const members = [statefulSet('west', 2, 1), statefulSet('east', 1, 2), statefulSet('north', 2, 3)];
    const plans = converge(ns, plan, key, members, 'db-global');
    expect(plans.map((p) => p.writes.map((w) => `${w.verb} ${w.kind}${w.verb === 'apply' && w.subresource ? '/status' : ''}`))).toEqual([
      ['create Service', 'create ServiceImport'],
      [
        'create EndpointSlice',
        'create EndpointSlice',
        'create EndpointSlice',
        'apply ServiceImport/status',
        'create EndpointSlice',
        'create EndpointSlice',
        'create EndpointSlice',
      ],
      [],
    ]);
    const imp = ns.imports.get('db')!;
    expect(imp.spec).toEqual({ type: 'Headless', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] });
    expect(imp.status).toEqual({ clusters: [{ cluster: 'east' }, { cluster: 'north' }, { cluster: 'west' }] });
    expect(imp.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'db' });

    const slices = ns.importSlicesOf('db');
    const north = slices.find((s) => s.metadata.labels?.[SOURCE] === 'north')!;
    // KEP-1645's per-pod name is <hostname>.<cluster>.<name>.<ns>.svc.clusterset.local: the pod's own hostname.
    expect(north.endpoints?.map((e) => [e.hostname, e.addresses[0]])).toEqual([
      ['db-0', '10.3.0.1'],
      ['db-1', '10.3.0.2'],
    ]);
    expect(north.metadata.labels).toEqual({
      'multicluster.kubernetes.io/service-name': 'db',
      'multicluster.kubernetes.io/source-cluster': 'north',
      'endpointslice.kubernetes.io/managed-by': 'globalsvc.dev',
      'globalsvc.dev/global-of': 'db',
      'app.kubernetes.io/managed-by': 'globalsvc',
    });
    // Never kubernetes.io/service-name: that would make them the local Service db's endpoints.
    expect(slices.every((s) => s.metadata.labels?.['kubernetes.io/service-name'] === undefined)).toBe(true);
    expect(north.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'multicluster.x-k8s.io/v1alpha1',
        kind: 'ServiceImport',
        name: 'db',
        uid: imp.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    // The global's own slices are untouched by the import's: each set plans only its own.
    expect(
      ns
        .slicesOf('db-global')
        .flatMap((s) => s.endpoints!.map((e) => e.hostname))
        .sort(),
    ).toEqual(['db-0-east', 'db-0-north', 'db-0-west', 'db-1-north', 'db-1-west']);
  });

  it('follows the members: a cluster scaled and one gone change the slices and status.clusters', () => {
    const ns = new FakeNamespace(true);
    converge(ns, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2), statefulSet('north', 1, 3)], 'db-global');
    const [changed] = converge(ns, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 3, 2)], 'db-global');
    expect(changed!.writes.filter((w) => w.kind !== 'Service').map((w) => `${w.verb} ${w.kind}`)).toContain('apply ServiceImport');
    expect(ns.imports.get('db')!.status!.clusters).toEqual([{ cluster: 'east' }, { cluster: 'west' }]);
    expect(
      ns
        .importSlicesOf('db')
        .map((s) => s.metadata.labels?.[SOURCE])
        .sort(),
    ).toEqual(['east', 'west']);
    expect(ns.importSlicesOf('db').find((s) => s.metadata.labels?.[SOURCE] === 'east')!.endpoints).toHaveLength(3);
  });

  it('goes with the global when the last member of another cluster goes', () => {
    const ns = new FakeNamespace(true);
    converge(ns, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2)], 'db-global');
    converge(ns, plan, key, [statefulSet('west', 1, 1)], 'db-global');
    expect(ns.imports.size).toBe(0);
    expect(ns.importSlicesOf('db')).toEqual([]);
    expect(ns.services.size).toBe(0);
  });

  it('never touches a ServiceImport it does not own, says so, and leaves none of its slices to feed it', () => {
    const ns = new FakeNamespace(true);
    converge(ns, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2)], 'db-global');
    expect(ns.importSlicesOf('db')).toHaveLength(2);
    // Another MCS implementation's import takes the name.
    const theirs: ServiceImport = {
      apiVersion: 'multicluster.x-k8s.io/v1alpha1',
      kind: 'ServiceImport',
      metadata: {
        name: 'db',
        namespace: 'data',
        uid: 'theirs',
        resourceVersion: '1',
        labels: { 'app.kubernetes.io/managed-by': 'cilium' },
      },
      spec: { type: 'ClusterSetIP', ports: [{ port: 5432 }], ips: ['10.96.0.42'] },
    };
    ns.imports.set('db', theirs);
    const plans = converge(ns, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2)], 'db-global');
    expect(plans[0]!.problems.map((p) => p.reason)).toContain('ImportNameTaken');
    expect(plans.flatMap((p) => p.writes).filter((w) => w.kind === 'ServiceImport')).toEqual([]);
    expect(ns.imports.get('db')).toEqual(theirs);
    expect(ns.importSlicesOf('db')).toEqual([]);
    // The global itself goes on.
    expect(ns.slicesOf('db-global')).toHaveLength(2);
  });

  it('is not planned without --mcs-api, and its slices are never mistaken for the global’s', () => {
    const withImport = new FakeNamespace(true);
    converge(withImport, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2)], 'db-global');
    // The same objects read by a controller without --mcs-api: nothing to write, the import's slices left alone.
    const without = new FakeNamespace(false);
    without.services = withImport.services;
    without.slices = withImport.slices;
    without.imports = withImport.imports;
    const plans = converge(without, plan, key, [statefulSet('west', 1, 1), statefulSet('east', 1, 2)], 'db-global');
    expect(plans.map((p) => p.writes)).toEqual([[]]);
  });

  it('converges for any members, with one import slice per endpoint of the global and the same readiness (property)', () => {
    fc.assert(
      fc.property(arbMembersWithDirect, (members) => {
        const ns = new FakeNamespace(true);
        const plans = converge(ns, plan, key, members, 'db-global', 6);
        expect(plans.at(-1)!.writes).toEqual([]);
        const global = ns
          .slicesOf('db-global')
          .flatMap((s) => s.endpoints!.map((e) => `${s.metadata.labels?.[SOURCE]} ${e.addresses.join(',')} ${e.conditions?.ready}`));
        const imported = ns
          .importSlicesOf('db')
          .flatMap((s) => s.endpoints!.map((e) => `${s.metadata.labels?.[SOURCE]} ${e.addresses.join(',')} ${e.conditions?.ready}`));
        expect(imported.sort()).toEqual(global.sort());
        if (ns.services.size === 0) expect(ns.imports.size).toBe(0);
        else
          expect((ns.imports.get('db')!.status?.clusters ?? []).map((c) => c.cluster)).toEqual(
            [...new Set(ns.slicesOf('db-global').map((s) => s.metadata.labels?.[SOURCE]))].sort(),
          );
      }),
      { numRuns: 200 },
    );
  });
});

describe('a ClusterSetIP ServiceImport (every member a ClusterIP Service)', () => {
  const web = (cluster: string, base: number): MemberView => {
    const svc = cluster === 'west' ? localService('db') : mirrorService({ name: 'db', cluster, headless: false });
    if (cluster === 'west') svc.spec!.clusterIP = '10.96.7.7';
    return view(svc, [memberSlice(svc, [endpoint(`10.${base}.0.1`)])]);
  };

  it('gets its virtual IP from a Service of its own, which owns the slices kube-proxy routes it to', () => {
    const ns = new FakeNamespace(true);
    const plans = converge(ns, plan, key, [web('west', 1), web('east', 2)], 'db-global', 6);
    expect(plans.at(-1)!.writes).toEqual([]);
    const imp = ns.imports.get('db')!;
    const derived = ns.services.get('db-clusterset')!;
    expect(derived.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] });
    expect(derived.spec!.selector).toBeUndefined();
    expect(derived.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ServiceImport', uid: imp.metadata.uid, controller: true }),
    ]);
    expect(imp.spec).toEqual({
      type: 'ClusterSetIP',
      ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      ips: [derived.spec!.clusterIP],
      ipFamilies: ['IPv4'],
    });
    const slices = ns.importSlicesOf('db');
    expect(slices.map((s) => s.metadata.labels?.['kubernetes.io/service-name'])).toEqual(['db-clusterset', 'db-clusterset']);
  });

  it('turns Headless when a headless member joins: the derived Service and its IP go, the slices are relabelled', () => {
    const ns = new FakeNamespace(true);
    converge(ns, plan, key, [web('west', 1), web('east', 2)], 'db-global', 6);
    const plans = converge(ns, plan, key, [web('west', 1), web('east', 2), statefulSet('north', 1, 3)], 'db-global', 6);
    expect(plans.at(-1)!.writes).toEqual([]);
    expect(ns.services.get('db-clusterset')).toBeUndefined();
    expect(ns.imports.get('db')!.spec).toEqual({ type: 'Headless', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] });
    expect(ns.importSlicesOf('db').every((s) => s.metadata.labels?.['kubernetes.io/service-name'] === undefined)).toBe(true);
  });

  it('never takes over a Service of that name it does not own', () => {
    const ns = new FakeNamespace(true);
    ns.services.set('db-clusterset', {
      ...localService('db-clusterset'),
      metadata: { name: 'db-clusterset', namespace: 'data', uid: 'user' },
    });
    const plans = converge(ns, plan, key, [web('west', 1), web('east', 2)], 'db-global', 6);
    expect(plans.flatMap((p) => p.problems).map((p) => p.reason)).toContain('DerivedNameTaken');
    expect(ns.services.get('db-clusterset')!.metadata.uid).toBe('user');
    expect(ns.imports.get('db')!.spec!.ips).toBeUndefined();
  });
});
