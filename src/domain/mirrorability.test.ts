import { describe, expect, it } from 'vitest';
import type { Service } from './k8s-types.js';
import { unmirrorable } from './mirrorability.js';
import { planGlobal } from './plan.js';
import { endpoint, localService, memberSlice } from '../test-support/builders.js';
import { MemberIndex } from '../engine/member-index.js';

const exportedService = (name: string, value = 'true'): Service => {
  const service = localService(name);
  service.metadata.labels = { 'mirror.linkerd.io/exported': value };
  return service;
};

function statefulSetPods(service: Service, replicas: number) {
  const sts = service.metadata.name!;
  return [
    memberSlice(
      service,
      Array.from({ length: replicas }, (_, i) => endpoint(`10.0.0.${i + 1}`, { hostname: `${sts}-${i}` })),
    ),
  ];
}

describe("what Linkerd's mirror cannot write in the importing clusters", () => {
  // 'orders-ledger-reconciliation-service-for-emea' is 45 characters: its pods' hostnames are 47,
  // and with "-west-europe-1" (14) their endpoint mirrors would be 61 — fine — but "-west-europe-prod-1" is 66.
  const name = 'orders-ledger-reconciliation-service-for-emea';

  it('names each pod whose endpoint mirror would pass 63 characters, the name it would need and what to do', () => {
    const service = exportedService(name);
    const problems = unmirrorable({ service, slices: statefulSetPods(service, 2) }, 'west-europe-prod-1');
    expect(problems.map((p) => [p.reason, p.subject.kind])).toEqual([
      ['UnmirrorableService', 'Service'],
      ['UnmirrorableService', 'global'],
      ['UnmirrorableHostname', 'Service'],
      ['UnmirrorableHostname', 'global'],
    ]);
    const pods = problems[2]!;
    expect(pods.message).toContain(`${name}-0 (needs "${name}-0-west-europe-prod-1", 66 characters)`);
    expect(pods.message).toContain(`${name}-1 (needs "${name}-1-west-europe-prod-1", 66 characters)`);
    expect(pods.message).toMatch(/Shorten the pods' hostnames to at most 44 characters/);
    expect(pods.leftOut).toEqual({ reason: 'UnmirrorableHostname', endpoints: 2 });
  });

  it('says nothing where every name fits, nor for pods of a ClusterIP or remote-discovery export', () => {
    const service = exportedService(name);
    expect(unmirrorable({ service, slices: statefulSetPods(service, 3) }, 'west-europe-1')).toEqual([]);
    const clusterIP = exportedService('db');
    clusterIP.spec!.clusterIP = '10.96.0.7';
    const longPod = [memberSlice(clusterIP, [endpoint('10.0.0.1', { hostname: 'x'.repeat(60) })])];
    expect(unmirrorable({ service: clusterIP, slices: longPod }, 'west')).toEqual([]);
    const remote = exportedService('db', 'remote-discovery');
    expect(unmirrorable({ service: remote, slices: longPod }, 'west')).toEqual([]);
  });

  it('is told for an exported service even when no other cluster exports it (no global here yet)', () => {
    const index = new MemberIndex({ localCluster: 'west-europe-prod-1', globalSuffix: '-global', includeLocal: true });
    const service = exportedService('orders-ledger-reconciliation-for-emea-north');
    const keys = index.serviceChanges(
      index.services.apply({ type: 'relisted', namespace: undefined, items: [index.services.transform(service)] }),
    );
    expect([...keys]).toEqual([`data/${service.metadata.name}`]);
    const slices = statefulSetPods(service, 1).map(index.slices.transform);
    index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: slices }));
    const plan = planGlobal(index.world({ namespace: 'data', name: service.metadata.name! }), {
      localCluster: 'west-europe-prod-1',
      globalSuffix: '-global',
      maxEndpointsPerSlice: 100,
    });
    expect(plan.writes).toEqual([]);
    // Told on the exported Service; there is no global to tell it on yet.
    expect(plan.problems.map((p) => [p.reason, p.subject.kind])).toEqual([['UnmirrorableHostname', 'Service']]);
  });
});
