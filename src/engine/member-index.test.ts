import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import { planGlobal } from '../domain/plan.js';
import { endpoint, memberSlice, mirrorService } from '../test-support/builders.js';
import { MemberIndex } from './member-index.js';

const settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };

/** What Linkerd writes in west for east's headless db of two pods, its gateway alive or not (linkerd-mirror-real.md). */
function linkerdHeadlessMirror(gatewayAlive: boolean): { services: Service[]; slices: EndpointSlice[] } {
  const root = mirrorService({ name: 'db', cluster: 'east' });
  const services: Service[] = [root];
  const slices: EndpointSlice[] = [];
  const rootEndpoints = [];
  for (const [i, clusterIP] of ['10.96.0.10', '10.96.0.11'].entries()) {
    const perPod = mirrorService({
      name: `db-${i}`,
      cluster: 'east',
      labels: { 'mirror.linkerd.io/headless-mirror-svc-name': 'db-east' },
      annotations: { 'mirror.linkerd.io/remote-svc-fq-name': `db-${i}.db.data.svc.cluster.local` },
    });
    perPod.spec = { clusterIP, ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] };
    services.push(perPod);
    // The endpoint mirror's Endpoints hold the gateway: ready while the probe answers.
    slices.push(memberSlice(perPod, [endpoint('192.0.2.2', { conditions: { ready: gatewayAlive } })], { name: `db-${i}-east-x` }));
    rootEndpoints.push(endpoint(clusterIP, { hostname: `db-${i}` }));
  }
  // The headless mirror's own Endpoints stay ready: Linkerd's repair skips them.
  slices.push(memberSlice(root, rootEndpoints));
  return { services, slices };
}

function indexOf(world: { services: Service[]; slices: EndpointSlice[] }): MemberIndex {
  const index = new MemberIndex({ ...settings, includeLocal: true });
  index.serviceChanges(
    index.services.apply({ type: 'relisted', namespace: undefined, items: world.services.map(index.services.transform) }),
  );
  index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: world.slices.map(index.slices.transform) }));
  return index;
}

describe("a headless mirror's pods, as Linkerd's gateway probe sees them", () => {
  it('are published ready while the gateway answers', () => {
    const plan = planGlobal(indexOf(linkerdHeadlessMirror(true)).world({ namespace: 'data', name: 'db' }), settings);
    const endpoints = plan.desired!.groups.flatMap((g) => [...g.endpoints.values()]);
    expect(endpoints.map((e) => [e.hostname, e.conditions?.ready])).toEqual([
      ['db-0-east', true],
      ['db-1-east', true],
    ]);
    expect(plan.problems).toEqual([]);
  });

  it("are published not ready, and the cluster said unreachable, once Linkerd marks the endpoint mirrors not ready, though the headless mirror's Endpoints stay ready", () => {
    const plan = planGlobal(indexOf(linkerdHeadlessMirror(false)).world({ namespace: 'data', name: 'db' }), settings);
    const endpoints = plan.desired!.groups.flatMap((g) => [...g.endpoints.values()]);
    expect(endpoints.map((e) => [e.hostname, e.conditions])).toEqual([
      ['db-0-east', { ready: false, serving: false, terminating: false }],
      ['db-1-east', { ready: false, serving: false, terminating: false }],
    ]);
    expect(plan.problems).toEqual([
      expect.objectContaining({
        reason: 'ClusterUnreachable',
        message: expect.stringMatching(/^cluster east's gateway does not answer its probe/),
      }),
    ]);
  });

  it("never publishes the gateway as a pod, nor drops the pods, while a remote Service update has Linkerd rewrite the headless mirror's Endpoints", () => {
    const world = linkerdHeadlessMirror(true);
    // The ClusterIP update path: the gateway's address and port, no hostnames, until the next remote Endpoints event.
    const root = world.slices.at(-1)!;
    root.endpoints = [endpoint('192.0.2.2')];
    root.ports = [{ name: 'pg', protocol: 'TCP', port: 4143 }];
    const plan = planGlobal(indexOf(world).world({ namespace: 'data', name: 'db' }), settings);
    const groups = plan.desired!.groups;
    expect(groups.flatMap((g) => [...g.endpoints.values()].map((e) => [e.hostname, e.addresses[0], e.conditions?.ready]))).toEqual([
      ['db-0-east', '10.96.0.10', true],
      ['db-1-east', '10.96.0.11', true],
    ]);
    // The pods listen on the mirror Service's target port, not on the gateway's.
    expect(groups.map((g) => g.ports)).toEqual([[{ name: 'pg', protocol: 'TCP', port: 5432 }]]);
  });

  it('never publishes the gateway as a pod while Linkerd has made no endpoint mirror yet', () => {
    const world = linkerdHeadlessMirror(true);
    // Linkerd's first export wrote the gateway into the headless mirror's Endpoints, beside a pod
    // listed with its hostname; no endpoint mirror exists (yet, or in a world without them).
    world.services = world.services.slice(0, 1);
    world.slices = world.slices.slice(-1);
    world.slices[0]!.endpoints = [endpoint('192.0.2.2'), endpoint('10.96.0.10', { hostname: 'db-0' })];
    const plan = planGlobal(indexOf(world).world({ namespace: 'data', name: 'db' }), settings);
    expect(plan.desired!.groups.flatMap((g) => [...g.endpoints.values()].map((e) => [e.hostname, e.addresses[0]]))).toEqual([
      ['db-0-east', '10.96.0.10'],
    ]);
  });

  it('never publishes a pod whose endpoint mirror has no slice: its ClusterIP routes nowhere until kube-controller-manager mirrors its Endpoints', () => {
    // Soak seed 1509848758: after east's control plane came back from a stop, north's db1-1 was
    // gone, Linkerd's mirror in east (wedged) had not deleted db1-1-north, and no endpoint mirror
    // of db1 had a slice endpoint. globalsvc read the headless mirror's Endpoints instead and
    // published db1-1-north's ClusterIP ready for over a minute; kube-proxy, which reads slices,
    // had no backend for it.
    const world = linkerdHeadlessMirror(true);
    world.slices = world.slices.slice(-1);
    let plan = planGlobal(indexOf(world).world({ namespace: 'data', name: 'db' }), settings);
    expect(plan.desired?.groups.flatMap((g) => [...g.endpoints.values()]) ?? []).toEqual([]);
    // One remade with a new ClusterIP (10.96.0.20) while the headless mirror still lists the old:
    // neither address is published before its endpoint mirror's slice is there.
    world.services.find((s) => s.metadata.name === 'db-0-east')!.spec!.clusterIP = '10.96.0.20';
    plan = planGlobal(indexOf(world).world({ namespace: 'data', name: 'db' }), settings);
    expect(plan.desired?.groups.flatMap((g) => [...g.endpoints.values()]) ?? []).toEqual([]);
    // Its slice comes: db-1 only (db-0's still missing).
    const full = linkerdHeadlessMirror(true);
    world.slices = [full.slices[1]!, ...world.slices];
    plan = planGlobal(indexOf(world).world({ namespace: 'data', name: 'db' }), settings);
    expect(plan.desired!.groups.flatMap((g) => [...g.endpoints.values()].map((e) => [e.hostname, e.addresses[0]]))).toEqual([
      ['db-1-east', '10.96.0.11'],
    ]);
  });

  it("marks the global's key when an endpoint mirror's slice changes", () => {
    const index = indexOf(linkerdHeadlessMirror(true));
    const dead = linkerdHeadlessMirror(false).slices[0]!;
    const before = index.slices.get('data', dead.metadata.name!)!;
    const keys = index.sliceChanges([
      { before, after: index.slices.transform({ ...dead, metadata: { ...dead.metadata, resourceVersion: '2' } }) },
    ]);
    expect([...keys]).toEqual(['data/db']);
  });
});

describe('the ServiceImports of --mcs-api in the cache', () => {
  const key = { namespace: 'data', name: 'db' };
  const ours = { 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'db' };
  const importSlice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'db-import-east-abcde-0',
      namespace: 'data',
      labels: { ...ours, 'multicluster.kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': 'globalsvc.dev' },
    },
    addressType: 'IPv4',
    endpoints: [endpoint('10.2.0.1')],
  };
  const withImports = (mcsApi: boolean, served: boolean | undefined) => {
    const index = new MemberIndex({ ...settings, includeLocal: true, mcsApi });
    index.importsServed = served;
    index.serviceChanges(
      index.services.apply({ type: 'relisted', namespace: undefined, items: [mirrorService({ name: 'db', cluster: 'east' })] }),
    );
    index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: [index.slices.transform(importSlice)] }));
    return index;
  };

  it("keep an import's slices apart from the global's, whether --mcs-api is on or not", () => {
    for (const [mcsApi, served] of [
      [true, true],
      [false, undefined],
    ] as const) {
      const world = withImports(mcsApi, served).world(key);
      expect(world.ownedSlices).toEqual([]);
      expect(world.mcs?.ownedSlices.map((s) => s.metadata.name)).toEqual(mcsApi ? ['db-import-east-abcde-0'] : undefined);
    }
  });

  it('plan no ServiceImport while the API server does not serve them (no CRD)', () => {
    expect(withImports(true, false).world(key).mcs).toBeUndefined();
  });

  it("name the key of a ServiceImport, ours or in the way, and of an import's derived Service", () => {
    const index = withImports(true, true);
    const keys = index.importChanges(
      index.imports.apply({
        type: 'relisted',
        namespace: undefined,
        items: [
          { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceImport', metadata: { name: 'web', namespace: 'data', uid: 'u' } },
        ],
      }),
    );
    expect([...keys]).toEqual(['data/web']);
    const derived = index.serviceChanges(
      index.services.apply({
        type: 'added',
        object: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'db-clusterset', namespace: 'data', uid: 'd', labels: { 'globalsvc.dev/derived-for': 'db' } },
          spec: { clusterIP: '10.96.5.5' },
        },
      }),
    );
    expect(derived.has('data/db')).toBe(true);
    expect(index.world(key).mcs?.atDerivedName?.metadata.name).toBe('db-clusterset');
  });
});

describe('members of another MCS implementation (--source=mcs)', () => {
  const imp = (annotations?: Record<string, string>) => ({
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ServiceImport',
    metadata: { name: 'db', namespace: 'data', uid: 'imp-uid', labels: { 'app.kubernetes.io/managed-by': 'submariner' }, annotations },
    spec: { type: 'Headless' as const, ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
  });
  const mcsSlice = (name: string, cluster: string, labels: Record<string, string>, ips: string[]): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'data', labels: { 'multicluster.kubernetes.io/source-cluster': cluster, ...labels } },
    addressType: 'IPv4',
    ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints: ips.map((ip, i) => endpoint(ip, { hostname: `db-${i}` })),
  });
  const indexWith = (
    sources: { linkerd: boolean; mcs: boolean },
    services: Service[],
    slices: EndpointSlice[],
    annotations?: Record<string, string>,
  ) => {
    const index = new MemberIndex({ ...settings, includeLocal: true, sources });
    index.serviceChanges(index.services.apply({ type: 'relisted', namespace: undefined, items: services.map(index.services.transform) }));
    index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: slices.map(index.slices.transform) }));
    const keys = index.apply('imports', { type: 'relisted', namespace: undefined, items: [index.imports.transform(imp(annotations))] });
    return { index, keys };
  };
  const local: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'data', uid: 'local-uid' },
    spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
  };

  it('takes each other cluster of a ServiceImport it does not own as a direct member, from KEP-labelled slices (Submariner, mcs-api)', () => {
    const kep = {
      'multicluster.kubernetes.io/service-name': 'db',
      'endpointslice.kubernetes.io/managed-by': 'lighthouse-agent.submariner.io',
    };
    const { index, keys } = indexWith(
      { linkerd: true, mcs: true },
      [local],
      [
        mcsSlice('db-east', 'east', kep, ['10.2.0.1', '10.2.0.2']),
        mcsSlice('db-north', 'north', kep, ['10.3.0.1']),
        // The local cluster's own export is the local member's, not a second one.
        mcsSlice('db-west', 'west', kep, ['10.1.0.9']),
        memberSlice(local, [endpoint('10.1.0.1', { hostname: 'db-0' })]),
      ],
    );
    expect([...keys]).toContain('data/db');
    const plan = planGlobal(index.world({ namespace: 'data', name: 'db' }), settings);
    const endpoints = plan.desired!.groups.flatMap((g) =>
      [...g.endpoints.values()].map((e) => `${g.cluster}${g.direct ? '(direct)' : ''} ${e.hostname} ${e.addresses[0]}`),
    );
    expect(endpoints.sort()).toEqual([
      'east(direct) db-0-east 10.2.0.1',
      'east(direct) db-1-east 10.2.0.2',
      'north(direct) db-0-north 10.3.0.1',
      'west db-0-west 10.1.0.1',
    ]);
    // Off by default: the same cluster has no global.
    const off = new MemberIndex({ ...settings, includeLocal: true });
    expect(planGlobal(off.world({ namespace: 'data', name: 'db' }), settings).desired).toBeNull();
  });

  it("reads Cilium's slices, filed under the import's derived Service (or the local Service) with their source cluster, and keeps them out of the local member", () => {
    const cilium = (service: string) => ({
      'kubernetes.io/service-name': service,
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-mesh-controller.cilium.io',
    });
    const { index } = indexWith(
      { linkerd: false, mcs: true },
      [local, mirrorService({ name: 'db', cluster: 'south' })],
      [
        mcsSlice('derived-abc-east', 'east', cilium('derived-abc'), ['10.2.0.1']),
        mcsSlice('db-north', 'north', cilium('db'), ['10.3.0.1']),
        memberSlice(local, [endpoint('10.1.0.1', { hostname: 'db-0' })]),
      ],
      { 'multicluster.kubernetes.io/derived-service': 'derived-abc' },
    );
    const plan = planGlobal(index.world({ namespace: 'data', name: 'db' }), settings);
    // --source=mcs alone: Linkerd's mirror of south is no member.
    expect(plan.desired!.groups.map((g) => `${g.cluster} ${[...g.endpoints.values()].map((e) => e.addresses[0]).join()}`).sort()).toEqual([
      'east 10.2.0.1',
      'north 10.3.0.1',
      'west 10.1.0.1',
    ]);
  });
});
