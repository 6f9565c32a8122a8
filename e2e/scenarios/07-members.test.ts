import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { eventAbout, type CoreEvent } from '../support/events.js';
import { CORE_EVENTS } from '../testbed/kube.js';
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import { deployStatefulSet, deployWeb, fqdn, getService, slicesOf, sorted, namespaceEverywhere } from '../support/workloads.js';
import { globalServiceName, isDnsLabel } from '../../src/domain/naming.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'members';
// 57 characters: its mirror "<name>-east" still fits in 63, "<name>-global" does not.
const LONG = 'orders-ledger-reconciliation-service-for-emea-payments-tx';

const ourSources = async (bed: TestBed, viewer: string, global: string) =>
  sorted(
    (await slicesOf(bed.cluster(viewer), NS, global))
      .filter((s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev')
      .map((s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster']!),
  );

describeOnBed('members that need care', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    // legacy: opted out locally in west, remote-discovery in east, plainly exported from north. East's
    // is a ClusterIP Service: with headless mirroring on, Linkerd does not mirror a headless
    // remote-discovery Service at all (linkerd-mirror-real.md).
    await deployStatefulSet(bed.cluster('west'), NS, 'legacy', 2, { serviceAnnotations: { 'globalsvc.dev/exclude': 'true' } });
    await deployWeb(bed.cluster('east'), NS, 'legacy', 2, { exported: 'remote-discovery' });
    await deployStatefulSet(bed.cluster('north'), NS, 'legacy', 2);
    // api: east and north disagree on the port number of "pg".
    await deployStatefulSet(bed.cluster('east'), NS, 'api', 1, { port: 5432 });
    await deployStatefulSet(bed.cluster('north'), NS, 'api', 1, { port: 6432 });
    // A service name so long that "<name>-global" passes 63 characters.
    await deployStatefulSet(bed.cluster('east'), NS, 'lng', 2, { serviceName: LONG });
  });

  it('leaves out an opted-out local service and reports a remote-discovery mirror instead of publishing it empty', async () => {
    const west = bed.cluster('west');
    await waitFor(
      'legacy-global in west with north only',
      async () => JSON.stringify(await ourSources(bed, 'west', 'legacy-global')) === '["north"]',
      120_000,
    );
    const mirror = await waitFor("Linkerd's remote-discovery mirror legacy-east in west", () => getService(west, NS, 'legacy-east'));
    expect(mirror.metadata.labels?.['multicluster.linkerd.io/remote-discovery']).toBe('east');
    const event = await eventAbout(west, NS, 'legacy-east', 'RemoteDiscoveryMirror');
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/cluster east is missing from global members\/legacy/);
    expect(await bed.product.metric('west', 'globalsvc_members', { state: 'unsupported' })).toBeGreaterThanOrEqual(1);
    expect(await bed.product.metric('west', 'globalsvc_members', { state: 'excluded' })).toBe(0); // the opt-out was on the local service
    // In north both mirrors are unusable (west's carries the opt-out, east's is remote-discovery):
    // north's own service alone makes no global.
    await waitFor(
      "west's opted-out mirror in north",
      async () => (await bed.product.metric('north', 'globalsvc_members', { state: 'excluded' })) >= 1,
    );
    expect(await getService(bed.cluster('north'), NS, 'legacy-global')).toBeUndefined();
  });

  it('resolves a port conflict the same way in every cluster and says so', async () => {
    // Every cluster settles on east's number once it sees both (east sorts before north).
    const want = JSON.stringify([{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }]);
    for (const viewer of ['west', 'east', 'north']) {
      await waitFor(
        `api-global in ${viewer} with port 5432`,
        async () => JSON.stringify((await getService(bed.cluster(viewer), NS, 'api-global'))?.spec?.ports) === want,
        120_000,
      );
    }
    // west has no api of its own: both are mirrors, and east sorts before north.
    const event = await eventAbout(bed.cluster('west'), NS, 'api-global', 'PortConflict');
    expect(event.message).toMatch(/5432 in cluster east but 6432 in cluster north/);
    // The endpoints keep their own ports: north's slice still says 6432.
    const north = await waitFor("north's slice of api-global in west", async () =>
      (await slicesOf(bed.cluster('west'), NS, 'api-global')).find(
        (s) => s.metadata.labels!['multicluster.kubernetes.io/source-cluster'] === 'north',
      ),
    );
    expect(north.ports).toEqual([{ name: 'pg', protocol: 'TCP', port: 6432 }]);
  });

  it('names the global of a 57-character service with a cut name and a hash, and DNS resolves it', async () => {
    const name = globalServiceName(LONG, '-global');
    expect(name).toHaveLength(63);
    expect(isDnsLabel(name)).toBe(true);
    // Exported from east only: west and north have a mirror, so a global; east has none.
    for (const viewer of ['west', 'north']) {
      await waitFor(`${name} in ${viewer}`, async () => (await bed.dnsOf(viewer).a(fqdn(name, NS))).length === 2, 120_000);
      expect((await getService(bed.cluster(viewer), NS, name))?.metadata.labels?.['globalsvc.dev/global-of']).toBe(LONG);
    }
    expect(await getService(bed.cluster('east'), NS, name)).toBeUndefined();
    expect(await bed.dnsOf('west').a(`lng-1-east.${fqdn(name, NS)}`)).toHaveLength(1);
  });

  it("ignores Linkerd's federated Service, which has no cluster and no endpoints, and stays healthy", async () => {
    const west = bed.cluster('west');
    const service = (name: string, labels: Record<string, string>, annotations: Record<string, string>) =>
      west.admin.apply<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS, labels, annotations },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
      });
    // As Linkerd 2.17+ writes it (shared/reference/linkerd-mirror-objects.yaml, 5): mirrored, but no cluster-name.
    await service(
      'web-federated',
      { 'mirror.linkerd.io/mirrored-service': 'true', app: 'web' },
      { 'multicluster.linkerd.io/remote-discovery': 'web@east,web@north', 'multicluster.linkerd.io/local-discovery': 'web' },
    );
    // Written after it on the same watch: once its Event is out, the federated Service was indexed too.
    await service('marker-east', { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': 'east' }, {});
    await eventAbout(west, NS, 'marker-east', 'MissingRemoteName');

    const ours = (await west.admin.list<Service>(SERVICES, NS)).filter(
      (s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
    );
    expect(ours.map((s) => s.metadata.labels!['globalsvc.dev/global-of']).filter((of) => of === 'web' || of === 'web-federated')).toEqual(
      [],
    );
    const events = await west.admin.list<CoreEvent & KubeObject>(CORE_EVENTS, NS);
    expect(events.filter((e) => e.involvedObject.name === 'web-federated')).toEqual([]);
    expect(await bed.product.health('west', '/healthz')).toBe(200);
    expect(await bed.product.health('west', '/readyz')).toBe(200);
  });
});
