import { describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import { deploymentReady, identityValue, isReplicaOf, policySelector, references, selects, toReplica, type Deployment } from './replica.js';

const source = { cluster: 'west', namespace: 'shop', policy: 'web' };

const deployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '3', team: 'shop' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Thing', name: 'x', uid: 'o' }],
  },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        nodeName: 'west-node-1',
        volumes: [
          { configMap: { name: 'files' } },
          { secret: { secretName: 'tls' } },
          { projected: { sources: [{ configMap: { name: 'ca' } }] } },
        ],
        containers: [{ envFrom: [{ configMapRef: { name: 'env' } }], env: [{ valueFrom: { secretKeyRef: { name: 'db' } } }] }],
      },
    },
  },
  status: { observedGeneration: 3, readyReplicas: 2 },
};

describe('a replica', () => {
  it('keeps the spec, labels and annotations, and drops what the API server and this cluster filled in', () => {
    const r = toReplica(deployment, source);
    expect(r.metadata).toEqual({
      name: 'web',
      namespace: 'shop',
      labels: {
        app: 'web',
        'globalsvc.dev/replica-of': 'west.shop.web',
        'globalsvc.dev/burst-policy': 'west.shop.web',
        'app.kubernetes.io/managed-by': 'globalsvc',
      },
      annotations: { team: 'shop', 'globalsvc.dev/replica-of': 'west/shop/web' },
    });
    expect(r).not.toHaveProperty('status');
    expect(r.spec.template.spec).not.toHaveProperty('nodeName');
    expect(r.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec?.nodeName, 'the source is untouched').toBe('west-node-1');
  });

  it("of a Service is exported, without this cluster's addresses and node ports; a headless one stays headless", () => {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop', uid: 'u' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.0.0.7',
        clusterIPs: ['10.0.0.7'],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        selector: { app: 'web' },
        ports: [{ port: 80, nodePort: 30080 }],
      },
    };
    const r = toReplica(svc, source);
    expect(r.metadata.labels?.['mirror.linkerd.io/exported']).toBe('true');
    expect(r.spec).toEqual({ type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80 }] });
    expect(toReplica({ ...svc, spec: { ...svc.spec, clusterIP: 'None', clusterIPs: ['None'] } }, source).spec?.clusterIP).toBe('None');
  });

  it('is recognised by both marks, and nothing else is', () => {
    const r = toReplica(deployment, source);
    expect(isReplicaOf(r, source)).toBe(true);
    expect(isReplicaOf(deployment, source)).toBe(false);
    expect(isReplicaOf(r, { ...source, policy: 'other' })).toBe(false);
    const { 'app.kubernetes.io/managed-by': _dropped, ...unmanaged } = r.metadata.labels!;
    expect(isReplicaOf({ ...r, metadata: { ...r.metadata, labels: unmanaged } }, source)).toBe(false);
    expect(policySelector(source)).toBe('globalsvc.dev/burst-policy=west.shop.web,app.kubernetes.io/managed-by=globalsvc');
  });
});

describe('identityValue', () => {
  it('is <cluster>.<namespace>.<name>, a valid label value, and stays one (unique, at most 63) when that is too long', () => {
    expect(identityValue('west', 'shop', 'web')).toBe('west.shop.web');
    const long = identityValue('west', 'shop', `w${'e'.repeat(80)}b`);
    const other = identityValue('west', 'shop', `w${'e'.repeat(81)}b`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    expect(long).not.toBe(other);
  });
});

describe('what travels with the target', () => {
  it('is every ConfigMap and Secret its pods reference, and the Services that select its pods', () => {
    expect(references(deployment)).toEqual({ configMaps: ['ca', 'env', 'files'], secrets: ['db', 'tls'] });
    const svc = (selector?: Record<string, string>): Service => ({ metadata: { name: 's' }, spec: { selector } });
    expect(selects(svc({ app: 'web' }), { app: 'web', tier: 'front' })).toBe(true);
    expect(selects(svc({ app: 'api' }), { app: 'web' })).toBe(false);
    expect(selects(svc(undefined), { app: 'web' }), 'no selector: a mirror or a manual Service').toBe(false);
  });

  it('is ready when its generation is observed and every wanted replica is ready', () => {
    expect(deploymentReady(deployment)).toBe(true);
    expect(deploymentReady({ ...deployment, status: { observedGeneration: 2, readyReplicas: 2 } })).toBe(false);
    expect(deploymentReady({ ...deployment, status: { observedGeneration: 3, readyReplicas: 1 } })).toBe(false);
  });
});
