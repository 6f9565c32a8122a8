// Performs a burst plan, write by write in its order (the traffic goes home before the replicas
// go), through the writer the aggregator uses: leadership asked before each write, each result
// counted. Replicas are applied only over our own copies: before applying into a peer it looks at
// what is there by that name (a rare read: only when the plan has something to apply).
import { BURST_POLICIES, KubeApiError, NAMESPACES, type KubeApi } from '../cluster/kube-api.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { burst, ours } from '../domain/labels.js';
import type { ObjectWrite, ObjectWriter } from '../engine/writer.js';
import { TYPES, type BurstInputs } from './inputs.js';
import type { PeerClusters } from './peers.js';
import { describeBurstWrite, type BurstWrite } from './plan.js';
import { isReplicaOf, type ReplicaSource } from './replica.js';
import type { BurstPolicyStatus } from './status.js';

export interface BurstPolicyObject extends KubeObject {
  spec?: unknown;
  status?: Partial<BurstPolicyStatus>;
}

export class ReplicaConflictError extends Error {
  override name = 'ReplicaConflictError';
}

/**
 * The write of a policy's status or of our finalizer on it: a server-side apply that owns just our
 * entry of the finalizer set (applying none removes ours, nobody else's). It names the policy's uid,
 * which the API server takes as a precondition: an apply would otherwise create a policy that was
 * deleted after the cache last saw it (the last pass of a deletion, racing its own watch event), and a
 * policy deleted and made again by the same name is not written by what was planned for the old one.
 */
export function policyWrite(policy: BurstPolicyObject, w: Extract<BurstWrite, { op: 'status' } | { op: 'finalizer' }>): ObjectWrite {
  const { name, namespace, uid } = policy.metadata;
  const identity = { apiVersion: policy.apiVersion ?? 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', metadata: { name, namespace, uid } };
  return w.op === 'status'
    ? { verb: 'apply', type: BURST_POLICIES, object: { ...identity, status: w.status } as BurstPolicyObject, subresource: 'status' }
    : {
        verb: 'apply',
        type: BURST_POLICIES,
        object: { ...identity, metadata: { ...identity.metadata, finalizers: w.on ? [burst.finalizer] : [] } },
      };
}

export class BurstExecutor {
  constructor(
    private readonly local: KubeApi,
    private readonly peers: PeerClusters,
    private readonly inputs: BurstInputs,
    private readonly writer: ObjectWriter,
  ) {}

  /** Runs `writes` in order and stops at the first that fails. Returns the policy as last written (its status or finalizer), if it was. */
  async run(policy: BurstPolicyObject, source: ReplicaSource, writes: readonly BurstWrite[]): Promise<BurstPolicyObject | undefined> {
    let written: BurstPolicyObject | undefined;
    const namespaced = new Set<string>();
    for (const w of writes) {
      const what = `${describeBurstWrite(w)} of BurstPolicy ${source.namespace}/${source.policy}`;
      switch (w.op) {
        case 'status':
        case 'finalizer':
          written = (await this.writer.write(this.local, policyWrite(policy, w), what)) as BurstPolicyObject;
          break;
        case 'apply': {
          const here = w.cluster === source.cluster;
          const api = here ? this.local : await this.peers.api(w.cluster);
          if (!here) {
            if (!namespaced.has(w.cluster)) await this.namespace(api, source.namespace, what);
            namespaced.add(w.cluster);
            const existing = await api.get<KubeObject>(TYPES[w.kind], source.namespace, w.object.metadata.name ?? '');
            if (existing && !isReplicaOf(existing, source))
              throw new ReplicaConflictError(
                `${w.kind} ${source.namespace}/${w.object.metadata.name} exists in ${w.cluster} and is not our replica: left alone`,
              );
          }
          const object = (await this.writer.write(api, { verb: 'apply', type: TYPES[w.kind], object: w.object }, what))!;
          this.inputs.recordWrite(w.cluster, source.cluster, w.kind, object);
          break;
        }
        case 'delete': {
          const api = w.cluster === source.cluster ? this.local : await this.peers.api(w.cluster);
          await this.writer.write(api, { verb: 'delete', type: TYPES[w.kind], namespace: w.namespace, name: w.name, uid: w.uid }, what);
          this.inputs.recordDelete(w.cluster, source.cluster, w.kind, w.namespace, w.name, w.uid);
          break;
        }
      }
    }
    return written;
  }

  /** The namespace in the peer, created (labelled ours) when missing. */
  private async namespace(api: KubeApi, namespace: string, what: string): Promise<void> {
    if (await api.get(NAMESPACES, undefined, namespace)) return;
    const object = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { [ours.appManagedByLabel]: ours.appManagedBy } },
    };
    await this.writer.write(api, { verb: 'create', type: NAMESPACES, object }, `the namespace for ${what}`).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.conflict)) throw err;
    });
  }
}
