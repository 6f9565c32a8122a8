import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../domain/k8s-types.js';
import { KubeApi, KubeApiError, type ListPage, type ResourceType, type WatchHandlers } from '../cluster/kube-api.js';
import { createLogger } from '../observability/logger.js';
import { BurstInputs } from './inputs.js';
import { policy } from '../test-support/burst-timeline.js';

/** One cluster's objects by plural, listed whole and then watched (the watches stay open); a plural not served answers 404. */
function fakeCluster(objects: Record<string, KubeObject[]>, served = Object.keys(objects)) {
  const calls = { lists: [] as string[], watches: [] as string[], open: new Map<string, WatchHandlers>() };
  const api = {
    list: async (type: ResourceType, ns: string | undefined, query: { labelSelector?: string }): Promise<ListPage<KubeObject>> => {
      calls.lists.push(`${type.plural}@${ns}${query.labelSelector ? `?${query.labelSelector}` : ''}`);
      if (!served.includes(type.plural))
        throw new KubeApiError('list', type.kind, ns ?? '', 404, 'NotFound', 'the server could not find the requested resource');
      return { items: (objects[type.plural] ?? []).filter((o) => o.metadata.namespace === ns), resourceVersion: '7', continue: undefined };
    },
    listPages: KubeApi.prototype.listPages,
    listAll: KubeApi.prototype.listAll,
    watch: async (type: ResourceType, ns: string | undefined, _query: unknown, handlers: WatchHandlers) => {
      calls.watches.push(`${type.plural}@${ns}`);
      calls.open.set(`${type.plural}@${ns}`, handlers);
      const controller = new AbortController();
      controller.signal.addEventListener('abort', () => calls.open.delete(`${type.plural}@${ns}`));
      return controller;
    },
  };
  return { api: api as unknown as KubeApi, calls };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const source = { cluster: 'west', namespace: 'shop', policy: 'web' };
const ours = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: {
    name,
    namespace: 'shop',
    uid: `${name}-uid`,
    labels: { 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/burst-policy': 'west.shop.web', ...labels },
  },
});

describe("bursting's input caches", () => {
  it('watches what the policies need, reads every pass from the caches, and closes what no policy needs', async () => {
    const here = fakeCluster(
      {
        deployments: [
          {
            metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
            spec: { template: { metadata: { labels: { app: 'web' } } } },
          } as KubeObject,
        ],
        services: [],
        configmaps: [],
        httproutes: [ours('web-burst-8080'), { metadata: { name: 'theirs', namespace: 'shop', labels: { app: 'web' } } }],
      },
      ['deployments', 'services', 'configmaps', 'httproutes'],
    );
    const east = fakeCluster({
      deployments: [
        ours('web', { 'globalsvc.dev/replica-of': 'west.shop.web' }),
        ours('other', { 'globalsvc.dev/replica-of': 'west.shop.other', 'globalsvc.dev/burst-policy': 'west.shop.api' }),
      ],
      services: [],
      configmaps: [],
    });
    const dirty: string[] = [];
    const inputs = new BurstInputs(
      here.api,
      { api: async () => east.api },
      { has: (_ns, name) => name === 'web-east' },
      (ns) => dirty.push(ns),
      () => {},
      createLogger('silent'),
    );
    expect(inputs.world(source, ['east'], policy({ peers: ['east'] }))).toEqual({ waiting: 'the caches of namespace shop' });

    inputs.want(new Map([['shop', new Set(['east'])]]));
    await settle();
    expect(dirty).toContain('shop');
    const seen = inputs.world(source, ['east'], policy({ peers: ['east'] }));
    if (!('world' in seen)) throw new Error(seen.waiting);
    expect(seen.world.workload.deployments.map((d) => d.metadata.name)).toEqual(['web']);
    // Only what this policy made: not another policy's replica, not someone else's route.
    expect([...seen.world.replicas.get('east')!].map((o) => `${o.kind}/${o.object.metadata.name}`)).toEqual(['Deployment/web']);
    expect(seen.world.routes.map((r) => `${r.kind}/${r.object.metadata.name}`)).toEqual(['HTTPRoute/web-burst-8080']);
    expect(seen.world.mirrored('web', 'east')).toBe(true);
    // The peer is watched for our replicas only; TrafficSplits, not served here, read as none.
    expect(east.calls.lists.every((l) => l.includes('?app.kubernetes.io/managed-by=globalsvc,globalsvc.dev/replica-of'))).toBe(true);
    expect(here.calls.lists).toContain('trafficsplits@shop');

    // Passes read nothing: the caches answer.
    const listed = here.calls.lists.length + east.calls.lists.length;
    for (let i = 0; i < 10; i++) inputs.world(source, ['east'], policy({ peers: ['east'] }));
    expect(here.calls.lists.length + east.calls.lists.length).toBe(listed);

    // A change in the peer marks the namespace's policies dirty.
    dirty.length = 0;
    const replica = ours('web', { 'globalsvc.dev/replica-of': 'west.shop.web' });
    east.calls.open.get('deployments@shop')!.event('MODIFIED', {
      ...replica,
      metadata: { ...replica.metadata, resourceVersion: '8' },
      status: { readyReplicas: 2 },
    } as KubeObject);
    expect(dirty).toEqual(['shop']);

    inputs.want(new Map());
    expect(inputs.scopes).toEqual({ local: 0, remote: 0 });
    expect(east.calls.open.size).toBe(0);
    inputs.stop();
  });

  it('fails a pass whose peer cannot be reached, and tries the peer again at the next', async () => {
    const here = fakeCluster({ deployments: [], services: [], configmaps: [], httproutes: [], trafficsplits: [] });
    let attempts = 0;
    const inputs = new BurstInputs(
      here.api,
      {
        api: async () => {
          attempts++;
          throw new Error('no credentials for peer east: Secret linkerd-multicluster/cluster-credentials-east not found');
        },
      },
      { has: () => false },
      () => {},
      () => {},
      createLogger('silent'),
    );
    inputs.want(new Map([['shop', new Set(['east'])]]));
    await settle();
    expect(() => inputs.world(source, ['east'], undefined)).toThrow(/no credentials for peer east/);
    await settle();
    expect(attempts).toBe(2);
    inputs.stop();
  });
});
