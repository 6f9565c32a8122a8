// Replicate and Withdraw in the peers: server-side apply of the replicas (a namespace created when
// missing), their readiness, and deletion of exactly what carries our marks, with uid preconditions.
import type { Leadership } from '../cluster/leadership.js';
import {
  apiVersionOf,
  CONFIG_MAPS,
  DEPLOYMENTS,
  KubeApiError,
  NAMESPACES,
  SERVICES,
  type KubeApi,
  type ResourceType,
} from '../cluster/kube-api.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { ours } from '../domain/labels.js';
import type { ReplicaState } from './decide.js';
import type { PeerClusters } from './peers.js';
import { deploymentReady, isReplicaOf, policySelector, toReplica, type Deployment, type ReplicaSource } from './replica.js';
import type { ReplicatedObject } from './status.js';
import type { Workload } from './workload.js';

/** Applied in this order (what pods reference exists before them), deleted in the reverse. */
const KINDS: readonly ResourceType[] = [CONFIG_MAPS, SERVICES, DEPLOYMENTS];

export interface ReplicaObservation {
  readonly state: ReplicaState;
  /** Ready replicas of the target per wanted peer. */
  readonly readyReplicas: Readonly<Record<string, number>>;
  /** Everything of ours that exists, in every peer looked at. */
  readonly inventory: readonly ReplicatedObject[];
  /** Objects of the workload missing from a wanted peer. */
  readonly missing: number;
}

export class ReplicaConflictError extends Error {
  override name = 'ReplicaConflictError';
}

export class Replicator {
  constructor(
    private readonly peers: PeerClusters,
    /** Whether the mirror `<svc>-<peer>` exists here yet: the replica takes traffic only through it. */
    private readonly mirrored: (namespace: string, service: string, peer: string) => Promise<boolean>,
    private readonly leadership: Leadership,
  ) {}

  private async ours(api: KubeApi, source: ReplicaSource, type: ResourceType): Promise<KubeObject[]> {
    const { items } = await api.listAll<KubeObject>(type, source.namespace, { labelSelector: policySelector(source) });
    return items.filter((o) => isReplicaOf(o, source));
  }

  /** Where the replica stands: Absent when nothing of ours is left anywhere looked at, Ready when every wanted peer runs it ready and mirrored back. */
  async observe(
    source: ReplicaSource,
    workload: Workload,
    wanted: readonly string[],
    lookAt: readonly string[],
  ): Promise<ReplicaObservation> {
    const inventory: ReplicatedObject[] = [];
    const readyReplicas: Record<string, number> = {};
    let missing = 0;
    let ready = wanted.length > 0;
    for (const peer of new Set([...wanted, ...lookAt])) {
      const api = await this.peers.api(peer);
      const found = new Map<string, KubeObject>();
      for (const type of KINDS)
        for (const o of await this.ours(api, source, type)) {
          found.set(`${type.kind}/${o.metadata.name}`, o);
          inventory.push({ cluster: peer, kind: type.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? '' });
        }
      if (!wanted.includes(peer)) continue;
      const expected = [
        ...workload.configMaps.map((o) => `ConfigMap/${o.metadata.name}`),
        ...workload.services.map((o) => `Service/${o.metadata.name}`),
        ...workload.deployments.map((o) => `Deployment/${o.metadata.name}`),
      ];
      missing += expected.filter((k) => !found.has(k)).length;
      readyReplicas[peer] = 0;
      for (const d of workload.deployments) {
        const replica = found.get(`Deployment/${d.metadata.name}`) as Deployment | undefined;
        readyReplicas[peer] += replica?.status?.readyReplicas ?? 0;
        if (!replica || !deploymentReady(replica)) ready = false;
      }
      for (const s of workload.services) if (!(await this.mirrored(source.namespace, s.metadata.name ?? '', peer))) ready = false;
    }
    const state: ReplicaState = inventory.length === 0 ? 'Absent' : ready && missing === 0 ? 'Ready' : 'Starting';
    return { state, readyReplicas, inventory, missing };
  }

  /** The workload's replicas in `peer`: applied over our own copies, never over someone else's object. */
  async apply(source: ReplicaSource, workload: Workload, peer: string): Promise<void> {
    const api = await this.peers.api(peer);
    this.check(peer);
    if (!(await api.get(NAMESPACES, undefined, source.namespace)))
      await api
        .create(
          NAMESPACES,
          {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: source.namespace, labels: { [ours.appManagedByLabel]: ours.appManagedBy } },
          },
          ours.fieldManager,
        )
        .catch((err: unknown) => {
          if (!(err instanceof KubeApiError && err.conflict)) throw err;
        });
    const objects: [ResourceType, readonly KubeObject[]][] = [
      [CONFIG_MAPS, workload.configMaps],
      [SERVICES, workload.services],
      [DEPLOYMENTS, workload.deployments],
    ];
    for (const [type, list] of objects)
      for (const o of list) {
        const name = o.metadata.name ?? '';
        const existing = await api.get<KubeObject>(type, source.namespace, name);
        if (existing && !isReplicaOf(existing, source))
          throw new ReplicaConflictError(`${type.kind} ${source.namespace}/${name} exists in ${peer} and is not our replica: left alone`);
        this.check(peer);
        await api.apply(type, toReplica({ ...o, apiVersion: apiVersionOf(type), kind: type.kind }, source), ours.fieldManager);
      }
  }

  /** Deletes what is ours in `peer`, but for the `keep` keys (`Kind/name`); true when nothing of ours is left there. */
  async withdraw(source: ReplicaSource, peer: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
    const api = await this.peers.api(peer);
    for (const type of [...KINDS].reverse())
      for (const o of await this.ours(api, source, type)) {
        if (keep.has(`${type.kind}/${o.metadata.name}`)) continue;
        this.check(peer);
        try {
          await api.delete(type, source.namespace, o.metadata.name ?? '', { uid: o.metadata.uid });
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
      }
  }

  private check(peer: string): void {
    this.leadership.assert(`the replica in ${peer}`);
  }
}
