import { beforeAll, describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../../src/domain/k8s-types.js';
import { testBed } from '../support/bed.js';
import { violations } from '../support/invariants.js';
import { deployStatefulSet, scaleStatefulSet, slicesOf } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'faults';

const fromEast = async (bed: TestBed) =>
  (await slicesOf(bed.cluster('west'), NS, 'fx-global'))
    .filter(
      (s: EndpointSlice) =>
        s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev' &&
        s.metadata.labels!['multicluster.kubernetes.io/source-cluster'] === 'east',
    )
    .flatMap((s) => s.endpoints ?? []).length;

describe('faults', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'fx', 1);
    await waitFor('fx-global in west', async () => (await fromEast(bed)) === 1, 120_000);
  });

  it("converges after west's etcd and kube-apiserver restart, with what changed while they were down", async () => {
    const west = bed.cluster('west');
    await west.kwokctl('stop', 'cluster');
    await scaleStatefulSet(bed.cluster('east'), NS, 'fx', 3);
    await new Promise((r) => setTimeout(r, 5_000));
    const restarted = Date.now();
    await west.kwokctl('start', 'cluster');
    await waitFor(
      "west's API server",
      async () => (await west.admin.list({ kind: 'Namespace', apiPath: '/api/v1', plural: 'namespaces' })).length > 0,
      120_000,
    );
    await waitFor("east's new pods in west's fx-global", async () => (await fromEast(bed)) === 3, 180_000, 500);
    console.log(
      `fault: west's control plane restarted; fx-global converged ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart began`,
    );
    expect(bed.product.running('west')).toBe(true);
    await waitFor('no orphan or duplicate in west', async () => (await violations(west)).length === 0, 60_000);
    expect(await bed.product.metric('west', 'globalsvc_watch_restarts_total', { reason: 'error' })).toBeGreaterThan(0);
  });
});
