import { describe, expect, it } from 'vitest';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { policy } from '../test-support/burst-timeline.js';
import type { Deployment } from './replica.js';
import { matches, workloadOf } from './workload.js';

const deployment = (name: string, labels: Record<string, string>, configMap?: string): Deployment => ({
  metadata: { name, namespace: 'shop', labels },
  spec: {
    template: {
      metadata: { labels },
      spec: { containers: configMap ? [{ envFrom: [{ configMapRef: { name: configMap } }] }] : [] },
    },
  },
});
const service = (name: string, selector: Record<string, string>, labels: Record<string, string> = {}): Service => ({
  metadata: { name, namespace: 'shop', labels },
  spec: { selector, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});
const configMap = (name: string): KubeObject => ({ metadata: { name, namespace: 'shop' } });

describe('a label selector', () => {
  const selector = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In' as const, values: ['front', 'edge'] },
      { key: 'track', operator: 'NotIn' as const, values: ['canary'] },
      { key: 'team', operator: 'Exists' as const },
      { key: 'legacy', operator: 'DoesNotExist' as const },
    ],
  };

  it('matches labels that satisfy every term, and only those', () => {
    expect(matches(selector, { app: 'web', tier: 'edge', team: 'a' })).toBe(true);
    expect(matches(selector, { app: 'web', tier: 'edge', team: 'a', track: 'stable' })).toBe(true);
    expect(matches(selector, { app: 'api', tier: 'edge', team: 'a' })).toBe(false);
    expect(matches(selector, { app: 'web', tier: 'back', team: 'a' })).toBe(false);
    expect(matches(selector, { app: 'web', tier: 'edge', team: 'a', track: 'canary' })).toBe(false);
    expect(matches(selector, { app: 'web', tier: 'edge' })).toBe(false);
    expect(matches(selector, { app: 'web', tier: 'edge', team: 'a', legacy: '' })).toBe(false);
  });
});

describe('the workload of a policy, from the namespace as cached', () => {
  const here = {
    deployments: [deployment('web', { app: 'web' }, 'web-env'), deployment('api', { app: 'api' }, 'api-env')],
    services: [
      service('web', { app: 'web' }),
      service('web-admin', { app: 'web' }),
      service('api', { app: 'api' }),
      service('web-global', {}, { 'app.kubernetes.io/managed-by': 'globalsvc' }),
    ],
    configMaps: [configMap('web-env'), configMap('api-env'), configMap('unrelated')],
  };

  it('is the target, the Services selecting its pods and the ConfigMaps they reference', () => {
    const w = workloadOf(policy({ target: { name: 'web' } }), here);
    expect(w.deployments.map((d) => d.metadata.name)).toEqual(['web']);
    expect(w.services.map((s) => s.metadata.name)).toEqual(['web', 'web-admin']);
    expect(w.configMaps.map((c) => c.metadata.name)).toEqual(['web-env']);
  });

  it('takes every Deployment a selector matches, and leaves out what replicate turns off', () => {
    const w = workloadOf(
      policy({
        target: { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } },
        replicate: { services: false },
      }),
      here,
    );
    expect(w.deployments.map((d) => d.metadata.name)).toEqual(['api', 'web']);
    expect(w.services).toEqual([]);
    expect(w.configMaps.map((c) => c.metadata.name)).toEqual(['api-env', 'web-env']);
  });

  it('is empty when the target does not exist', () => {
    expect(workloadOf(policy({ target: { name: 'gone' } }), here)).toEqual({ deployments: [], services: [], configMaps: [] });
  });
});
