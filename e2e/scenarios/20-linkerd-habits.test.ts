import { beforeAll, expect, it } from 'vitest';
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import type { StatusReport } from '../../src/status/report.js';
import { status } from '../support/cli.js';
import { eventAbout } from '../support/events.js';
import {
  deployStatefulSet,
  deployWeb,
  fqdn,
  getService,
  namespaceEverywhere,
  scaleStatefulSet,
  slicesOf,
  sorted,
} from '../support/workloads.js';
import { ENDPOINTS, LINKS, NAMESPACES, PODS } from '../testbed/kube.js';
import { applyLink } from '../testbed/links.js';
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

  it('tells, in an Event, a metric and status, that a Link deleted without unlink leaves stale members, and stops once it is back', async () => {
    const [west, north] = [bed.cluster('west'), bed.cluster('north')];
    await deployStatefulSet(north, NS, 'lk', 1);
    await deployStatefulSet(west, NS, 'lk', 1);
    await waitFor(
      "north's pod in west's lk-global",
      async () => (await bed.dnsOf('west').a(`lk-0-north.${fqdn('lk-global', NS)}`)).length === 1,
      120_000,
    );
    const stale = () => bed.product.metric('west', 'globalsvc_unlinked_endpoints', { source_cluster: 'north' });
    // kubectl delete link north: Linkerd's mirror stops following north and leaves its mirrors.
    await west.admin.delete(LINKS, 'linkerd-multicluster', 'north');
    try {
      const event = await eventAbout(west, NS, 'lk-global', 'LinkMissing');
      expect(event.type).toBe('Warning');
      expect(event.message).toMatch(
        /^cluster north has no Link here .*the 1 endpoint\(s\) of its member lk-north in lk-global are the last it wrote/,
      );
      // Every global with a member from north counts (other scenarios' too): lk's is one of them.
      await waitFor('globalsvc_unlinked_endpoints{source_cluster="north"} above 0', async () => (await stale()) > 0, 30_000);
      const report = JSON.parse((await status(bed, 'west', `--namespaces=${NS}`, '-o', 'json')).stdout) as StatusReport;
      expect(report.globals.find((g) => g.name === 'lk')!.problems.map((p) => p.reason)).toEqual(['LinkMissing']);
      // What it had stays published: nothing is lost, and nothing is silent.
      expect(await bed.dnsOf('west').a(`lk-0-north.${fqdn('lk-global', NS)}`)).toHaveLength(1);
    } finally {
      await applyLink(west, north);
    }
    await waitFor('globalsvc_unlinked_endpoints gone once north is linked again', async () => (await stale()) === 0, 30_000);
  });

  it('explains an export Linkerd has not mirrored: a headless Service with no pod yet, and one whose namespace is missing here', async () => {
    const [west, east] = [bed.cluster('west'), bed.cluster('east')];
    // Exported with no pod: Linkerd decides headless or gateway mode at the first pod, and mirrors nothing before.
    await deployStatefulSet(east, NS, 'late', 0);
    // A namespace that only east has: Linkerd's mirror (no -enable-namespace-creation) skips both exports.
    const lonely = `${NS}-east-only`;
    await east.admin.ensureNamespace(lonely);
    await deployWeb(east, lonely, 'solo', 1);
    await deployStatefulSet(east, lonely, 'solodb', 1);
    const problems = async () => {
      const report = JSON.parse((await status(bed, 'west', '-o', 'json')).stdout) as StatusReport;
      return Object.fromEntries(report.problems.map((p) => [`${p.object.namespace}/${p.object.name}`, p]));
    };
    const seen = await waitFor(
      "west's status to explain late, solo and solodb",
      async () => {
        const p = await problems();
        return p[`${NS}/late-east`] && p[`${lonely}/solo-east`] && p[`${lonely}/solodb-east`] ? p : undefined;
      },
      60_000,
      1_000,
    );
    expect(seen[`${NS}/late-east`]!.reason).toBe('HeadlessAwaitingPods');
    expect(seen[`${lonely}/solo-east`]!.reason).toBe('MissingNamespace');
    expect(seen[`${lonely}/solodb-east`]!.reason).toBe('MissingNamespace');
    expect(seen[`${lonely}/solo-east`]!.message).toMatch(/namespace linkerd-habits-east-only does not exist in this cluster/);
    expect(await getService(west, NS, 'late-global')).toBeUndefined();

    // The first pods: Linkerd mirrors late pod by pod (they have hostnames), and the global follows.
    await scaleStatefulSet(east, NS, 'late', 2);
    await waitFor(
      "late's pods in west's late-global",
      async () => (await bed.dnsOf('west').a(`late-1-east.${fqdn('late-global', NS)}`)).length === 1,
      120_000,
    );
    expect((await getService(west, NS, 'late-east'))?.spec?.clusterIP).toBe('None');
    await waitFor("late's explanation gone from west's status", async () => !(await problems())[`${NS}/late-east`], 30_000, 1_000);

    // Linkerd looks again when a namespace is created here, at its Services: the ClusterIP one comes.
    // A headless one is mirrored from its Endpoints, and an Endpoints event dropped while the
    // namespace was missing is not looked at again: it comes at its next change (a second pod).
    await west.admin.ensureNamespace(lonely);
    await waitFor(
      `solo-global in west once ${lonely} exists`,
      async () => (await bed.dnsOf('west').a(fqdn('solo-global', lonely))).length === 1,
      120_000,
    );
    await scaleStatefulSet(east, lonely, 'solodb', 2);
    await waitFor(
      'solodb-global in west once its Endpoints change',
      async () => (await bed.dnsOf('west').a(`solodb-1-east.${fqdn('solodb-global', lonely)}`)).length === 1,
      120_000,
    );
    await waitFor(
      `${lonely}'s explanations gone from west's status`,
      async () => {
        const p = await problems();
        return !p[`${lonely}/solo-east`] && !p[`${lonely}/solodb-east`];
      },
      30_000,
      1_000,
    );
    for (const c of [east, west]) await c.admin.delete(NAMESPACES, undefined, lonely);
  });
});
