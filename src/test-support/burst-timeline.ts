// Runs production's burst pass — observe, decide, plan — over a timeline of metric readings, and
// carries out each plan's writes in a simulated pair of clusters, where a replica Deployment
// becomes ready some seconds after it is applied and a deleted object is gone some seconds later.
// Tests state whole stories in a few lines, and what they see is what the controller would write.
import { decide, type BurstState, type Decision, type ReplicaState } from '../burst/decide.js';
import type { BurstPolicyObject } from '../burst/executor.js';
import {
  observeReplicas,
  planBurst,
  type BurstKind,
  type BurstWorld,
  type BurstWrite,
  type Owned,
  type ReplicaKind,
  type RouteKind,
} from '../burst/plan.js';
import { parseBurstPolicy, type BurstPolicy } from '../burst/policy.js';
import type { Deployment, ReplicaSource } from '../burst/replica.js';
import { stateOf } from '../burst/status.js';
import type { MetricReading } from '../burst/streak.js';
import type { Workload } from '../burst/workload.js';
import { burst } from '../domain/labels.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { minimalSpec } from './burst-policies.js';

/** A number, or a failed reading: Prometheus down, NaN, no series; undefined is "no new reading". */
export type Reading = number | 'down' | 'NaN' | 'nodata' | undefined;

export interface Step {
  /** Seconds since the start. */
  t: number;
  metric: Reading;
  /** A new policy from this step on (a spec change). */
  policy?: BurstPolicy;
}

export interface World {
  /** Seconds from a replica Deployment's apply to its readiness; never when undefined. */
  readyAfter?: number;
  /** Seconds from a delete to the object's disappearance. */
  goneAfter?: number;
}

export interface Moment {
  t: number;
  decision: Decision;
  replica: ReplicaState;
  reading: MetricReading | undefined;
  /** The plan this pass executed. */
  writes: readonly BurstWrite[];
  /** The simulated clusters after it. */
  after: Simulation;
  /** Splits that sent traffic to a replica gone or going, after any write of the plan (sendsToWithdrawn). */
  misrouted: string[];
  policy: BurstPolicy;
  world: World;
}

export const T0 = Date.parse('2026-01-01T00:00:00Z');

export function policy(spec: Record<string, unknown> = {}, generation = 1): BurstPolicy {
  return parseBurstPolicy(
    {
      metadata: { namespace: 'shop', name: 'web', generation },
      spec: { ...minimalSpec, ...spec },
    },
    'west',
  );
}

export function reading(r: Reading): MetricReading | undefined {
  switch (r) {
    case undefined:
      return undefined;
    case 'down':
      return { ok: false, reason: 'PrometheusUnreachable', message: 'connect ECONNREFUSED' };
    case 'nodata':
      return { ok: false, reason: 'NoData', message: 'the query returned no series' };
    case 'NaN':
      return { ok: true, value: Number.NaN };
    default:
      return { ok: true, value: r };
  }
}

/** Readings every `every` seconds from `from` to `to` inclusive, all `metric`. */
export const hold = (from: number, to: number, metric: Reading, every = 15): Step[] =>
  Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => ({ t: from + i * every, metric }));

export const SOURCE: ReplicaSource = { cluster: 'west', namespace: 'shop', policy: 'web' };
const OWNER = { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'web', uid: 'policy-uid' };

/** web here: two ready pods, the Service that selects them and the ConfigMap they read. */
export const WORKLOAD: Workload = {
  deployments: [
    {
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ envFrom: [{ configMapRef: { name: 'web-env' } }] }] } },
      },
      status: { readyReplicas: 2 },
    },
  ],
  services: [{ metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] } }],
  configMaps: [{ metadata: { name: 'web-env', namespace: 'shop' } }],
};

interface Placed<K extends BurstKind> extends Owned<K> {
  readonly since: number;
  readonly deletedAt?: number;
}

/** The clusters as the plans left them: the policy, the replicas in each peer, the split objects here. */
export interface Simulation {
  readonly policy: BurstPolicyObject;
  readonly replicas: ReadonlyMap<string, ReadonlyMap<string, Placed<ReplicaKind>>>;
  readonly routes: ReadonlyMap<string, Placed<RouteKind>>;
}

const keyOf = (kind: string, name: string | undefined) => `${kind}/${name ?? ''}`;

/** The world moves on by itself: replicas become ready, deleted objects go. */
function evolve(sim: Simulation, t: number, world: World): Simulation {
  const replicas = new Map<string, Map<string, Placed<ReplicaKind>>>();
  for (const [peer, objects] of sim.replicas) {
    const kept = new Map<string, Placed<ReplicaKind>>();
    for (const [key, placed] of objects) {
      if (placed.deletedAt !== undefined && t - placed.deletedAt >= (world.goneAfter ?? 0)) continue;
      let object = placed.object;
      if (placed.kind === 'Deployment' && world.readyAfter !== undefined && t - placed.since >= world.readyAfter) {
        const d = object as Deployment;
        object = { ...d, status: { observedGeneration: 1, readyReplicas: d.spec.replicas ?? 1 } } as KubeObject;
      }
      kept.set(key, { ...placed, object });
    }
    if (kept.size > 0) replicas.set(peer, kept);
  }
  const routes = new Map([...sim.routes].filter(([, r]) => r.deletedAt === undefined || t - r.deletedAt < (world.goneAfter ?? 0)));
  return { ...sim, replicas, routes };
}

function worldOf(sim: Simulation): BurstWorld {
  const replicas = new Map<string, Owned<ReplicaKind>[]>();
  for (const [peer, objects] of sim.replicas) replicas.set(peer, [...objects.values()]);
  return {
    workload: WORKLOAD,
    replicas,
    routes: [...sim.routes.values()],
    mirrored: (service, peer) => {
      const exported = sim.replicas.get(peer)?.get(keyOf('Service', service));
      return exported !== undefined && exported.deletedAt === undefined;
    },
  };
}

const withDeletion = <K extends BurstKind>(p: Placed<K>, t: number): Placed<K> => ({
  ...p,
  deletedAt: p.deletedAt ?? t,
  object: { ...p.object, metadata: { ...p.object.metadata, deletionTimestamp: new Date(T0 + t * 1000).toISOString() } },
});

/** One write carried out, as the API server would. */
export function execute(sim: Simulation, w: BurstWrite, t: number): Simulation {
  switch (w.op) {
    case 'status':
      return { ...sim, policy: { ...sim.policy, status: JSON.parse(JSON.stringify(w.status)) as BurstPolicyObject['status'] } };
    case 'finalizer':
      return { ...sim, policy: { ...sim.policy, metadata: { ...sim.policy.metadata, finalizers: w.on ? [burst.finalizer] : [] } } };
    case 'apply': {
      const key = keyOf(w.kind, w.object.metadata.name);
      if (w.cluster === SOURCE.cluster) {
        const routes = new Map(sim.routes);
        const before = routes.get(key);
        routes.set(key, {
          kind: w.kind as RouteKind,
          object: { ...w.object, metadata: { ...w.object.metadata, uid: before?.object.metadata.uid ?? `uid-${w.cluster}-${key}-${t}` } },
          since: before?.since ?? t,
        });
        return { ...sim, routes };
      }
      const replicas = new Map(sim.replicas);
      const peer = new Map(replicas.get(w.cluster) ?? []);
      const before = peer.get(key);
      peer.set(key, {
        kind: w.kind as ReplicaKind,
        object: {
          ...w.object,
          metadata: { ...w.object.metadata, uid: before?.object.metadata.uid ?? `uid-${w.cluster}-${key}-${t}` },
          ...(before && { status: (before.object as Deployment).status }),
        } as KubeObject,
        since: before?.since ?? t,
      });
      replicas.set(w.cluster, peer);
      return { ...sim, replicas };
    }
    case 'delete': {
      const key = keyOf(w.kind, w.name);
      if (w.cluster === SOURCE.cluster) {
        const routes = new Map(sim.routes);
        const before = routes.get(key);
        if (before && before.object.metadata.uid === w.uid) routes.set(key, withDeletion(before, t));
        return { ...sim, routes };
      }
      const replicas = new Map(sim.replicas);
      const peer = new Map(replicas.get(w.cluster) ?? []);
      const before = peer.get(key);
      if (before && before.object.metadata.uid === w.uid) peer.set(key, withDeletion(before, t));
      replicas.set(w.cluster, peer);
      return { ...sim, replicas };
    }
  }
}

/** One pass at `t`, as the controller makes it, and its plan carried out. */
function pass(sim: Simulation, state: BurstState | undefined, p: BurstPolicy, r: MetricReading | undefined, t: number, world: World) {
  const now = T0 + t * 1000;
  const seen = worldOf(sim);
  const observation = observeReplicas(seen, p.peers);
  const decision = decide(state, { metric: r, replica: observation.state }, now, p);
  const writes = planBurst({ object: sim.policy, policy: p, source: SOURCE, owner: OWNER, decision, observation, world: seen, now });
  const misrouted: string[] = [];
  for (const write of writes) {
    sim = execute(sim, write, t);
    misrouted.push(...sendsToWithdrawn(sim));
  }
  return { decision, replica: observation.state, writes, misrouted, after: evolve(sim, t, world) };
}

/**
 * Runs a pass at every step. `throughStatus` takes each decision's state back from the policy's
 * status, as the controller does; by default the state is carried in memory.
 */
export function run(
  first: BurstPolicy,
  steps: readonly Step[],
  world: World = { readyAfter: 30, goneAfter: 0 },
  throughStatus = false,
): Moment[] {
  let current = first;
  let state: BurstState | undefined;
  let sim: Simulation = {
    policy: { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', metadata: { namespace: 'shop', name: 'web', uid: OWNER.uid } },
    replicas: new Map(),
    routes: new Map(),
  };
  const moments: Moment[] = [];
  for (const step of steps) {
    current = step.policy ?? current;
    const r = reading(step.metric);
    const m = pass(evolve(sim, step.t, world), state, current, r, step.t, world);
    sim = m.after;
    state = throughStatus ? stateOf(sim.policy.status) : m.decision.state;
    moments.push({ t: step.t, reading: r, world, policy: current, ...m });
  }
  return moments;
}

/** The plans of `times` more passes at a moment's time, with no new reading, each over the clusters the one before left. */
export function rerun(moment: Moment, times: number): BurstWrite[][] {
  const plans: BurstWrite[][] = [];
  let { after: sim } = moment;
  let state = moment.decision.state;
  for (let i = 0; i < times; i++) {
    const m = pass(sim, state, moment.policy, undefined, moment.t, moment.world);
    plans.push([...m.writes]);
    sim = m.after;
    state = m.decision.state;
  }
  return plans;
}

/** A plan in a few words: replicate:<peer> (replicas applied there), route (a split written), home (a split sent home and removed), withdraw:<peer>. */
export function summary(writes: readonly BurstWrite[]): string[] {
  const words: string[] = [];
  const add = (word: string) => !words.includes(word) && words.push(word);
  writes.forEach((w, i) => {
    const next = writes[i + 1];
    if (w.op === 'apply' && w.cluster !== SOURCE.cluster) add(`replicate:${w.cluster}`);
    else if (w.op === 'apply' && !(next?.op === 'delete' && next.kind === w.kind && next.name === w.object.metadata.name)) add('route');
    else if (w.op === 'delete' && w.cluster === SOURCE.cluster) add('home');
    else if (w.op === 'delete') add(`withdraw:${w.cluster}`);
  });
  return words;
}

/** The moments where the phase changed or something was written besides the status: "120s Bursting replicate:east". */
export function trace(moments: readonly Moment[]): string[] {
  const lines: string[] = [];
  let phase = 'Idle';
  for (const m of moments) {
    const words = summary(m.writes);
    if (m.decision.state.phase === phase && words.length === 0) continue;
    lines.push(`${m.t}s ${m.decision.state.phase}${words.length ? ` ${words.join('+')}` : ''}`);
    phase = m.decision.state.phase;
  }
  return lines;
}

/** Whether, in the simulation, a split sends traffic (weight above 0) to a peer whose replica is gone or going. */
export function sendsToWithdrawn(sim: Simulation): string[] {
  const wrong: string[] = [];
  for (const { object, deletedAt } of sim.routes.values()) {
    if (deletedAt !== undefined) continue;
    const text = JSON.stringify(object);
    for (const m of text.matchAll(/"(?:name|service)":"web-([a-z]+)"(?:,"port":\d+)?,"weight":(\d+)/g)) {
      const [, peer, weight] = m;
      if (Number(weight) === 0) continue;
      const replica = sim.replicas.get(peer!)?.get(keyOf('Deployment', 'web'));
      if (!replica || replica.deletedAt !== undefined) wrong.push(`${object.metadata.name} sends ${weight} to ${peer}`);
    }
  }
  return wrong;
}
