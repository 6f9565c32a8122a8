import { Leadership } from '../cluster/leadership.js';
import { describe, expect, it } from 'vitest';
import { KubeApiError, type ResourceType } from '../cluster/kube-api.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { httpRoutes } from './route.js';
import { trafficSplit } from './traffic-split.js';
import { TrafficShifter, type RouteApi } from './traffic.js';

const source = { cluster: 'west', namespace: 'shop', policy: 'web' };
const owner = { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'web', uid: 'p-1' };
const web = { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 8080 }] } };
const split = { local: 2, peers: { east: 2 } };

/** One namespace of an API server, by plural; a plural absent from `served` answers 404 like a CRD not installed. */
function fakeApi(served: string[], existing: Record<string, KubeObject[]> = {}) {
  const store = new Map(served.map((p) => [p, new Map((existing[p] ?? []).map((o) => [o.metadata.name!, o]))]));
  const writes: string[] = [];
  const kind = (type: ResourceType) => {
    const objects = store.get(type.plural);
    if (!objects) throw new KubeApiError('list', type.kind, 'shop', 404, 'NotFound', 'the server could not find the requested resource');
    return objects;
  };
  const api: RouteApi = {
    listAll: <T extends KubeObject>(type: ResourceType) =>
      Promise.resolve({ items: [...kind(type).values()] as T[], resourceVersion: '1' }),
    apply: <T extends KubeObject>(type: ResourceType, object: KubeObject) => {
      const weights = JSON.stringify(object)
        .match(/"weight":\d+/g)!
        .map((w) => w.slice(9));
      writes.push(`apply ${type.plural}/${object.metadata.name} ${weights.join(':')}`);
      const stored = { ...object, metadata: { ...object.metadata, uid: `${object.metadata.name}-uid` } };
      kind(type).set(object.metadata.name!, stored);
      return Promise.resolve(stored as T);
    },
    delete: (type: ResourceType, _namespace: string, name: string, preconditions: { uid?: string }) => {
      writes.push(`delete ${type.plural}/${name} uid=${preconditions.uid}`);
      kind(type).delete(name);
      return Promise.resolve();
    },
  };
  return { api, writes, names: (plural: string) => [...(store.get(plural)?.keys() ?? [])] };
}

describe('shifting a burst’s traffic', () => {
  it('writes a TrafficSplit when the policy chooses SMI, and sends home and removes a route it made before', async () => {
    const [route] = httpRoutes(web, split, source, owner);
    const bed = fakeApi(['httproutes', 'trafficsplits'], { httproutes: [{ ...route!, metadata: { ...route!.metadata, uid: 'r-1' } }] });
    await new TrafficShifter(bed.api, new Leadership(true)).shift(source, owner, [web], split, 'TrafficSplit');
    expect(bed.writes).toEqual([
      'apply trafficsplits/web-burst 2:2',
      'apply httproutes/web-burst-8080 1:0',
      'delete httproutes/web-burst-8080 uid=r-1',
    ]);
    expect(bed.names('trafficsplits')).toEqual(['web-burst']);
  });

  it('needs no SMI CRD to shift with HTTPRoutes, nor to restore', async () => {
    const bed = fakeApi(['httproutes']);
    const shifter = new TrafficShifter(bed.api, new Leadership(true));
    await shifter.shift(source, owner, [web], split, 'HTTPRoute');
    expect(await shifter.restore(source)).toBe(1);
    expect(bed.writes).toEqual([
      'apply httproutes/web-burst-8080 2:2',
      'apply httproutes/web-burst-8080 1:0',
      'delete httproutes/web-burst-8080 uid=web-burst-8080-uid',
    ]);
  });

  it('restores only what it made: weights home, then deleted by uid', async () => {
    const theirs = { ...trafficSplit(web, split, source, owner), metadata: { name: 'theirs', namespace: 'shop', labels: { app: 'web' } } };
    const bed = fakeApi(['trafficsplits'], { trafficsplits: [theirs] });
    const shifter = new TrafficShifter(bed.api, new Leadership(true));
    await shifter.shift(source, owner, [web], split, 'TrafficSplit');
    expect(await shifter.restore(source)).toBe(1);
    expect(bed.writes.slice(1)).toEqual(['apply trafficsplits/web-burst 1:0', 'delete trafficsplits/web-burst uid=web-burst-uid']);
    expect(bed.names('trafficsplits')).toEqual(['theirs']);
  });
});
