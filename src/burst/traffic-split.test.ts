import { describe, expect, it } from 'vitest';
import { trafficSplit, trafficSplitAtHome } from './traffic-split.js';

const source = { cluster: 'west', namespace: 'shop', policy: 'web' };
const owner = { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'web', uid: 'p-1' };
const web = { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 8080 }, { port: 9090 }] } };

describe('the SMI TrafficSplit of a burst', () => {
  it('is one per Service whatever its ports, the Service its apex and a backend beside its mirrors, owned by the policy', () => {
    expect(trafficSplit(web, { local: 75, peers: { east: 13, north: 12 } }, source, owner)).toEqual({
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: {
        name: 'web-burst',
        namespace: 'shop',
        labels: { 'globalsvc.dev/burst-policy': 'west.shop.web', 'app.kubernetes.io/managed-by': 'globalsvc' },
        ownerReferences: [{ ...owner, controller: true }],
      },
      spec: {
        service: 'web',
        backends: [
          { service: 'web', weight: 75 },
          { service: 'web-east', weight: 13 },
          { service: 'web-north', weight: 12 },
        ],
      },
    });
  });

  it('sends every weight home before it is removed, keeping its name and labels', () => {
    const split = { ...trafficSplit(web, { local: 2, peers: { east: 2 } }, source, owner) };
    split.metadata = { ...split.metadata, uid: 'ts-1', resourceVersion: '7' };
    expect(trafficSplitAtHome(split)).toEqual({
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'web-burst', namespace: 'shop', labels: split.metadata.labels },
      spec: {
        service: 'web',
        backends: [
          { service: 'web', weight: 1 },
          { service: 'web-east', weight: 0 },
        ],
      },
    });
  });
});
