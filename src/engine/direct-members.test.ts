import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import { planGlobal } from '../domain/plan.js';
import { endpoint, localService, memberSlice, mirrorService } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import { MemberIndex } from './member-index.js';

const settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
const key = { namespace: 'data', name: 'db' };

/** north's headless db as north's own API serves it: the Service (labelled for remote discovery) and a slice of its pods. */
function northDb(readyPods = 2, notReadyPods = 0): { service: Service; slice: EndpointSlice } {
  const service = localService('db');
  service.metadata.labels = { 'mirror.linkerd.io/exported': 'remote-discovery' };
  const endpoints = [
    ...Array.from({ length: readyPods }, (_, i) => endpoint(`10.3.0.${i + 1}`, { hostname: `db-${i}`, zone: 'north-a' })),
    ...Array.from({ length: notReadyPods }, (_, i) =>
      endpoint(`10.3.0.${readyPods + i + 1}`, {
        hostname: `db-${readyPods + i}`,
        conditions: { ready: false, serving: false, terminating: false },
      }),
    ),
  ];
  const slice = memberSlice(service, endpoints, { name: 'db-x7k2p' });
  slice.metadata.labels!['endpointslice.kubernetes.io/managed-by'] = 'endpointslice-controller.k8s.io';
  return { service, slice };
}

function indexWith(
  direct: { service: Service; slice: EndpointSlice },
  here: { services: Service[]; slices: EndpointSlice[] } = { services: [], slices: [] },
) {
  const index = new MemberIndex({ ...settings, includeLocal: true, remoteDiscovery: true });
  index.serviceChanges(
    index.services.apply({ type: 'relisted', namespace: undefined, items: here.services.map(index.services.transform) }),
  );
  index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: here.slices.map(index.slices.transform) }));
  index.direct.open('north');
  const keys = new Set([
    ...index.direct.apply('north', 'services', {
      type: 'relisted',
      namespace: undefined,
      items: [index.direct.transforms.services(direct.service)],
    }),
    ...index.direct.apply('north', 'slices', {
      type: 'relisted',
      namespace: undefined,
      items: [index.direct.transforms.slices(direct.slice)],
    }),
  ]);
  return { index, keys };
}

const published = (index: MemberIndex, links = index.links) => {
  index.links = links;
  const plan = planGlobal(index.world(key), settings);
  return plan.desired!.groups.flatMap((g) =>
    [...g.endpoints.values()].map((e) => ({
      cluster: g.cluster,
      direct: g.direct === true,
      hostname: e.hostname,
      address: e.addresses[0],
      ready: e.conditions?.ready,
    })),
  );
};

describe("a direct member: a linked cluster's Service read straight from it (flat network)", () => {
  it('publishes its pod IPs, hostnames made <hostname>-<cluster>, readiness as the cluster has it', () => {
    const { index, keys } = indexWith(northDb(2, 1), {
      services: [localService('db')],
      slices: [memberSlice(localService('db'), [endpoint('10.1.0.1', { hostname: 'db-0' })])],
    });
    expect([...keys]).toEqual(['data/db']);
    expect([...index.knownKeys()]).toEqual(['data/db']);
    expect(published(index)).toEqual([
      { cluster: 'north', direct: true, hostname: 'db-0-north', address: '10.3.0.1', ready: true },
      { cluster: 'north', direct: true, hostname: 'db-1-north', address: '10.3.0.2', ready: true },
      { cluster: 'north', direct: true, hostname: 'db-2-north', address: '10.3.0.3', ready: false },
      { cluster: 'west', direct: false, hostname: 'db-0-west', address: '10.1.0.1', ready: true },
    ]);
    // A pod not ready in north is a pod, not a dead gateway: no ClusterUnreachable.
    expect(planGlobal(index.world(key), settings).problems).toEqual([]);
  });

  it('makes a global alone, labels its slices as direct, and keeps the zone', () => {
    const { index } = indexWith(northDb(1));
    const written = new FakeNamespace();
    converge(written, (world) => planGlobal(world, settings), key, [...index.world(key).members], 'db-global');
    const slices = [...written.slices.values()];
    expect(slices).toHaveLength(1);
    expect(slices[0]!.metadata.labels).toMatchObject({
      'multicluster.kubernetes.io/source-cluster': 'north',
      'globalsvc.dev/member-origin': 'direct',
    });
    expect(slices[0]!.endpoints![0]!.zone).toBe('north-a');
  });

  it("is not taken out by a dead gateway of its cluster: no gateway stands between, unlike north's mirrors", () => {
    const mirror = mirrorService({ name: 'db', cluster: 'north', headless: false });
    const { index } = indexWith(northDb(1), { services: [mirror], slices: [memberSlice(mirror, [endpoint('192.0.2.9')])] });
    const rows = published(index, { gatewayDown: new Set(['north']) });
    expect(rows).toEqual([
      { cluster: 'north', direct: true, hostname: 'db-0-north', address: '10.3.0.1', ready: true },
      { cluster: 'north', direct: false, hostname: undefined, address: '192.0.2.9', ready: false },
    ]);
  });

  it('keeps its endpoints while its cluster is stale, publishes them not ready once expired, and leaves when gone', () => {
    const { index } = indexWith(northDb(1));
    expect([...index.direct.setState('north', 'stale')]).toEqual(['data/db']);
    expect(published(index)).toEqual([{ cluster: 'north', direct: true, hostname: 'db-0-north', address: '10.3.0.1', ready: true }]);
    expect(planGlobal(index.world(key), settings).problems.map((p) => p.reason)).toEqual(['RemoteClusterUnreachable']);
    index.direct.setState('north', 'expired');
    expect(published(index)).toEqual([{ cluster: 'north', direct: true, hostname: 'db-0-north', address: '10.3.0.1', ready: false }]);
    index.direct.setState('north', 'gone');
    expect(planGlobal(index.world(key), settings).desired).toBeNull();
    index.direct.setState('north', 'live');
    expect(published(index)).toHaveLength(1);
  });

  it("takes a cluster's slices before its Service, and a Service of ours at the global's name as a squatter's change", () => {
    const { service, slice } = northDb(1);
    const index = new MemberIndex({ ...settings, includeLocal: true, remoteDiscovery: true });
    index.direct.open('north');
    expect([...index.direct.apply('north', 'slices', { type: 'added', object: index.direct.transforms.slices(slice) })]).toEqual([]);
    expect([...index.direct.apply('north', 'services', { type: 'added', object: index.direct.transforms.services(service) })]).toEqual([
      'data/db',
    ]);
    expect(published(index)).toEqual([{ cluster: 'north', direct: true, hostname: 'db-0-north', address: '10.3.0.1', ready: true }]);
    // Someone's Service at the global's name here: the key of the direct member is marked, as for a mirror's.
    const squatter = localService('db-global');
    expect([...index.serviceChanges(index.services.apply({ type: 'added', object: index.services.transform(squatter) }))]).toContain(
      'data/db',
    );
  });

  it('counts among the cached objects that turn V8 compilers on, until its Link goes', () => {
    const here = localService('web');
    const { index } = indexWith(northDb(2), { services: [here], slices: [memberSlice(here, [endpoint('10.1.0.1')])] });
    expect(index.direct.cachedObjects).toBe(2);
    expect(index.cachedObjects).toBe(4);
    index.direct.close('north');
    expect(index.cachedObjects).toBe(2);
  });

  it('leaves every global when its Link goes', () => {
    const { index } = indexWith(northDb(2));
    expect([...index.direct.close('north')]).toEqual(['data/db']);
    expect(planGlobal(index.world(key), settings).desired).toBeNull();
  });

  it("ignores Linkerd's endpoint-less remote-discovery mirror once the cluster is read directly", () => {
    const mirror = mirrorService({
      name: 'db',
      cluster: 'north',
      headless: false,
      labels: { 'multicluster.linkerd.io/remote-discovery': 'north' },
    });
    const { index } = indexWith(northDb(1), { services: [mirror], slices: [] });
    expect(index.classificationOf('data', 'db-north')).toEqual({ kind: 'ignored' });
    expect(planGlobal(index.world(key), settings).problems).toEqual([]);
  });
});
