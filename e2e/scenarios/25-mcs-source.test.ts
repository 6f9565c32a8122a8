import { afterAll, beforeAll, expect, it } from 'vitest';
import { ENDPOINT_SLICES, SERVICE_IMPORTS, SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, Service, ServiceImport } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, fqdn, getService, sorted } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'mcssrc';

/**
 * Another MCS implementation as the source of members (--source, docs/mcs-api.md): its
 * ServiceImports and the EndpointSlices it keeps for them give `<name>-global` and
 * `<pod>-<cluster>.<name>-global` on plain cluster.local. No Cilium or Submariner runs on the bed:
 * the test writes their objects into west exactly as they write them (a ServiceImport with its
 * derived Service; Cilium's slices filed under the derived Service, Lighthouse's under the KEP's
 * service-name label), each with its source cluster and the pods' own addresses.
 */
describeOnBed('MCS implementations as a source: <name>-global from ServiceImports and multicluster slices', () => {
  let bed: TestBed;
  const argsBefore = new Map<string, string[]>();
  const west = () => bed.cluster('west');

  const slice = (name: string, cluster: string, labels: Record<string, string>, pods: [string, string][]): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'multicluster.kubernetes.io/source-cluster': cluster, ...labels } },
    addressType: 'IPv4',
    ports: [{ name: 'tcp', protocol: 'TCP', port: 6379 }],
    endpoints: pods.map(([hostname, ip]) => ({ addresses: [ip], hostname, conditions: { ready: true } })),
  });
  const cilium = (service: string) => ({
    'kubernetes.io/service-name': service,
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-mesh-controller.cilium.io',
  });
  const lighthouse = (name: string) => ({
    'multicluster.kubernetes.io/service-name': name,
    'endpointslice.kubernetes.io/managed-by': 'lighthouse-agent.submariner.io',
  });
  const answers = async (name: string) => sorted(await bed.dnsOf('west').a(fqdn(name, NS)));

  beforeAll(async () => {
    bed = await testBed();
    for (const id of bed.product.replicasOf('west')) {
      argsBefore.set(id, [...bed.product.instance(id).args]);
      await bed.product.restartWith(id, [...argsBefore.get(id)!, '--source=linkerd,mcs']);
    }
    await west().admin.ensureNamespace(NS);
  });

  afterAll(async () => {
    for (const [id, args] of argsBefore) await bed.product.restartWith(id, args);
  });

  it("gives <name>-global on cluster.local from a ServiceImport and Cilium's slices, the local pods with them", async () => {
    // The local StatefulSet, not exported through Linkerd: a member as the local Service.
    await deployStatefulSet(west(), NS, 'cache', 1, { exported: false, port: 6379, portName: 'tcp' });
    // What Cilium's MCS-API writes in west for cache exported from east and north.
    await west().admin.apply<Service>(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'derived-c4ch3', namespace: NS },
        spec: { clusterIP: 'None', ports: [{ name: 'tcp', protocol: 'TCP', port: 6379 }] },
      },
      SERVICES,
    );
    await west().admin.create<ServiceImport>(
      {
        apiVersion: 'multicluster.x-k8s.io/v1alpha1',
        kind: 'ServiceImport',
        metadata: {
          name: 'cache',
          namespace: NS,
          labels: { 'app.kubernetes.io/managed-by': 'cilium' },
          annotations: { 'multicluster.kubernetes.io/derived-service': 'derived-c4ch3' },
        },
        spec: { type: 'Headless', ports: [{ name: 'tcp', protocol: 'TCP', port: 6379 }] },
      },
      SERVICE_IMPORTS,
    );
    for (const s of [
      slice('derived-c4ch3-east', 'east', cilium('derived-c4ch3'), [
        ['cache-0', '10.2.7.1'],
        ['cache-1', '10.2.7.2'],
      ]),
      slice('derived-c4ch3-north', 'north', cilium('derived-c4ch3'), [['cache-0', '10.3.7.1']]),
    ])
      await west().admin.create(s, ENDPOINT_SLICES);

    let local = '';
    await waitFor(
      'cache-global in west: the local pod and east and north from the MCS slices',
      async () => {
        local = (await west().admin.list<EndpointSlice>(ENDPOINT_SLICES, NS, 'kubernetes.io/service-name=cache'))
          .flatMap((s) => (s.endpoints ?? []).map((e) => e.addresses[0]!))
          .join();
        return local !== '' && (await answers('cache-global')).join(' ') === sorted([local, '10.2.7.1', '10.2.7.2', '10.3.7.1']).join(' ');
      },
      120_000,
    );
    for (const [pod, ip] of [
      ['cache-0-east', '10.2.7.1'],
      ['cache-1-east', '10.2.7.2'],
      ['cache-0-north', '10.3.7.1'],
      ['cache-0-west', local],
    ])
      expect(await answers(`${pod}.cache-global`), pod).toEqual([ip]);
    const global = (await getService(west(), NS, 'cache-global'))!;
    expect(global.spec?.clusterIP).toBe('None');
    const ours = await west().admin.list<EndpointSlice>(ENDPOINT_SLICES, NS, 'kubernetes.io/service-name=cache-global');
    expect(
      sorted(
        ours.map(
          (s) =>
            `${s.metadata.labels!['multicluster.kubernetes.io/source-cluster']}:${s.metadata.labels!['globalsvc.dev/member-origin'] ?? 'local'}`,
        ),
      ),
    ).toEqual(['east:direct', 'north:direct', 'west:local']);
    // Cilium's slices are theirs, and the local Service's answers are the local pod's alone.
    expect(await answers('cache')).toEqual([local]);
    console.log(`mcs-source: west ${fqdn('cache-global', NS)} -> ${(await answers('cache-global')).join(' ')}`);
  });

  it("follows the implementation's slices, and takes Lighthouse's KEP-labelled slices as well", async () => {
    // North's pod gone from Cilium's slice: it leaves the global.
    await west().admin.delete(ENDPOINT_SLICES, NS, 'derived-c4ch3-north');
    await waitFor('cache-0-north gone', async () => (await answers('cache-0-north.cache-global')).length === 0, 60_000);
    // Submariner Lighthouse's way: the KEP's service-name label, no derived Service.
    await west().admin.create<ServiceImport>(
      {
        apiVersion: 'multicluster.x-k8s.io/v1alpha1',
        kind: 'ServiceImport',
        metadata: { name: 'queue', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'lighthouse-agent.submariner.io' } },
        spec: { type: 'Headless', ports: [{ name: 'tcp', protocol: 'TCP', port: 6379 }] },
      },
      SERVICE_IMPORTS,
    );
    await west().admin.create(slice('queue-east-lh', 'east', lighthouse('queue'), [['queue-0', '10.2.8.1']]), ENDPOINT_SLICES);
    await waitFor('queue-global in west', async () => (await answers('queue-global')).join() === '10.2.8.1', 60_000);
    expect(await answers('queue-0-east.queue-global')).toEqual(['10.2.8.1']);
    // The ServiceImport gone: its members go, and the global with them.
    await west().admin.delete(SERVICE_IMPORTS, NS, 'queue');
    await waitFor('queue-global gone', async () => (await getService(west(), NS, 'queue-global')) === undefined, 60_000);
    // Nothing of the implementation's was touched.
    expect(await west().admin.get(ENDPOINT_SLICES, NS, 'queue-east-lh')).toBeDefined();
    expect(await west().admin.get(ENDPOINT_SLICES, NS, 'derived-c4ch3-east')).toBeDefined();
  });
});
