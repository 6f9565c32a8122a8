import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, fqdn, namespaceEverywhere, readyPods } from '../support/workloads.js';
import { KIND_WORKLOAD_IMAGE as IMAGE, KindCluster } from '../testbed/kind-cluster.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'tcpx';

/**
 * What only real nodes with flat pod routes can show: a pod of one cluster opens a TCP connection
 * to `<pod>-<cluster>.<name>-global` of another and gets that pod's answer. The members are read
 * straight from the linked clusters (--remote-discovery, docs/flat-networks.md): their pod IPs,
 * which the routes between the nodes reach, no gateway.
 */
describeOnBed('TCP across kind-style clusters on a flat pod network', () => {
  let bed: TestBed;
  const nodes = () => [...bed.clusters.values()] as KindCluster[];
  const argsBefore = new Map<string, string[]>();

  beforeAll(async () => {
    bed = await testBed();
    if (!(nodes()[0] instanceof KindCluster)) throw new Error('e2e/kind runs on the kind provider only (E2E_PROVIDER=kind)');
    for (const id of nodes().flatMap((n) => bed.product.replicasOf(n.name))) {
      argsBefore.set(id, [...bed.product.instance(id).args]);
      await bed.product.restartWith(id, [...argsBefore.get(id)!, '--remote-discovery=true']);
    }
    await namespaceEverywhere(bed, NS);
    for (const node of nodes()) {
      await deployStatefulSet(node, NS, 'echo', 1, {
        exported: 'remote-discovery',
        port: 8080,
        portName: 'http',
        container: {
          image: IMAGE,
          command: [
            'sh',
            '-c',
            `mkdir -p /tmp/www && echo "$(hostname) in ${node.name}" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`,
          ],
        },
      });
      await node.admin.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'client', namespace: NS },
        spec: { containers: [{ name: 'client', image: IMAGE, command: ['sleep', '86400'] }] },
      });
    }
  });

  afterAll(async () => {
    for (const [c, args] of argsBefore) await bed.product.restartWith(c, args);
  });

  it("reaches every other cluster's pod by its per-pod name and gets its answer", async () => {
    for (const from of nodes()) {
      for (const to of nodes()) {
        if (to === from) continue;
        const name = fqdn(`echo-0-${to.name}.echo-global`, NS);
        let answer = '';
        await waitFor(
          `a pod in ${from.name} to get an answer from ${name}`,
          async () => {
            // busybox-static's wget crashes here (SIGSEGV, also for a local pod): nc speaks HTTP/1.0 itself.
            const reply = await from
              .exec([
                'kubectl',
                '--kubeconfig=/etc/kubernetes/admin.conf',
                '-n',
                NS,
                'exec',
                'client',
                '--',
                'sh',
                '-c',
                `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${name} 8080`,
              ])
              .catch(() => '');
            answer = reply.split(/\r?\n\r?\n/)[1] ?? '';
            return answer.trim() === `echo-0 in ${to.name}`;
          },
          180_000,
          2_000,
        ).catch((err: unknown) => {
          throw new Error(`${String(err)}; last answer ${JSON.stringify(answer)}`);
        });
        const [pod] = await readyPods(to, NS, 'echo');
        console.log(`[e2e kind] a pod in ${from.name}: GET http://${name}:8080/ (pod IP ${pod?.status?.podIP}) -> ${answer.trim()}`);
        expect(answer.trim()).toBe(`echo-0 in ${to.name}`);
      }
    }
  });
});
