import { afterAll, beforeAll, expect, it } from 'vitest';
import { SERVICE_EXPORTS, SERVICE_IMPORTS, SERVICES } from '../../src/cluster/kube-api.js';
import type { Condition, Service, ServiceExport, ServiceImport } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { eventAbout } from '../support/events.js';
import { withMcsApi } from '../support/mcs.js';
import { deployStatefulSet, deployWeb, fqdn, getService, namespaceEverywhere } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'mcsx';
const CLUSTERS = ['west', 'east', 'north'];
const EXPORT_MARKS = ['globalsvc.dev/exported-at', 'globalsvc.dev/export-type', 'globalsvc.dev/export-properties'];

/**
 * KEP-1645 in, on Linkerd (--mcs-api, docs/mcs-api.md): a ServiceExport alone exports its Service
 * through Linkerd's own mirror, its conditions say so, and conflicting exports of one name are
 * resolved by the oldest export, alike in every cluster.
 */
describeOnBed('KEP-1645 in: ServiceExports export through Linkerd, with their conditions', () => {
  let bed: TestBed;
  let restore: () => Promise<void>;
  const exportIn = (cluster: string, name: string) =>
    bed
      .cluster(cluster)
      .admin.create<ServiceExport>(
        { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceExport', metadata: { name, namespace: NS } },
        SERVICE_EXPORTS,
      );
  const conditionsOf = async (cluster: string, name: string): Promise<Record<string, Condition>> => {
    const exp = await bed.cluster(cluster).admin.get<ServiceExport>(SERVICE_EXPORTS, NS, name);
    return Object.fromEntries((exp?.status?.conditions ?? []).map((c) => [c.type, c]));
  };
  const says = (c: Record<string, Condition>) =>
    ['Valid', 'Ready', 'Conflict'].map((t) => `${t}=${c[t]?.status ?? '-'}:${c[t]?.reason ?? '-'}`).join(' ');
  const importOf = (cluster: string, name: string) => bed.cluster(cluster).admin.get<ServiceImport>(SERVICE_IMPORTS, NS, name);

  beforeAll(async () => {
    bed = await testBed();
    restore = await withMcsApi(bed, CLUSTERS, NS);
    await namespaceEverywhere(bed, NS);
  });

  afterAll(async () => {
    await restore();
  });

  it('exports a Service with a ServiceExport alone: Linkerd mirrors it, and every cluster answers <name>-global', async () => {
    const east = bed.cluster('east');
    // No export label by hand: only the ServiceExport.
    await deployStatefulSet(east, NS, 'cat', 2, { exported: false });
    await exportIn('east', 'cat');
    await waitFor(
      "cat's ServiceExport Valid, Ready and without conflict in east",
      async () => says(await conditionsOf('east', 'cat')) === 'Valid=True:Valid Ready=True:Exported Conflict=False:NoConflicts',
      60_000,
    );
    const service = (await getService(east, NS, 'cat'))!;
    expect(service.metadata.labels?.['mirror.linkerd.io/exported']).toBe('true');
    const exp = (await east.admin.get<ServiceExport>(SERVICE_EXPORTS, NS, 'cat'))!;
    expect(service.metadata.annotations).toMatchObject({
      'globalsvc.dev/exported-at': exp.metadata.creationTimestamp,
      'globalsvc.dev/export-type': 'Headless',
    });
    // The marks are the export's field manager's, apart from globalsvc's own objects.
    const managers = (service.metadata as { managedFields?: { manager: string }[] }).managedFields?.map((m) => m.manager);
    expect(managers).toContain('globalsvc-export');
    // KEP-1645: the exporting cluster has the ServiceImport too, though it alone exports cat (no global there).
    await waitFor(
      "cat's ServiceImport in east, the one exporting cluster",
      async () => (await importOf('east', 'cat'))?.status?.clusters?.map((c) => c.cluster).join() === 'east',
      60_000,
    );
    expect(await getService(east, NS, 'cat-global')).toBeUndefined();
    await waitFor(
      `cat.${NS}.svc.clusterset.local in east answers east's 2 pods`,
      async () => (await bed.dnsOf('east').a(`cat.${NS}.svc.clusterset.local`)).length === 2,
      60_000,
    );
    for (const viewer of ['west', 'north']) {
      await waitFor(
        `cat-global in ${viewer} through Linkerd's mirror of east`,
        async () => (await bed.dnsOf(viewer).a(fqdn('cat-global', NS))).length === 2,
        120_000,
      );
      // Linkerd copied the export's time onto its mirror: what every cluster resolves conflicts by.
      const mirror = (await getService(bed.cluster(viewer), NS, 'cat-east'))!;
      expect(mirror.metadata.annotations?.['globalsvc.dev/exported-at']).toBe(exp.metadata.creationTimestamp);
      const imp = (await importOf(viewer, 'cat'))!;
      expect(imp.spec?.type).toBe('Headless');
      console.log(`mcs-in: ${viewer} ${fqdn('cat-global', NS)} -> ${(await bed.dnsOf(viewer).a(fqdn('cat-global', NS))).join(' ')}`);
    }
  });

  it('reads Conflict on every export of a name exported differently, and resolves it by the oldest export in every cluster', async () => {
    // West exports a ClusterIP api (http 80) first; north a headless api (http 8080) after it.
    await deployWeb(bed.cluster('west'), NS, 'api', 1, { exported: false });
    await exportIn('west', 'api');
    await new Promise((r) => setTimeout(r, 1_100)); // creationTimestamps have seconds
    await deployStatefulSet(bed.cluster('north'), NS, 'api', 1, { exported: false, port: 8080, portName: 'http' });
    await exportIn('north', 'api');
    for (const c of ['west', 'north']) {
      await waitFor(
        `api's ServiceExport in ${c} in conflict`,
        async () => (await conditionsOf(c, 'api')).Conflict?.status === 'True',
        120_000,
      );
      const conflict = (await conditionsOf(c, 'api')).Conflict!;
      expect(conflict.reason).toBe('TypeConflict,PortConflict');
      expect(conflict.message).toContain('ClusterSetIP from west (the oldest export) wins over Headless from north');
      const event = await eventAbout(bed.cluster(c), NS, 'api', 'ExportConflict');
      expect(event.message).toContain('TypeConflict');
      console.log(`mcs-in: ${c} ServiceExport api: Conflict=True ${conflict.reason}: ${conflict.message}`);
    }
    // The same import in every cluster: the oldest export's type and port.
    for (const viewer of CLUSTERS)
      await waitFor(
        `api's ServiceImport in ${viewer}: ClusterSetIP, http 80`,
        async () => {
          const imp = await importOf(viewer, 'api');
          return (
            imp?.spec?.type === 'ClusterSetIP' &&
            (imp.spec.ports ?? []).map((p) => `${p.name}/${p.protocol}:${p.port}`).join() === 'http/TCP:80' &&
            imp.spec.ips?.length === 1
          );
        },
        120_000,
      );
    expect(await bed.product.metric(bed.product.replicasOf('west')[0]!, 'globalsvc_service_exports', { state: 'conflict' })).toBe(1);
  });

  it('tells a ServiceExport without its Service, and exports it once the Service comes', async () => {
    await exportIn('west', 'ghost');
    await waitFor('ghost Valid=False NoService', async () => (await conditionsOf('west', 'ghost')).Valid?.reason === 'NoService', 60_000);
    expect(says(await conditionsOf('west', 'ghost'))).toBe('Valid=False:NoService Ready=False:Pending Conflict=False:NoConflicts');
    expect((await eventAbout(bed.cluster('west'), NS, 'ghost', 'NoService')).message).toBe(`Service ${NS}/ghost does not exist`);
    expect(await bed.product.metric(bed.product.replicasOf('west')[0]!, 'globalsvc_service_exports', { state: 'invalid' })).toBe(1);
    await deployWeb(bed.cluster('west'), NS, 'ghost', 1, { exported: false });
    await waitFor(
      'ghost exported',
      async () => says(await conditionsOf('west', 'ghost')).startsWith('Valid=True:Valid Ready=True:Exported'),
      60_000,
    );
  });

  it('takes back only what it added when a ServiceExport goes: a label set by hand stays', async () => {
    // north's dog carries Linkerd's label by hand and is exported by a ServiceExport too.
    await deployStatefulSet(bed.cluster('north'), NS, 'dog', 1);
    await exportIn('north', 'dog');
    await waitFor('dog Ready', async () => (await conditionsOf('north', 'dog')).Ready?.status === 'True', 60_000);
    for (const [cluster, name] of [
      ['north', 'dog'],
      ['east', 'cat'],
    ] as const)
      await bed.cluster(cluster).admin.delete(SERVICE_EXPORTS, NS, name);
    await waitFor(
      'the marks released',
      async () => {
        const dog = await getService(bed.cluster('north'), NS, 'dog');
        const cat = await getService(bed.cluster('east'), NS, 'cat');
        return [dog, cat].every((s) => EXPORT_MARKS.every((a) => s?.metadata.annotations?.[a] === undefined));
      },
      60_000,
    );
    const dog = (await getService(bed.cluster('north'), NS, 'dog')) as Service;
    const cat = (await getService(bed.cluster('east'), NS, 'cat')) as Service;
    expect(dog.metadata.labels?.['mirror.linkerd.io/exported']).toBe('true');
    expect(cat.metadata.labels?.['mirror.linkerd.io/exported']).toBeUndefined();
    // cat is no longer exported: Linkerd's mirrors go, and cat-global with them.
    for (const viewer of ['west', 'north', 'east'])
      await waitFor(
        `cat-global and cat's ServiceImport gone in ${viewer}`,
        async () =>
          (await getService(bed.cluster(viewer), NS, 'cat-global')) === undefined && (await importOf(viewer, 'cat')) === undefined,
        120_000,
      );
    // The Service globalsvc never owned is still there, whole.
    expect(await bed.cluster('east').admin.get(SERVICES, NS, 'cat')).toBeDefined();
  });
});
