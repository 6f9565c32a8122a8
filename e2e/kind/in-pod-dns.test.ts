import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, expectedAddresses, fqdn, namespaceEverywhere, sorted } from '../support/workloads.js';
import { KIND_WORKLOAD_IMAGE as CLIENT_IMAGE, KindCluster } from '../testbed/kind-cluster.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'inpod';

/** The addresses busybox's nslookup printed for the name it was asked (the server's own line aside). */
function nslookupAddresses(output: string): string[] {
  const answer = output.slice(output.indexOf('Name:'));
  return output.includes('Name:') ? [...answer.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!).sort() : [];
}

/**
 * What only real nodes can show: a pod asks its own cluster's CoreDNS (through kube-proxy's Service
 * address, as every pod does) for the global and for one pod of each cluster by its per-pod name.
 */
describeOnBed('in a real pod of every kind-style cluster', () => {
  let bed: TestBed;
  const nodes = () => [...bed.clusters.values()] as KindCluster[];
  const inPod = (node: KindCluster, ...cmd: string[]) =>
    node.exec(['kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', '-n', NS, 'exec', 'client', '--', ...cmd]);

  beforeAll(async () => {
    bed = await testBed();
    if (!(nodes()[0] instanceof KindCluster)) throw new Error('e2e/kind runs on the kind provider only (E2E_PROVIDER=kind)');
    await namespaceEverywhere(bed, NS);
    for (const node of nodes()) {
      await deployStatefulSet(node, NS, 'pdb', 2);
      await node.admin.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'client', namespace: NS },
        spec: { containers: [{ name: 'client', image: CLIENT_IMAGE, command: ['sleep', '86400'] }] },
      });
    }
  });

  it('resolves pdb-global to every ready replica of every cluster, and each per-pod name to its pod', async () => {
    for (const node of nodes()) {
      const viewer = node.name;
      let expected = new Map<string, string>();
      let seen: string[] = [];
      await waitFor(
        `pdb-global from a pod in ${viewer} to answer 6 addresses`,
        async () => {
          expected = await expectedAddresses(bed, viewer, NS, 'pdb');
          seen = nslookupAddresses(await inPod(node, 'nslookup', fqdn('pdb-global', NS)).catch(() => ''));
          return expected.size === 6 && JSON.stringify(seen) === JSON.stringify(sorted(expected.values()));
        },
        180_000,
        1_000,
      ).catch((err: unknown) => {
        throw new Error(
          `${String(err)}; expected ${JSON.stringify(sorted(expected.values()))}, the pod's nslookup answered ${JSON.stringify(seen)}`,
        );
      });
      console.log(`[e2e kind] a pod in ${viewer}: nslookup ${fqdn('pdb-global', NS)} -> ${seen.join(' ')}`);
      for (const [hostname, address] of expected) {
        const name = fqdn(`${hostname}.pdb-global`, NS);
        const answer = nslookupAddresses(await inPod(node, 'nslookup', name));
        expect(answer, name).toEqual([address]);
        console.log(`[e2e kind] a pod in ${viewer}: nslookup ${name} -> ${answer.join(' ')}`);
      }
    }
  });
});
