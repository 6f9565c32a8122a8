import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployWeb, fqdn, readyPods, slicesOf, sorted, namespaceEverywhere } from '../support/workloads.js';
import { GATEWAY_PORT } from '../testbed/links.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'shop';

describeOnBed('an exported ClusterIP service', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const cluster of bed.clusters.values()) await deployWeb(cluster, NS, 'web', 2);
  });

  it("lists each linked cluster's gateway address with the gateway port, and the local pods with theirs", async () => {
    const west = bed.cluster('west');
    const started = Date.now();
    const localPods = await waitFor('web pods in west', async () => {
      const pods = await readyPods(west, NS, 'web');
      return pods.length === 2 ? pods : undefined;
    });
    const bySource = await waitFor(
      'web-global in west to hold three clusters',
      async () => {
        const slices = await slicesOf(west, NS, 'web-global');
        const map = new Map(slices.map((s) => [s.metadata.labels!['multicluster.kubernetes.io/source-cluster']!, s]));
        return map.size === 3 &&
          map.get('west')!.endpoints?.length === localPods.length &&
          map.get('east')!.endpoints?.length === 1 &&
          map.get('north')!.endpoints?.length === 1
          ? map
          : undefined;
      },
      120_000,
    );
    console.log(`scenario c: web-global converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const remote of ['east', 'north']) {
      const slice = bySource.get(remote)!;
      expect(slice.endpoints!.map((e) => e.addresses)).toEqual([[bed.cluster(remote).spec.gatewayAddress]]);
      expect(slice.ports).toEqual([{ name: 'http', protocol: 'TCP', port: GATEWAY_PORT }]);
    }
    const local = bySource.get('west')!;
    expect(sorted(local.endpoints!.flatMap((e) => e.addresses))).toEqual(sorted(localPods.map((p) => p.status!.podIP!)));
    expect(local.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);

    const dns = bed.dnsOf('west');
    await waitFor(
      'web-global A records',
      async () =>
        JSON.stringify(await dns.a(fqdn('web-global', NS))) ===
        JSON.stringify(
          sorted([
            ...localPods.map((p) => p.status!.podIP!),
            bed.cluster('east').spec.gatewayAddress,
            bed.cluster('north').spec.gatewayAddress,
          ]),
        ),
    );
    const srv = await dns.srv(`_http._tcp.${fqdn('web-global', NS)}`);
    expect(new Set(srv.map((r) => r.port))).toEqual(new Set([GATEWAY_PORT, 8080]));
  });
});
