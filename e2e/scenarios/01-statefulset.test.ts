import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import {
  deployStatefulSet,
  expectedAddresses,
  fqdn,
  getService,
  readyPods,
  scaleStatefulSet,
  slicesOf,
  sorted,
  namespaceEverywhere,
} from '../support/workloads.js';
import { explained } from '../support/diagnose.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'data';

/** Waits until every cluster's DNS answers `db-global` with exactly the expected member addresses. */
async function convergedEverywhere(bed: TestBed, app: string, replicasByCluster: Record<string, number>): Promise<void> {
  const total = Object.values(replicasByCluster).reduce((a, b) => a + b, 0);
  for (const viewer of bed.clusters.keys()) {
    let last = '';
    await explained(bed, viewer, NS, () =>
      waitFor(
        `${app}-global in ${viewer} to resolve to ${total} addresses`,
        async () => {
          const expected = await expectedAddresses(bed, viewer, NS, app);
          const answer = await bed.dnsOf(viewer).a(fqdn(`${app}-global`, NS));
          last = `expected ${JSON.stringify([...expected])}, DNS answered ${JSON.stringify(answer)}`;
          return expected.size === total && JSON.stringify(answer) === JSON.stringify(sorted(expected.values()));
        },
        120_000,
        500,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; last seen: ${last}`);
      }),
    );
  }
}

describeOnBed('a StatefulSet exported from every cluster', () => {
  let bed: TestBed;
  let started = 0;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    started = Date.now();
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'db', 2);
  });

  it('gets one headless db-global in every cluster, resolving to all 6 member addresses', async () => {
    await convergedEverywhere(bed, 'db', { west: 2, east: 2, north: 2 });
    console.log(`scenario a: converged in ${((Date.now() - started) / 1000).toFixed(1)} s after the StatefulSets were created`);
    for (const cluster of bed.clusters.values()) {
      const global = await getService(cluster, NS, 'db-global');
      expect(global?.spec?.clusterIP).toBe('None');
      expect(global?.spec?.selector).toBeUndefined();
      expect(global?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'db' });
      const slices = await slicesOf(cluster, NS, 'db-global');
      expect(sorted(slices.map((s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster']!))).toEqual([
        'east',
        'north',
        'west',
      ]);
      for (const slice of slices) {
        expect(slice.metadata.labels!['endpointslice.kubernetes.io/managed-by']).toBe('globalsvc.dev');
        expect(slice.metadata.ownerReferences).toEqual([
          expect.objectContaining({ kind: 'Service', name: 'db-global', uid: global!.metadata.uid, controller: true }),
        ]);
      }
      expect((await bed.dnsOf(cluster.name).a(fqdn('db-global', NS))).length).toBe(6);
    }
  });

  it('resolves <pod>-<cluster>.db-global to exactly that pod of that cluster', async () => {
    const north = bed.cluster('north');
    const db1 = (await readyPods(north, NS, 'db')).find((p) => p.metadata.name === 'db-1')!;
    // In north itself, the pod's own IP.
    expect(await bed.dnsOf('north').a(`db-1-north.${fqdn('db-global', NS)}`)).toEqual([db1.status!.podIP]);
    // Elsewhere, the ClusterIP of the endpoint mirror Linkerd made for north's db-1.
    for (const viewer of ['west', 'east']) {
      const mirror = await getService(bed.cluster(viewer), NS, 'db-1-north');
      expect(await bed.dnsOf(viewer).a(`db-1-north.${fqdn('db-global', NS)}`)).toEqual([mirror!.spec!.clusterIP]);
    }
  });

  it('follows north scaling 2 → 4 → 1 in slices and DNS', async () => {
    for (const replicas of [4, 1]) {
      const t = Date.now();
      await scaleStatefulSet(bed.cluster('north'), NS, 'db', replicas);
      await convergedEverywhere(bed, 'db', { west: 2, east: 2, north: replicas });
      console.log(`scenario b: north at ${replicas} replicas, every cluster's DNS converged in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      // Slices keep terminating pods (conditions carry over) until they are gone.
      for (const cluster of bed.clusters.values()) {
        await waitFor(`north's slice in ${cluster.name} to list ${replicas} pods`, async () => {
          const northSlices = (await slicesOf(cluster, NS, 'db-global')).filter(
            (s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster'] === 'north',
          );
          const hostnames = sorted(northSlices.flatMap((s) => s.endpoints ?? []).map((e) => e.hostname!));
          return JSON.stringify(hostnames) === JSON.stringify(Array.from({ length: replicas }, (_, i) => `db-${i}-north`));
        });
      }
    }
    expect(await bed.dnsOf('west').a(`db-3-north.${fqdn('db-global', NS)}`)).toEqual([]);
  });
  it('makes zero API writes while nothing changes', async () => {
    const writes = () => Promise.all([...bed.clusters.keys()].map((c) => bed.product.metric(c, 'globalsvc_api_writes_total')));
    // Let earlier scenarios' pods settle: a controller that kept writing would never get here.
    let last = await writes();
    await waitFor(
      'the write counters to settle',
      async () => {
        await new Promise((r) => setTimeout(r, 5_000));
        const now = await writes();
        const settled = JSON.stringify(now) === JSON.stringify(last);
        last = now;
        return settled;
      },
      90_000,
      0,
    );
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await writes()).toEqual(last);
  });
});
