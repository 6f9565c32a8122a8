import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import { SERVICES } from '../../src/cluster/kube-api.js';
import { linkerd } from '../../src/domain/labels.js';
import { NAMESPACES } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

/** Namespaces the bed itself runs in: never taken away. */
const BED_NAMESPACES = new Set(['default', 'globalsvc', 'linkerd-multicluster']);

/**
 * Gives the mesh back the size a user's has: takes away, in every cluster, each namespace earlier
 * scenarios left with exported or mirrored Services, then waits until every Linkerd mirror has
 * worked through what that told it.
 *
 * Why: Linkerd's mirror repairs every gateway-mode mirror's Endpoints once a minute, one request at
 * a time at its client's 5 a second, and handles no event meanwhile. With the ~110 mirrors of every
 * link that 25 scenario files leave, each repair held new exports back for 22 s of every minute
 * (measured in the mirror's log, 2026-12-06), longer than a spec that gives an export 5 s.
 */
export async function quietMesh(bed: TestBed): Promise<string[]> {
  const taken = new Set<string>();
  for (const cluster of bed.clusters.values()) {
    const services = await cluster.admin.list<Service>(SERVICES);
    const scenarioNamespaces = new Set(
      services
        .filter((s) => s.metadata.labels?.[linkerd.exported] || s.metadata.labels?.[linkerd.mirroredService])
        .map((s) => s.metadata.namespace!)
        .filter((ns) => !BED_NAMESPACES.has(ns) && !ns.startsWith('kube-')),
    );
    for (const ns of scenarioNamespaces) {
      await cluster.admin.delete(NAMESPACES, undefined, ns);
      taken.add(ns);
    }
  }
  for (const cluster of bed.clusters.values())
    await waitFor(
      `${cluster.name}: the namespaces earlier scenarios left gone`,
      async () => {
        const left = await cluster.admin.list<KubeObject>(NAMESPACES);
        return !left.some((n) => taken.has(n.metadata.name!));
      },
      180_000,
      1_000,
    );
  await mirrorsCaughtUp(bed);
  return [...taken].sort();
}

/**
 * Waits until every link's mirror has handled every event sent to it so far: a Service exported now
 * from each cluster is mirrored into every other (the mirror's queue is first in, first out).
 */
export async function mirrorsCaughtUp(bed: TestBed): Promise<void> {
  const namespace = `mesh-barrier-${Date.now().toString(36)}`;
  const clusters = [...bed.clusters.values()];
  for (const cluster of clusters) await cluster.admin.ensureNamespace(namespace);
  for (const cluster of clusters)
    await cluster.admin.apply<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'barrier', namespace, labels: { [linkerd.exported]: 'true' } },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
  for (const viewer of clusters)
    for (const source of clusters)
      if (source !== viewer)
        await waitFor(
          `${viewer.name}: ${source.name}'s barrier Service mirrored`,
          () => viewer.admin.get<Service>(SERVICES, namespace, `barrier-${source.name}`),
          300_000,
          500,
        );
  for (const cluster of clusters) await cluster.admin.delete(NAMESPACES, undefined, namespace);
}
