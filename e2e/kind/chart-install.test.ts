import { beforeAll, expect, it } from 'vitest';
import { DEPLOYMENTS } from '../../src/cluster/kube-api.js';
import { LEASES } from '../../src/cluster/leader-election.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, expectedAddresses, fqdn, namespaceEverywhere, scaleStatefulSet, sorted } from '../support/workloads.js';
import { KindCluster } from '../testbed/kind-cluster.js';
import { PODS } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'chart';
const PRODUCT_NS = 'globalsvc';

interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    template: {
      spec: { serviceAccountName: string; containers: { image: string; securityContext?: { readOnlyRootFilesystem?: boolean } }[] };
    };
  };
  status?: { readyReplicas?: number };
}
interface Pod extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}
interface Lease extends KubeObject {
  spec: { holderIdentity?: string };
}

const readyPodNames = async (node: KindCluster) =>
  (await node.admin.list<Pod>(PODS, PRODUCT_NS, 'app.kubernetes.io/name=globalsvc'))
    .filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata.name!);

/** The pod holding globalsvc's Lease (its identity is `<hostname>_<random>`, a pod's hostname its name). */
const leaderOf = async (node: KindCluster) =>
  (await node.admin.get<Lease>(LEASES, PRODUCT_NS, 'globalsvc'))?.spec.holderIdentity?.split('_')[0] ?? '';

/**
 * On the kind provider globalsvc is what users install: the image built from the Dockerfile here,
 * the Helm chart's Deployment in every cluster (e2e/testbed/chart-product.ts). Every other kind
 * scenario runs against that installation; this one shows it is that installation, and that its
 * writes are taken over when its leader crashes in a real pod.
 */
describeOnBed("globalsvc as its Helm chart installs it, in every kind-style cluster's pods", () => {
  let bed: TestBed;
  const nodes = () => [...bed.clusters.values()] as KindCluster[];

  beforeAll(async () => {
    bed = await testBed();
    if (!(nodes()[0] instanceof KindCluster)) throw new Error('e2e/kind runs on the kind provider only (E2E_PROVIDER=kind)');
    await namespaceEverywhere(bed, NS);
    for (const node of nodes()) await deployStatefulSet(node, NS, 'hq', 1);
  });

  it('runs the Deployment it ships: 2 ready replicas of the image built here, one holding the Lease, nothing on the host', async () => {
    for (const node of nodes()) {
      const deployment = await node.admin.get<Deployment>(DEPLOYMENTS, PRODUCT_NS, 'globalsvc');
      expect(deployment?.spec.replicas, node.name).toBe(2);
      expect(deployment?.status?.readyReplicas, node.name).toBe(2);
      const pod = deployment!.spec.template.spec;
      expect(pod.containers[0]!.image).toBe(process.env.E2E_PRODUCT_IMAGE);
      expect(pod.containers[0]!.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(pod.serviceAccountName).toBe('globalsvc');
      const pods = await readyPodNames(node);
      expect(pods).toHaveLength(2);
      await waitFor(`a globalsvc pod in ${node.name} holding the Lease`, async () => pods.includes(await leaderOf(node)));
      expect(bed.product.replicasOf(node.name).some((id) => bed.procs.has(`globalsvc-${id}`))).toBe(false);
      console.log(`[e2e kind] ${node.name}: globalsvc pods ${pods.join(' ')}, leader ${await leaderOf(node)}`);
    }
    await waitFor(
      'hq-global from west to answer 3 addresses',
      async () => (await bed.dnsOf('west').a(fqdn('hq-global', NS))).length === 3,
      120_000,
    );
  });

  it('hands the writes over when the leader crashes, and the new leader follows the next change', async () => {
    const west = nodes().find((n) => n.name === 'west')!;
    const lease = async () => (await west.admin.get<Lease>(LEASES, PRODUCT_NS, 'globalsvc'))?.spec.holderIdentity ?? '';
    const crashed = await lease();
    const pod = await west.admin.get<Pod>(PODS, PRODUCT_NS, crashed.split('_')[0]!);
    // A crash: the leader's process SIGKILLed in its container, so it hands nothing over; the
    // kubelet restarts the container, and the standby and the restarted process race for the Lease
    // once it expires (15 s).
    const killed = Date.now();
    expect(await west.kill('dist/globalsvc[.]mjs', pod!.metadata.uid)).toBe(1);
    await waitFor(
      "west's Lease held by another globalsvc than the one that crashed",
      async () => ![crashed, ''].includes(await lease()),
      60_000,
      200,
    );
    const tookOver = Date.now() - killed;
    const successor = await lease();
    await scaleStatefulSet(bed.cluster('east'), NS, 'hq', 3);
    const scaled = Date.now();
    let expected: string[] = [];
    await waitFor(
      "east's scale-up in west's hq-global",
      async () => {
        expected = sorted((await expectedAddresses(bed, 'west', NS, 'hq')).values());
        return expected.length === 5 && JSON.stringify(await bed.dnsOf('west').a(fqdn('hq-global', NS))) === JSON.stringify(expected);
      },
      120_000,
    );
    console.log(
      `[e2e kind] west: ${successor} took the Lease ${(tookOver / 1000).toFixed(1)} s after ${crashed} was SIGKILLed (lease 15 s); east's scale-up in west's DNS ${((Date.now() - scaled) / 1000).toFixed(1)} s later`,
    );
  });
});
