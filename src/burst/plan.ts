// A burst pass as data, like the aggregator's plan: from the decision and what the caches show of
// the peers and the routes, the writes that make them match the phase, in the order they must run.
// The phase is a level (Bursting and Burst want the replica in the peers, Burst wants the traffic
// split, the others want neither), so a crash between two writes, or a replica deleted by hand, is
// repaired by the next plan. Only what differs is written: replicas and routes carry a hash of what
// was applied, the status is compared with the policy's. Pure: no clock, no client.
import { createHash } from 'node:crypto';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { burst } from '../domain/labels.js';
import { canonicalJson, compareStrings } from '../shared.js';
import type { Decision, ReplicaState } from './decide.js';
import type { BurstPolicy, TrafficApi } from './policy.js';
import { deploymentReady, toReplica, type Deployment, type ReplicaSource } from './replica.js';
import { httpRouteAtHome, httpRoutes, splitWeights, type HTTPRoute, type PolicyOwner, type SplitWeights } from './route.js';
import { statusOf, type BurstPolicyStatus, type ReplicatedObject } from './status.js';
import { trafficSplit, trafficSplitAtHome, type TrafficSplit } from './traffic-split.js';
import type { Workload } from './workload.js';

/** What a replica may be, in the order they are applied (what pods reference exists before them); deleted in the reverse. */
export const REPLICA_KINDS = ['ConfigMap', 'Service', 'Deployment'] as const;
export type ReplicaKind = (typeof REPLICA_KINDS)[number];
export type RouteKind = TrafficApi;
export type BurstKind = ReplicaKind | RouteKind;

export interface Owned<K extends BurstKind = BurstKind> {
  readonly kind: K;
  readonly object: KubeObject;
}

/** What a pass sees, all of it from caches. */
export interface BurstWorld {
  readonly workload: Workload;
  /** Per peer looked at: the objects there this policy made. */
  readonly replicas: ReadonlyMap<string, readonly Owned<ReplicaKind>[]>;
  /** The split objects here this policy made, of both APIs. */
  readonly routes: readonly Owned<RouteKind>[];
  /** Whether the mirror `<svc>-<peer>` of a peer's export exists here (the replica takes traffic only through it). */
  readonly mirrored: (service: string, peer: string) => boolean;
}

/** One write of a burst plan. `cluster` is a peer's name, or this cluster's for the routes. */
export type BurstWrite =
  | { readonly op: 'status'; readonly status: BurstPolicyStatus }
  | { readonly op: 'finalizer'; readonly on: boolean }
  | { readonly op: 'apply'; readonly cluster: string; readonly kind: BurstKind; readonly object: KubeObject }
  | {
      readonly op: 'delete';
      readonly cluster: string;
      readonly kind: BurstKind;
      readonly namespace: string;
      readonly name: string;
      readonly uid?: string;
    };

export const describeBurstWrite = (w: BurstWrite): string =>
  w.op === 'status' || w.op === 'finalizer'
    ? `${w.op}${w.op === 'finalizer' ? (w.on ? ' on' : ' off') : ''}`
    : `${w.op} ${w.kind} ${w.cluster}/${w.op === 'apply' ? w.object.metadata.name : w.name}`;

export interface ReplicaObservation {
  readonly state: ReplicaState;
  /** Ready replicas of the target per wanted peer. */
  readonly readyReplicas: Readonly<Record<string, number>>;
  /** Everything of ours that exists, in every peer looked at. */
  readonly inventory: readonly ReplicatedObject[];
}

const keyOf = (kind: string, name: string | undefined) => `${kind}/${name ?? ''}`;

/** The workload's objects as replicas, in apply order, keyed `Kind/name`. */
function desiredReplicas(workload: Workload, source: ReplicaSource): Map<string, Owned<ReplicaKind>> {
  const out = new Map<string, Owned<ReplicaKind>>();
  const add = (kind: ReplicaKind, apiVersion: string, objects: readonly KubeObject[]) => {
    for (const o of objects) out.set(keyOf(kind, o.metadata.name), { kind, object: hashed(toReplica({ ...o, apiVersion, kind }, source)) });
  };
  add('ConfigMap', 'v1', workload.configMaps);
  add('Service', 'v1', workload.services);
  add('Deployment', 'apps/v1', workload.deployments);
  return out;
}

/** The object with the hash of itself in an annotation: what the next plan compares. */
export function hashed<T extends KubeObject>(object: T): T {
  const hash = createHash('sha256').update(canonicalJson(object)).digest('hex').slice(0, 16);
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [burst.appliedHash]: hash } } };
}

const sameHash = (observed: KubeObject | undefined, desired: KubeObject) =>
  observed !== undefined && observed.metadata.annotations?.[burst.appliedHash] === desired.metadata.annotations?.[burst.appliedHash];

const kindOrder = (k: string) => (REPLICA_KINDS as readonly string[]).indexOf(k);

/** Where the replica stands: Absent when nothing of ours is left in any peer looked at, Ready when every wanted peer runs it ready and mirrored back. */
export function observeReplicas(world: BurstWorld, wanted: readonly string[]): ReplicaObservation {
  const inventory: ReplicatedObject[] = [];
  const readyReplicas: Record<string, number> = {};
  let ready = wanted.length > 0;
  for (const [peer, owned] of world.replicas)
    for (const { kind, object } of owned)
      inventory.push({ cluster: peer, kind, namespace: object.metadata.namespace, name: object.metadata.name ?? '' });
  for (const peer of wanted) {
    const found = new Map((world.replicas.get(peer) ?? []).map((o) => [keyOf(o.kind, o.object.metadata.name), o.object]));
    const expected = [
      ...world.workload.configMaps.map((o) => keyOf('ConfigMap', o.metadata.name)),
      ...world.workload.services.map((o) => keyOf('Service', o.metadata.name)),
      ...world.workload.deployments.map((o) => keyOf('Deployment', o.metadata.name)),
    ];
    if (expected.some((k) => !found.has(k))) ready = false;
    readyReplicas[peer] = 0;
    for (const d of world.workload.deployments) {
      const replica = found.get(keyOf('Deployment', d.metadata.name)) as Deployment | undefined;
      readyReplicas[peer] += replica?.status?.readyReplicas ?? 0;
      if (!replica || !deploymentReady(replica)) ready = false;
    }
    for (const s of world.workload.services) if (!world.mirrored(s.metadata.name ?? '', peer)) ready = false;
  }
  inventory.sort((a, b) => compareStrings(a.cluster, b.cluster) || kindOrder(a.kind) - kindOrder(b.kind) || compareStrings(a.name, b.name));
  const state: ReplicaState = inventory.length === 0 ? 'Absent' : ready ? 'Ready' : 'Starting';
  return { state, readyReplicas, inventory };
}

const deletion = (cluster: string, { kind, object }: Owned): BurstWrite => ({
  op: 'delete',
  cluster,
  kind,
  namespace: object.metadata.namespace ?? '',
  name: object.metadata.name ?? '',
  uid: object.metadata.uid,
});

/** Deletes of what is ours in every peer but the `keep` keys, in reverse apply order; what is being deleted already is left to finish. */
function withdraw(world: BurstWorld, keep: (peer: string, key: string) => boolean): BurstWrite[] {
  const writes: BurstWrite[] = [];
  for (const [peer, owned] of world.replicas)
    for (const o of [...owned].sort((a, b) => kindOrder(b.kind) - kindOrder(a.kind)))
      if (!o.object.metadata.deletionTimestamp && !keep(peer, keyOf(o.kind, o.object.metadata.name))) writes.push(deletion(peer, o));
  return writes;
}

/** A split object's removal: every weight home first (a data plane that has not seen the deletion yet already routes home), then gone. */
function sendHome(cluster: string, route: Owned<RouteKind>): BurstWrite[] {
  const atHome = route.kind === 'HTTPRoute' ? httpRouteAtHome(route.object as HTTPRoute) : trafficSplitAtHome(route.object as TrafficSplit);
  return [{ op: 'apply', cluster, kind: route.kind, object: atHome }, deletion(cluster, route)];
}

function splitObjects(
  api: TrafficApi,
  services: readonly Service[],
  split: SplitWeights,
  source: ReplicaSource,
  owner: PolicyOwner,
): KubeObject[] {
  return api === 'HTTPRoute'
    ? services.flatMap((s) => httpRoutes(s, split, source, owner))
    : services.map((s) => trafficSplit(s, split, source, owner));
}

export interface BurstPlanInput {
  readonly object: KubeObject & { status?: Partial<BurstPolicyStatus> };
  readonly policy: BurstPolicy;
  readonly source: ReplicaSource;
  readonly owner: PolicyOwner;
  readonly decision: Decision;
  readonly observation: ReplicaObservation;
  readonly world: BurstWorld;
  readonly now: number;
}

/**
 * The writes of one pass, in order: the status (the decision is recorded before it is acted on,
 * so a failed write resumes from it), the finalizer while replicas may exist, the replicas the
 * wanted peers lack or hold outdated, the split (written in Burst, sent home and removed
 * otherwise), then — the traffic sent elsewhere — every replica no longer wanted (all of them
 * outside Bursting and Burst), and the finalizer once nothing is left.
 */
export function planBurst({ object, policy, source, owner, decision, observation, world, now }: BurstPlanInput): BurstWrite[] {
  const writes: BurstWrite[] = [];
  // A split being deleted is on its way out already.
  const routes = world.routes.filter((r) => !r.object.metadata.deletionTimestamp);
  const status = { ...statusOf(decision, object.status, now), replicated: [...observation.inventory] };
  if (canonicalJson(status) !== canonicalJson(object.status ?? null)) writes.push({ op: 'status', status });

  const { phase } = decision.state;
  const wantReplica = phase === 'Bursting' || phase === 'Burst';
  const finalized = (object.metadata.finalizers ?? []).includes(burst.finalizer);
  const desired = wantReplica ? desiredReplicas(world.workload, source) : new Map<string, Owned<ReplicaKind>>();
  if (wantReplica) {
    if (!finalized) writes.push({ op: 'finalizer', on: true });
    for (const peer of policy.peers) {
      const found = new Map((world.replicas.get(peer) ?? []).map((o) => [keyOf(o.kind, o.object.metadata.name), o.object]));
      for (const [key, { kind, object: replica }] of desired)
        if (!sameHash(found.get(key), replica)) writes.push({ op: 'apply', cluster: peer, kind, object: replica });
    }
  }

  if (phase === 'Burst') {
    const localReady = world.workload.deployments.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0);
    const split = splitWeights(policy.weights, localReady, observation.readyReplicas);
    const wanted = splitObjects(policy.traffic.api, world.workload.services, split, source, owner).map(hashed);
    const names = new Set(wanted.map((o) => o.metadata.name));
    for (const route of wanted) {
      const current = routes.find((r) => r.kind === policy.traffic.api && r.object.metadata.name === route.metadata.name);
      if (!sameHash(current?.object, route)) writes.push({ op: 'apply', cluster: source.cluster, kind: policy.traffic.api, object: route });
    }
    for (const stale of routes)
      if (stale.kind !== policy.traffic.api || !names.has(stale.object.metadata.name)) writes.push(...sendHome(source.cluster, stale));
  } else for (const route of routes) writes.push(...sendHome(source.cluster, route));

  // Only now, with the traffic sent elsewhere: what is no longer wanted in the peers.
  writes.push(...withdraw(world, (peer, key) => policy.peers.includes(peer) && desired.has(key)));
  if (!wantReplica && finalized && observation.state === 'Absent' && routes.length === 0) writes.push({ op: 'finalizer', on: false });
  return writes;
}

/** A policy being deleted: traffic home, every replica it made gone, then its finalizer, so that its deletion finishes. */
export function planCleanUp(object: KubeObject, source: ReplicaSource, world: BurstWorld): BurstWrite[] {
  if (!(object.metadata.finalizers ?? []).includes(burst.finalizer)) return [];
  const routes = world.routes.filter((r) => !r.object.metadata.deletionTimestamp);
  const writes = routes.flatMap((r) => sendHome(source.cluster, r));
  writes.push(...withdraw(world, () => false));
  const left = [...world.replicas.values()].some((owned) => owned.length > 0) || routes.length > 0;
  if (!left) writes.push({ op: 'finalizer', on: false });
  return writes;
}
