import { beforeAll, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/domain/k8s-types.js';
import { ENDPOINT_SLICES, SERVICES } from '../../src/cluster/kube-api.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { violations } from '../support/invariants.js';
import {
  deployStatefulSet,
  expectedAddresses,
  fqdn,
  getService,
  scaleStatefulSet,
  sorted,
  namespaceEverywhere,
} from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'restart';

describeOnBed('the controller killed and restarted mid-way', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'queue', 2);
    await waitFor('queue-global in west', async () => (await bed.dnsOf('west').a(fqdn('queue-global', NS))).length === 6, 120_000);
  });

  it('converges with no duplicate and no orphan object', async () => {
    const west = bed.cluster('west');
    // Changes land while west's controller is working on them, then it dies without a goodbye.
    await scaleStatefulSet(bed.cluster('east'), NS, 'queue', 5);
    await deployStatefulSet(bed.cluster('north'), NS, 'late', 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(await bed.product.stop('west', 'SIGKILL')).toBeNull();

    // While it is down: a leftover global of ours whose mirrors are long gone, and more changes.
    const ghost = await west.admin.create<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'ghost-global',
        namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'ghost' },
      },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
    });
    await west.admin.create<EndpointSlice>(
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'ghost-global-east-00000-0',
          namespace: NS,
          labels: {
            'kubernetes.io/service-name': 'ghost-global',
            'endpointslice.kubernetes.io/managed-by': 'globalsvc.dev',
            'globalsvc.dev/global-of': 'ghost',
            'multicluster.kubernetes.io/source-cluster': 'east',
          },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.2.99.99'] }],
        ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      },
      ENDPOINT_SLICES,
    );
    await scaleStatefulSet(bed.cluster('north'), NS, 'queue', 3);

    const restarted = Date.now();
    await bed.product.start('west');
    await waitFor(
      'west to converge after the restart',
      async () => {
        const queue = await expectedAddresses(bed, 'west', NS, 'queue');
        const late = await expectedAddresses(bed, 'west', NS, 'late');
        return (
          queue.size === 10 &&
          late.size === 3 &&
          JSON.stringify(await bed.dnsOf('west').a(fqdn('queue-global', NS))) === JSON.stringify(sorted(queue.values())) &&
          JSON.stringify(await bed.dnsOf('west').a(fqdn('late-global', NS))) === JSON.stringify(sorted(late.values())) &&
          (await getService(west, NS, 'ghost-global')) === undefined &&
          (await west.admin.list(ENDPOINT_SLICES, NS, 'globalsvc.dev/global-of=ghost')).length === 0
        );
      },
      120_000,
    );
    console.log(
      `scenario f: converged ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart (ghost ${ghost.metadata.uid} removed)`,
    );
    expect(await violations(west)).toEqual([]);
    const globals = (await west.admin.list<Service>(SERVICES, NS)).filter(
      (s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
    );
    expect(sorted(globals.map((s) => s.metadata.name!))).toEqual(['late-global', 'queue-global']);
  });
});
