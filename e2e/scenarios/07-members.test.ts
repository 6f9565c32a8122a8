import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { eventAbout, type CoreEvent } from '../support/events.js';
import { CORE_EVENTS } from '../testbed/kube.js';
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import {
  deployStatefulSet,
  deployWeb,
  fqdn,
  getService,
  slicesOf,
  sorted,
  namespaceEverywhere,
  namelessMirror,
} from '../support/workloads.js';
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
    // (east's api comes in the case itself, after north's is published.)
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

  it('resolves a port conflict the same way in every cluster and says so, also when the global had the other number first', async () => {
    // west's global is made with north's number; then east, which sorts first, brings its own.
    await waitFor(
      'api-global in west with port 6432',
      async () => (await getService(bed.cluster('west'), NS, 'api-global'))?.spec?.ports?.[0]?.port === 6432,
      120_000,
    );
    await deployStatefulSet(bed.cluster('east'), NS, 'api', 1, { port: 5432 });
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
    // Members of a federated service in east and north (the Links' federatedServiceSelector), not
    // exported: Linkerd joins a Service that is exported too only at its next update.
    // One after the other: Linkerd's mirrors of two Links that both find no fed-federated both create
    // it, and the one that loses takes AlreadyExists as done (handleCreateFederatedService): its
    // member is left out until its Service next changes.
    const federatedWith = (members: string[]) =>
      waitFor(
        `Linkerd's fed-federated in west with members ${members.join(', ')}`,
        async () => {
          const s = await getService(west, NS, 'fed-federated');
          const found = (s?.metadata.annotations?.['multicluster.linkerd.io/remote-discovery'] ?? '').split(',').sort();
          return JSON.stringify(found) === JSON.stringify(members) ? s : undefined;
        },
        120_000,
      );
    const member = { exported: false as const, labels: { 'mirror.linkerd.io/federated': 'member' } };
    await deployWeb(bed.cluster('east'), NS, 'fed', 1, member);
    await federatedWith(['fed@east']);
    await deployWeb(bed.cluster('north'), NS, 'fed', 1, member);
    // As Linkerd's mirrors write it: mirrored, no cluster-name, its members in an annotation.
    const federated = await federatedWith(['fed@east', 'fed@north']);
    expect(federated.metadata.labels?.['mirror.linkerd.io/mirrored-service']).toBe('true');
    expect(federated.metadata.labels?.['mirror.linkerd.io/cluster-name']).toBeUndefined();
    // Written after it on the same watch: once its Event is out, the federated Service was indexed too.
    await namelessMirror(west, NS, 'marker-east', 'east');
    await eventAbout(west, NS, 'marker-east', 'MissingRemoteName');
    // The federated Service makes nothing: no global of fed, nor of fed-federated.
    expect(await getService(west, NS, 'fed-global')).toBeUndefined();
    const ours = (await west.admin.list<Service>(SERVICES, NS)).filter(
      (s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
    );
    expect(ours.map((s) => s.metadata.labels!['globalsvc.dev/global-of']).filter((of) => of === 'fed' || of === 'fed-federated')).toEqual(
      [],
    );
    const events = await west.admin.list<CoreEvent & KubeObject>(CORE_EVENTS, NS);
    expect(events.filter((e) => e.involvedObject.name === 'fed-federated')).toEqual([]);
    expect(await bed.product.health('west', '/healthz')).toBe(200);
    expect(await bed.product.health('west', '/readyz')).toBe(200);
  });
});
