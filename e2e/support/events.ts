import type { Cluster } from '../testbed/cluster.js';
import { CORE_EVENTS } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';

export interface CoreEvent {
  metadata: { name: string };
  type: string;
  reason: string;
  message?: string;
  involvedObject: { kind: string; name: string };
}

/** Waits for an Event with `reason` about the object `name` in `namespace`. */
export async function eventAbout(cluster: Cluster, namespace: string, name: string, reason: string): Promise<CoreEvent> {
  return waitFor(
    `a ${reason} event on ${namespace}/${name} in ${cluster.name}`,
    async () =>
      (await cluster.admin.list<CoreEvent & { metadata: object }>(CORE_EVENTS, namespace)).find(
        (e) => e.involvedObject.name === name && e.reason === reason,
      ),
    120_000,
  );
}
