import { beforeAll, expect, it } from 'vitest';
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject, Service } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { eventAbout } from '../support/events.js';
import { violations } from '../support/invariants.js';
import {
  deployStatefulSet,
  expectedAddresses,
  fqdn,
  getService,
  slicesOf,
  sorted,
  WORKLOAD_IMAGE,
  namespaceEverywhere,
} from '../support/workloads.js';
import type { Cluster } from '../testbed/cluster.js';
import { NAMESPACES } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

describeOnBed('names that trip naive implementations', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    for (const ns of ['shop-a', 'shop-b']) await namespaceEverywhere(bed, ns);
    // A service whose name contains a cluster name: its mirror in west is "east-orders-east".
    await deployStatefulSet(bed.cluster('east'), 'shop-a', 'east-orders', 2);
    await deployStatefulSet(bed.cluster('north'), 'shop-a', 'east-orders', 1);
    // The same name in two namespaces: two globals that must never mix.
    await deployStatefulSet(bed.cluster('east'), 'shop-a', 'cart', 2);
    await deployStatefulSet(bed.cluster('east'), 'shop-b', 'cart', 3);
  });

  it('takes the original name from the annotation, so "east-orders" from east is not read as "orders"', async () => {
    const west = bed.cluster('west');
    await waitFor(
      'east-orders-global in west',
      async () => (await bed.dnsOf('west').a(fqdn('east-orders-global', 'shop-a'))).length === 3,
      120_000,
    );
    expect(await getService(west, 'shop-a', 'orders-global')).toBeUndefined();
    expect(await getService(west, 'shop-a', 'east-orders-global')).toMatchObject({
      metadata: { labels: { 'globalsvc.dev/global-of': 'east-orders' } },
    });
  });

  it('keeps the same name in two namespaces apart', async () => {
    for (const [ns, n] of [
      ['shop-a', 2],
      ['shop-b', 3],
    ] as const) {
      await waitFor(
        `cart-global in ${ns}`,
        async () => {
          const expected = await expectedAddresses(bed, 'west', ns, 'cart');
          return (
            expected.size === n &&
            JSON.stringify(await bed.dnsOf('west').a(fqdn('cart-global', ns))) === JSON.stringify(sorted(expected.values()))
          );
        },
        120_000,
      );
    }
  });
});

describeOnBed('bad input: said clearly, nothing lost', () => {
  let bed: TestBed;
  const NS = 'bad-input';

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
  });

  /** How many endpoints `viewer`'s global `name` publishes, by source cluster and address type. */
  const published = async (viewer: string, name: string) => {
    const count: Record<string, number> = {};
    for (const s of await slicesOf(bed.cluster(viewer), NS, name)) {
      if (s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== 'globalsvc.dev') continue;
      const key = `${s.metadata.labels['multicluster.kubernetes.io/source-cluster']}/${s.addressType}`;
      count[key] = (count[key] ?? 0) + (s.endpoints?.length ?? 0);
    }
    // Keys in order, so that two counts compare as JSON.
    return Object.fromEntries(Object.entries(count).sort(([a], [b]) => a.localeCompare(b)));
  };

  it('names a global of a 56-character service with exactly 63 characters, uncut', async () => {
    const name = `n${'x'.repeat(55)}`;
    await deployStatefulSet(bed.cluster('east'), NS, 'limit', 1, { serviceName: name });
    await waitFor(`${name}-global in west`, async () => (await bed.dnsOf('west').a(fqdn(`${name}-global`, NS))).length === 1, 120_000);
    expect(`${name}-global`).toHaveLength(63);
  });

  it('reports mirrors with a missing or garbled remote name on the mirror itself, and publishes nothing for them', async () => {
    const west = bed.cluster('west');
    await west.admin.ensureNamespace(NS);
    const problems = () => bed.product.metric('west', 'globalsvc_problems_total', { reason: 'MissingRemoteName' });
    const before = await problems();
    const mirror = (name: string, annotations: Record<string, string>) =>
      west.admin.apply<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name,
          namespace: NS,
          labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': 'east' },
          annotations,
        },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      });
    await mirror('nameless-east', {});
    await mirror('garbled-east', { 'mirror.linkerd.io/remote-svc-fq-name': '..Not_A-Name..' });
    expect((await eventAbout(west, NS, 'nameless-east', 'MissingRemoteName')).message).toContain('remote-svc-fq-name');
    expect((await eventAbout(west, NS, 'garbled-east', 'GarbledRemoteName')).message).toContain('..Not_A-Name..');
    expect(await problems()).toBeGreaterThan(before);
    const ours = (await west.admin.list<Service>(SERVICES, NS)).filter(
      (s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
    );
    expect(ours.map((s) => s.metadata.name).filter((n) => n!.startsWith('nameless') || n!.startsWith('garbled'))).toEqual([]);
    expect(await violations(west)).toEqual([]);
  });

  it('publishes IPv6 and dual-stack members as IPv6 slices beside the IPv4 ones, and DNS answers AAAA', async () => {
    const west = bed.cluster('west');
    await deployStatefulSet(bed.cluster('east'), NS, 'dual', 1);
    // West's own `dual` has no selector: its endpoints are written by hand, one dual-stack address pair and one IPv6 only.
    await west.admin.ensureNamespace(NS);
    await west.admin.apply<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dual', namespace: NS },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    });
    for (const [type, addresses] of [
      ['IPv4', ['10.99.0.7']],
      ['IPv6', ['fd00:99::7', 'fd00:99::8']],
    ] as const) {
      await west.admin.apply<EndpointSlice>({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `dual-${type.toLowerCase()}`,
          namespace: NS,
          labels: { 'kubernetes.io/service-name': 'dual', 'endpointslice.kubernetes.io/managed-by': 'e2e.globalsvc.dev' },
        },
        addressType: type,
        endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      } as EndpointSlice);
    }
    await waitFor(
      'dual-global in west with both address types',
      async () =>
        JSON.stringify(await published('west', 'dual-global')) === JSON.stringify({ 'east/IPv4': 1, 'west/IPv4': 1, 'west/IPv6': 2 }),
      120_000,
    );
    expect(await bed.dnsOf('west').aaaa(fqdn('dual-global', NS))).toEqual(['fd00:99::7', 'fd00:99::8']);
    expect(await bed.dnsOf('west').a(fqdn('dual-global', NS))).toHaveLength(2);
    expect(await violations(west)).toEqual([]);
  });

  it('publishes a member of 5,000 endpoints completely, in slices under the limit', async () => {
    const west = bed.cluster('west');
    await deployStatefulSet(bed.cluster('east'), NS, 'huge', 1);
    await west.admin.apply<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'huge', namespace: NS },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    });
    const started = Date.now();
    for (let s = 0; s < 5; s++) {
      await west.admin.apply<EndpointSlice>({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `huge-${s}`,
          namespace: NS,
          labels: { 'kubernetes.io/service-name': 'huge', 'endpointslice.kubernetes.io/managed-by': 'e2e.globalsvc.dev' },
        },
        addressType: 'IPv4',
        endpoints: Array.from({ length: 1000 }, (_, i) => ({
          addresses: [`10.98.${s * 4 + Math.floor(i / 250)}.${(i % 250) + 1}`],
          conditions: { ready: true },
        })),
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      } as EndpointSlice);
    }
    await waitFor('all 5,000 in huge-global', async () => (await published('west', 'huge-global'))['west/IPv4'] === 5000, 180_000, 500);
    const slices = (await slicesOf(west, NS, 'huge-global')).filter(
      (s) => s.metadata.labels?.['multicluster.kubernetes.io/source-cluster'] === 'west',
    );
    console.log(
      `bad input: a member of 5,000 endpoints published in ${slices.length} slices, ${((Date.now() - started) / 1000).toFixed(1)} s after it was written`,
    );
    expect(slices.every((s) => (s.endpoints?.length ?? 0) <= 100)).toBe(true);
    expect(slices).toHaveLength(50);
    expect(await violations(west)).toEqual([]);
  });

  it('rewrites a hostname that stops being a valid DNS label once suffixed with its cluster, and says so', async () => {
    const west = bed.cluster('west');
    const hostname = `h${'y'.repeat(59)}`; // 60 characters; with "-west" 65, over the limit of 63
    await deployStatefulSet(bed.cluster('east'), NS, 'hn', 1);
    await west.admin.apply<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hn', namespace: NS },
      spec: { clusterIP: 'None', selector: { app: 'hn-west' }, ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    });
    await west.admin.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hn-west', namespace: NS, labels: { app: 'hn-west' } },
      spec: { hostname, subdomain: 'hn', containers: [{ name: 'db', image: WORKLOAD_IMAGE }] },
    } as KubeObject);
    const event = await eventAbout(west, NS, 'hn-global', 'HostnameRewritten');
    expect(event.message).toContain(hostname);
    const label = /published as "([^"]+)"/.exec(event.message ?? '')![1]!;
    expect(label.length).toBeLessThanOrEqual(63);
    await waitFor(
      `${label}.hn-global resolves`,
      async () => (await bed.dnsOf('west').a(fqdn(`${label}.hn-global`, NS))).length === 1,
      120_000,
    );
  });

  it('lets a namespace with members be deleted, and drops its cluster from the other clusters', async () => {
    const [west, north] = [bed.cluster('west'), bed.cluster('north')];
    await namespaceEverywhere(bed, 'doomed');
    for (const c of ['east', 'north']) await deployStatefulSet(bed.cluster(c), 'doomed', 'dm', 1);
    await waitFor(
      'dm-global in west with east and north',
      async () => (await publishedIn(west, 'doomed', 'dm-global')).length === 2,
      120_000,
    );
    const uid = (await north.admin.get(NAMESPACES, undefined, 'doomed'))!.metadata.uid;
    const started = Date.now();
    await north.admin.delete(NAMESPACES, undefined, 'doomed');
    // Gone (or gone and made again, were north's mirrors run with -enable-namespace-creation).
    await waitFor(
      "north's namespace deleted",
      async () => (await north.admin.get(NAMESPACES, undefined, 'doomed'))?.metadata.uid !== uid,
      180_000,
      500,
    );
    await waitFor(
      "north's member gone from west's dm-global",
      async () => JSON.stringify(await publishedIn(west, 'doomed', 'dm-global')) === '["east"]',
      120_000,
    );
    console.log(
      `bad input: north's namespace with members deleted in ${((Date.now() - started) / 1000).toFixed(1)} s; west dropped north's endpoints`,
    );
    expect(bed.product.running('north')).toBe(true);
    await waitFor('north without orphan or duplicate', async () => (await violations(north)).length === 0, 60_000);
  });
});

/** The source clusters of `cluster`'s global `name` in `namespace`, sorted. */
async function publishedIn(cluster: Cluster, namespace: string, name: string): Promise<string[]> {
  return sorted(
    new Set(
      (await slicesOf(cluster, namespace, name))
        .filter((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev' && (s.endpoints?.length ?? 0) > 0)
        .map((s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster']!),
    ),
  );
}
