import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../domain/k8s-types.js';
import { hold, policy, run, SOURCE, WORKLOAD } from '../test-support/burst-timeline.js';
import { decide } from './decide.js';
import {
  describeBurstWrite,
  hashed,
  observeReplicas,
  planBurst,
  planCleanUp,
  type BurstWorld,
  type Owned,
  type ReplicaKind,
  type RouteKind,
} from './plan.js';
import { httpRoutes } from './route.js';
import { toReplica } from './replica.js';

const owner = { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'web', uid: 'policy-uid' };
const withUid = <T extends KubeObject>(o: T, uid: string): T => ({ ...o, metadata: { ...o.metadata, uid } });
const readyReplicas = (): Owned<ReplicaKind>[] => [
  {
    kind: 'ConfigMap',
    object: withUid(hashed(toReplica({ ...WORKLOAD.configMaps[0]!, apiVersion: 'v1', kind: 'ConfigMap' }, SOURCE)), 'cm'),
  },
  { kind: 'Service', object: withUid(hashed(toReplica({ ...WORKLOAD.services[0]!, apiVersion: 'v1', kind: 'Service' }, SOURCE)), 'svc') },
  {
    kind: 'Deployment',
    object: withUid(
      {
        ...hashed(toReplica({ ...WORKLOAD.deployments[0]!, apiVersion: 'apps/v1', kind: 'Deployment' }, SOURCE)),
        status: { readyReplicas: 2 },
      } as KubeObject,
      'dep',
    ),
  },
];
const world = (replicas: Owned<ReplicaKind>[], routes: Owned<RouteKind>[] = []): BurstWorld => ({
  workload: WORKLOAD,
  replicas: new Map([['east', replicas]]),
  routes,
  mirrored: () => true,
});

/** The policy in Burst, as the timeline leaves it at 150s. */
function burstPolicy(spec: Record<string, unknown> = {}) {
  const p = policy(spec);
  const moments = run(p, hold(0, 150, 150));
  return { p, object: moments.at(-1)!.after.policy, state: moments.at(-1)!.decision.state };
}

describe('the burst plan', () => {
  it('switches a split from an HTTPRoute to a TrafficSplit: the new one first, then the old one home and deleted by uid', () => {
    const { p, object, state } = burstPolicy({ traffic: { api: 'TrafficSplit' } });
    const [route] = httpRoutes(WORKLOAD.services[0]!, { local: 2, peers: { east: 2 } }, SOURCE, owner);
    const w = world(readyReplicas(), [{ kind: 'HTTPRoute', object: withUid(hashed(route!), 'route-uid') }]);
    const observation = observeReplicas(w, p.peers);
    const decision = decide(state, { replica: observation.state }, Date.parse(object.status!.phaseSince!) + 1000, p);
    const writes = planBurst({ object, policy: p, source: SOURCE, owner, decision, observation, world: w, now: 0 });
    expect(writes.filter((x) => x.op !== 'status').map(describeBurstWrite)).toEqual([
      'apply TrafficSplit west/web-burst',
      'apply HTTPRoute west/web-burst-8080',
      'delete HTTPRoute west/web-burst-8080',
    ]);
    expect(writes.find((x) => x.op === 'delete')).toMatchObject({ uid: 'route-uid' });
    const home = writes.find((x) => x.op === 'apply' && x.kind === 'HTTPRoute');
    expect(JSON.stringify(home)).toContain('"name":"web-east","port":8080,"weight":0');
  });

  it('applies a replica only when what it would apply differs from what the peer holds', () => {
    const { p, object, state } = burstPolicy();
    const [route] = httpRoutes(WORKLOAD.services[0]!, { local: 2, peers: { east: 2 } }, SOURCE, owner);
    const routes: Owned<RouteKind>[] = [{ kind: 'HTTPRoute', object: withUid(hashed(route!), 'r') }];
    const plan = (replicas: Owned<ReplicaKind>[]) => {
      const w = world(replicas, routes);
      const observation = observeReplicas(w, p.peers);
      const decision = decide(state, { replica: observation.state }, 0, p);
      return planBurst({ object, policy: p, source: SOURCE, owner, decision, observation, world: w, now: 0 })
        .filter((x) => x.op !== 'status')
        .map(describeBurstWrite);
    };
    expect(plan(readyReplicas())).toEqual([]);
    const edited = readyReplicas().map((o) =>
      o.kind === 'ConfigMap'
        ? { ...o, object: { ...o.object, metadata: { ...o.object.metadata, annotations: { 'globalsvc.dev/applied-hash': 'old' } } } }
        : o,
    );
    expect(plan(edited)).toEqual(['apply ConfigMap east/web-env']);
  });

  it('cleans up after a deleted policy: the split home and gone, the replicas in reverse order, the finalizer once nothing is left', () => {
    const { object } = burstPolicy();
    const [route] = httpRoutes(WORKLOAD.services[0]!, { local: 2, peers: { east: 2 } }, SOURCE, owner);
    const deleting = { ...object, metadata: { ...object.metadata, deletionTimestamp: '2026-01-01T00:03:00Z' } };
    expect(
      planCleanUp(deleting, SOURCE, world(readyReplicas(), [{ kind: 'HTTPRoute', object: withUid(route!, 'r') }])).map(describeBurstWrite),
    ).toEqual([
      'apply HTTPRoute west/web-burst-8080',
      'delete HTTPRoute west/web-burst-8080',
      'delete Deployment east/web',
      'delete Service east/web',
      'delete ConfigMap east/web-env',
    ]);
    expect(planCleanUp(deleting, SOURCE, world([])).map(describeBurstWrite)).toEqual(['finalizer off']);
    const released = { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } };
    expect(planCleanUp(released, SOURCE, world(readyReplicas()))).toEqual([]);
  });
});
