import { beforeAll, expect, it } from 'vitest';
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, fqdn, getService, namespaceEverywhere, slicesOf, sorted } from '../support/workloads.js';
import { ENDPOINTS, PODS } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

// What Linkerd's own mirror does that a spec-following one would not (linkerd-mirror-real.md), and
// what the globals make of it.
const NS = 'linkerd-habits';

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string; hostname?: string }[] }[];
}

const ours = (slices: EndpointSlice[]) =>
  slices.filter((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev');
const published = async (bed: TestBed, viewer: string, global: string) =>
  sorted(
    ours(await slicesOf(bed.cluster(viewer), NS, global)).flatMap((s) =>
      (s.endpoints ?? []).map((e) => `${e.hostname ?? '-'}=${e.addresses[0]}`),
    ),
  );

describeOnBed("Linkerd's mirror as it really is", () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    await deployStatefulSet(bed.cluster('east'), NS, 'hab', 2);
    // boot bootstraps through DNS: its Service publishes pods before they are ready.
    await deployStatefulSet(bed.cluster('west'), NS, 'boot', 2, { publishNotReadyAddresses: true });
    await deployStatefulSet(bed.cluster('east'), NS, 'boot', 1, { publishNotReadyAddresses: true });
  });

  it("never publishes the gateway as a pod, nor drops the pods, while a remote Service update has Linkerd rewrite a headless mirror's Endpoints", async () => {
    const west = bed.cluster('west');
    const gateway = bed.cluster('east').spec.gatewayAddress;
    await waitFor('hab-global in west with east pods', async () => (await published(bed, 'west', 'hab-global')).length === 2, 120_000);
    const before = await published(bed, 'west', 'hab-global');
    expect(before.map((e) => e.split('=')[0])).toEqual(['hab-0-east', 'hab-1-east']);

    // A change to east's Service itself, and not to its Endpoints (kube-controller-manager copies a
    // Service's labels onto its Endpoints, not its annotations), takes Linkerd's ClusterIP update path.
    await bed.cluster('east').admin.patchMerge(SERVICES, NS, 'hab', { metadata: { annotations: { team: 'ledger' } } });
    await waitFor(
      "Linkerd to rewrite west's hab-east Endpoints with the gateway and no hostnames",
      async () => {
        const e = await west.admin.get<Endpoints>(ENDPOINTS, NS, 'hab-east');
        const addresses = (e?.subsets ?? []).flatMap((s) => s.addresses ?? []);
        return addresses.length > 0 && addresses.every((a) => a.ip === gateway && !a.hostname);
      },
      60_000,
      100,
    );
    // For as long as it lasts (until east's Endpoints change again), the global holds the pods.
    for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      expect(await published(bed, 'west', 'hab-global')).toEqual(before);
      expect(await bed.dnsOf('west').a(`hab-0-east.${fqdn('hab-global', NS)}`)).toHaveLength(1);
    }
    expect(await bed.dnsOf('west').a(fqdn('hab-global', NS))).not.toContain(gateway);
  });

  it('answers for pods that are not ready yet where the Service asks for it, in every cluster', async () => {
    const [west, east] = [bed.cluster('west'), bed.cluster('east')];
    const both = async (name: string, n: number) =>
      (await bed.dnsOf('west').a(name)).length === n && (await bed.dnsOf('east').a(name)).length === n;
    await waitFor('boot-global in west and east', () => both(fqdn('boot-global', NS), 3), 120_000);
    // boot-1 in west stops being ready, as a database does while it waits for its peers.
    await west.admin.api.request('update', PODS, 'PATCH', `/api/v1/namespaces/${NS}/pods/boot-1/status`, {
      body: {
        status: {
          conditions: [
            { type: 'Ready', status: 'False' },
            { type: 'ContainersReady', status: 'False' },
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('boot-1 not ready in west', async () => {
      const pod = await west.admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(PODS, NS, 'boot-1');
      return pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False';
    });
    // The local Service asks for it, so the global carries it; and since kube-controller-manager lists
    // the pod ready in the Endpoints Linkerd mirrors, east hears of it too.
    for (const viewer of [west, east]) expect((await getService(viewer, NS, 'boot-global'))?.spec?.publishNotReadyAddresses).toBe(true);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await both(fqdn('boot-global', NS), 3)).toBe(true);
    expect(await both(`boot-1-west.${fqdn('boot-global', NS)}`, 1)).toBe(true);
  });
});
