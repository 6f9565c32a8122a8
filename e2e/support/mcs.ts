import { SERVICE_IMPORTS } from '../../src/cluster/kube-api.js';
import type { ServiceImport } from '../../src/domain/k8s-types.js';
import type { TestBed } from '../testbed/testbed.js';

/**
 * Restarts every replica of `clusters` with `--mcs-api=true` (a standby left by an earlier scenario
 * would lead without it). Returns what puts them back as they were and, since globalsvc turned off
 * leaves its ServiceImports (docs/mcs-api.md), removes those of `namespace` as the docs say, their
 * slices with them.
 */
export async function withMcsApi(bed: TestBed, clusters: readonly string[], namespace?: string): Promise<() => Promise<void>> {
  const argsBefore = new Map<string, string[]>();
  for (const id of clusters.flatMap((c) => bed.product.replicasOf(c))) {
    argsBefore.set(id, [...bed.product.instance(id).args]);
    await bed.product.restartWith(id, [...argsBefore.get(id)!, '--mcs-api=true']);
  }
  return async () => {
    for (const [id, args] of argsBefore) await bed.product.restartWith(id, args);
    if (namespace === undefined) return;
    for (const c of clusters)
      for (const imp of await bed
        .cluster(c)
        .admin.list<ServiceImport>(SERVICE_IMPORTS, namespace, 'app.kubernetes.io/managed-by=globalsvc'))
        await bed.cluster(c).admin.delete(SERVICE_IMPORTS, namespace, imp.metadata.name!);
  };
}
