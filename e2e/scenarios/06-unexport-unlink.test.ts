import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/domain/k8s-types.js';
import { ENDPOINT_SLICES, SERVICES } from '../../src/cluster/kube-api.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { violations } from '../support/invariants.js';
import { deployStatefulSet, getService, slicesOf, namespaceEverywhere } from '../support/workloads.js';
import { link, unlink } from '../testbed/links.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'life';

/** The source clusters of our slices of pg-global in a cluster. */
const sources = async (bed: TestBed, viewer: string) =>
  new Set(
    (await slicesOf(bed.cluster(viewer), NS, 'pg-global'))
      .filter((s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev')
      .map((s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster']),
  );

describeOnBed('members leaving: unexport, unlink, the last member gone', () => {
  let bed: TestBed;
  let foreignSlice: EndpointSlice;
  let lookalike: Service;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'pg', 2);
    for (const viewer of bed.clusters.keys())
      await waitFor(`pg-global in ${viewer} from 3 clusters`, async () => (await sources(bed, viewer)).size === 3, 120_000);
    // Objects that are not ours, next to ours: they must survive everything below.
    const west = bed.cluster('west');
    foreignSlice = await west.admin.create<EndpointSlice>(
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'pg-global-manual',
          namespace: NS,
          labels: { 'kubernetes.io/service-name': 'pg-global', 'endpointslice.kubernetes.io/managed-by': 'someone-else' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.9.9.9'] }],
        ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      },
      ENDPOINT_SLICES,
    );
    lookalike = await west.admin.create<Service>(
      {
        apiVersion: 'v1',
        kind: 'Service',
        // Says global-of, but is not managed by globalsvc: not ours.
        metadata: { name: 'pg-copy', namespace: NS, labels: { 'globalsvc.dev/global-of': 'pg' } },
        spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
      },
      SERVICES,
    );
  });

  afterAll(async () => {
    // Give later files the full mesh back.
    if (!bed) return;
    const north = bed.cluster('north');
    for (const other of ['west', 'east']) {
      await link(bed.procs, bed.mirror, bed.cluster(other), north, bed.gateway('north').address);
      await link(bed.procs, bed.mirror, north, bed.cluster(other), bed.gateway(other).address);
    }
  });

  it("removes a cluster's endpoints from every other cluster's global when it unexports", async () => {
    const started = Date.now();
    await bed.cluster('east').admin.patchMerge(SERVICES, NS, 'pg', { metadata: { labels: { 'mirror.linkerd.io/exported': null } } });
    for (const viewer of ['west', 'north']) {
      await waitFor(
        `east to leave pg-global in ${viewer}`,
        async () => {
          const s = await sources(bed, viewer);
          return s.size === 2 && !s.has('east');
        },
        120_000,
      );
    }
    console.log(`scenario d: unexport converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('deletes the global when its last mirror goes (north unlinked), and only the global', async () => {
    const started = Date.now();
    const north = bed.cluster('north');
    for (const other of ['west', 'east']) {
      await unlink(bed.procs, bed.cluster(other), north);
      await unlink(bed.procs, north, bed.cluster(other));
    }
    // west had mirrors of east (unexported) and north (unlinked): none left, so no global.
    const west = bed.cluster('west');
    await waitFor('pg-global to be deleted in west', async () => (await getService(west, NS, 'pg-global')) === undefined, 120_000);
    await waitFor('pg-global to be deleted in north', async () => (await getService(north, NS, 'pg-global')) === undefined, 120_000);
    // east still mirrors west's pg: its global stays, without north.
    await waitFor(
      'north to leave pg-global in east',
      async () => {
        const s = await sources(bed, 'east');
        return s.size === 2 && s.has('west') && s.has('east');
      },
      120_000,
    );
    console.log(`scenario d: unlink converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    await waitFor(
      'our slices of pg-global in west to go',
      async () => (await west.admin.list(ENDPOINT_SLICES, NS, 'endpointslice.kubernetes.io/managed-by=globalsvc.dev')).length === 0,
    );
    const slice = await west.admin.get<EndpointSlice>(ENDPOINT_SLICES, NS, 'pg-global-manual');
    expect(slice?.metadata.resourceVersion).toBe(foreignSlice.metadata.resourceVersion);
    expect((await getService(west, NS, 'pg-copy'))?.metadata.resourceVersion).toBe(lookalike.metadata.resourceVersion);
    expect((await getService(west, NS, 'pg'))?.metadata.labels?.app).toBe('pg');
    // Every other global that only north's or east's mirrors held goes too, in every cluster.
    for (const cluster of bed.clusters.values()) {
      await waitFor(`no orphan or duplicate in ${cluster.name}`, async () => (await violations(cluster)).length === 0, 60_000).catch(
        async (err: Error) => {
          throw new Error(`${err.message}: ${(await violations(cluster)).join('; ')}`);
        },
      );
    }
  });
});
