import { describe, expect, it } from 'vitest';
import { backendsAtHome, httpRouteAtHome, httpRoutes, splitWeights } from './route.js';

const source = { cluster: 'west', namespace: 'shop', policy: 'web' };
const owner = { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'web', uid: 'p-1' };

describe('the weights of a burst', () => {
  it('follow ready replicas: each cluster in proportion to what it runs ready', () => {
    expect(splitWeights({ mode: 'ReadyReplicas' }, 2, { east: 2, north: 1 })).toEqual({ local: 2, peers: { east: 2, north: 1 } });
  });

  it('stay home when nothing is ready anywhere', () => {
    expect(splitWeights({ mode: 'ReadyReplicas' }, 0, { east: 0 })).toEqual({ local: 1, peers: { east: 0 } });
  });

  it('are fixed percentages, the peers sharing theirs evenly and summing to 100', () => {
    expect(splitWeights({ mode: 'Fixed', local: 75, peers: 25 }, 9, { east: 1, north: 5 })).toEqual({
      local: 75,
      peers: { east: 13, north: 12 },
    });
  });

  it('go home before a split is removed: the local Service 1, every mirror 0', () => {
    expect(
      backendsAtHome([
        { name: 'web', weight: 75 },
        { name: 'web-east', weight: 13 },
        { name: 'web-north', weight: 12 },
      ]),
    ).toEqual([
      { name: 'web', weight: 1 },
      { name: 'web-east', weight: 0 },
      { name: 'web-north', weight: 0 },
    ]);
  });
});

describe('the HTTPRoutes of a burst', () => {
  it('are one per Service port, parented to the local Service, backed by it and its mirrors, owned by the policy', () => {
    const routes = httpRoutes(
      { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 8080 }, { port: 9090 }] } },
      { local: 3, peers: { east: 1 } },
      source,
      owner,
    );
    expect(routes.map((r) => r.metadata.name)).toEqual(['web-burst-8080', 'web-burst-9090']);
    expect(routes[0]).toMatchObject({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: {
        namespace: 'shop',
        labels: { 'globalsvc.dev/burst-policy': 'west.shop.web', 'app.kubernetes.io/managed-by': 'globalsvc' },
        ownerReferences: [{ ...owner, controller: true }],
      },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080 }],
        rules: [
          {
            backendRefs: [
              { group: '', kind: 'Service', name: 'web', port: 8080, weight: 3 },
              { group: '', kind: 'Service', name: 'web-east', port: 8080, weight: 1 },
            ],
          },
        ],
      },
    });
  });

  it('send every weight home before they are removed, keeping their parent', () => {
    const [route] = httpRoutes(
      { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 8080 }] } },
      { local: 2, peers: { east: 2 } },
      source,
      owner,
    );
    expect(httpRouteAtHome(route!).spec).toEqual({
      parentRefs: [{ group: '', kind: 'Service', name: 'web', port: 8080 }],
      rules: [
        {
          backendRefs: [
            { group: '', kind: 'Service', name: 'web', port: 8080, weight: 1 },
            { group: '', kind: 'Service', name: 'web-east', port: 8080, weight: 0 },
          ],
        },
      ],
    });
  });
});
