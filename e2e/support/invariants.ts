import type { EndpointSlice, Service, ServiceImport } from '../../src/domain/k8s-types.js';
import { ENDPOINT_SLICES, SERVICE_IMPORTS, SERVICES } from '../../src/cluster/kube-api.js';
import type { Cluster } from '../testbed/cluster.js';

/**
 * What must hold in a cluster whatever happened before: every global of ours stands for a key that
 * still has a mirror; every slice of ours is owned by its live global (a ServiceImport's, with
 * --mcs-api, by its live ServiceImport of ours); no endpoint is published twice; no slice is empty
 * or over the limit. Returns the violations (empty when all is well).
 */
export async function violations(cluster: Cluster, maxPerSlice = 100): Promise<string[]> {
  const out: string[] = [];
  const services = await cluster.admin.list<Service>(SERVICES);
  const mirrorKeys = new Set(
    services
      .filter(
        (s) =>
          s.metadata.labels?.['mirror.linkerd.io/mirrored-service'] === 'true' &&
          s.metadata.labels?.['mirror.linkerd.io/cluster-name'] &&
          !s.metadata.labels?.['mirror.linkerd.io/headless-mirror-svc-name'],
      )
      .map((s) => `${s.metadata.namespace}/${s.metadata.annotations?.['mirror.linkerd.io/remote-svc-fq-name']?.split('.')[0]}`),
  );
  const ours = services.filter((s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc');
  const oursByUid = new Map(ours.map((s) => [s.metadata.uid, s]));
  for (const s of ours) {
    if (!mirrorKeys.has(`${s.metadata.namespace}/${s.metadata.labels?.['globalsvc.dev/global-of']}`))
      out.push(`orphan global Service ${s.metadata.namespace}/${s.metadata.name}`);
  }
  const slices = await cluster.admin.list<EndpointSlice>(
    ENDPOINT_SLICES,
    undefined,
    'endpointslice.kubernetes.io/managed-by=globalsvc.dev',
  );
  // The MCS CRDs are in every cluster of the bed (links.ts installMcsCrds).
  const imports = (await cluster.admin.list<ServiceImport>(SERVICE_IMPORTS)).filter(
    (i) => i.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
  );
  const importsByUid = new Map(imports.map((i) => [i.metadata.uid, i]));
  const seen = new Map<string, string>();
  for (const slice of slices) {
    const id = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const owner = slice.metadata.ownerReferences?.find((r) => r.controller);
    const importName = slice.metadata.labels?.['multicluster.kubernetes.io/service-name'];
    if (importName !== undefined) {
      if (!owner || importsByUid.get(owner.uid)?.metadata.name !== importName)
        out.push(`slice ${id} is not owned by its live ServiceImport`);
      continue;
    }
    const global = owner ? oursByUid.get(owner.uid) : undefined;
    if (!global || global.metadata.name !== slice.metadata.labels?.['kubernetes.io/service-name'])
      out.push(`slice ${id} is not owned by its live global`);
    const n = slice.endpoints?.length ?? 0;
    if (n === 0 || n > maxPerSlice) out.push(`slice ${id} holds ${n} endpoints`);
    for (const e of slice.endpoints ?? []) {
      // An endpoint is its addresses and its hostname, as the product keys it (src/domain/endpoints.ts
      // endpointKey): two pods of one cluster can hold one address (kwok reuses a pod IP after a
      // restart: soak seeds 183916993 and 349939001), and each is published under its own name.
      const key = `${slice.metadata.namespace}/${slice.metadata.labels?.['kubernetes.io/service-name']}/${slice.metadata.labels?.['multicluster.kubernetes.io/source-cluster']}/${e.addresses.join(',')}/${e.hostname ?? ''}`;
      if (seen.has(key)) out.push(`endpoint ${key} is in ${seen.get(key)} and ${id}`);
      seen.set(key, id);
    }
  }
  return out;
}
