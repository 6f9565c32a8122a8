import { describe, expect, it } from 'vitest';
import type { Settings } from './desired.js';
import { planGlobal } from './plan.js';
import { goDurationMs, linkInfo, type LinkObject } from './links.js';
import { statefulSet } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';

const link = (spec: LinkObject['spec'], status?: LinkObject['status']): LinkObject => ({
  apiVersion: 'multicluster.linkerd.io/v1alpha3',
  kind: 'Link',
  metadata: { name: 'east', namespace: 'linkerd-multicluster' },
  spec,
  ...(status ? { status } : {}),
});

describe("reading Linkerd's Links", () => {
  it('reads Go durations as Linkerd parses them', () => {
    expect(goDurationMs('3s')).toBe(3_000);
    expect(goDurationMs('1m30s')).toBe(90_000);
    expect(goDurationMs('250ms')).toBe(250);
    expect(goDurationMs('3')).toBeUndefined();
    expect(goDurationMs('')).toBeUndefined();
    expect(goDurationMs('-1s')).toBeUndefined();
  });

  it('probes as `linkerd multicluster link` writes the probe, with the CRD defaults', () => {
    const info = linkInfo(
      link({
        targetClusterName: 'east',
        gatewayAddress: '203.0.113.7, gw.east.example',
        probeSpec: { path: '/ready', port: '4191', period: '3s' },
      }),
    );
    expect(info).toEqual({
      ref: 'linkerd-multicluster/east',
      cluster: 'east',
      probe: {
        addresses: ['203.0.113.7', 'gw.east.example'],
        port: 4191,
        path: '/ready',
        periodMs: 3_000,
        failureThreshold: 3,
        timeoutMs: 30_000,
      },
      unmirrored: [],
    });
  });

  it('reads the remote-discovery selector and the credentials Secret a Link names, or why it cannot', () => {
    const spec = { targetClusterName: 'east', clusterCredentialsSecret: 'cluster-credentials-east' };
    expect(
      linkInfo(link({ ...spec, remoteDiscoverySelector: { matchLabels: { 'mirror.linkerd.io/exported': 'remote-discovery' } } })),
    ).toMatchObject({
      remoteDiscovery: {
        selector: 'mirror.linkerd.io/exported=remote-discovery',
        credentials: { namespace: 'linkerd-multicluster', name: 'cluster-credentials-east' },
      },
    });
    expect(linkInfo(link(spec))?.remoteDiscovery).toBeUndefined();
    expect(linkInfo(link(spec))?.remoteDiscoveryProblem).toBeUndefined();
    expect(
      linkInfo(link({ targetClusterName: 'east', remoteDiscoverySelector: { matchLabels: { a: 'b' } } }))?.remoteDiscoveryProblem,
    ).toMatch(/no clusterCredentialsSecret/);
    expect(linkInfo(link({ ...spec, remoteDiscoverySelector: {} }))?.remoteDiscoveryProblem).toMatch(/empty/);
    expect(
      linkInfo(link({ ...spec, remoteDiscoverySelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }))?.remoteDiscoveryProblem,
    ).toMatch(/not a selector/);
  });

  it('does not probe where Linkerd does not, and says why', () => {
    expect(
      linkInfo(link({ targetClusterName: 'east', gatewayAddress: '203.0.113.7', probeSpec: { port: '4191', period: '3s' } }))?.probeProblem,
    ).toMatch(/no probeSpec.path/);
    expect(
      linkInfo(link({ targetClusterName: 'east', gatewayAddress: '203.0.113.7', probeSpec: { path: '/ready', port: '4191', period: '3' } }))
        ?.probeProblem,
    ).toMatch(/period "3" is not a duration/);
    expect(linkInfo(link({ targetClusterName: 'east', probeSpec: { path: '/ready', port: '4191', period: '3s' } }))?.probeProblem).toMatch(
      /no gatewayAddress/,
    );
    expect(linkInfo(link({ gatewayAddress: '203.0.113.7' }))).toBeUndefined();
  });

  it("lists what the Link's status says is not mirrored", () => {
    const info = linkInfo(
      link(
        { targetClusterName: 'east' },
        {
          mirrorServices: [
            {
              remoteRef: { namespace: 'shop', name: 'web' },
              conditions: [{ type: 'Mirrored', status: 'True', reason: 'Mirrored' }],
            },
            {
              remoteRef: { namespace: 'team-b', name: 'api' },
              conditions: [{ type: 'Mirrored', status: 'False', reason: 'MissingNamespace', message: 'Namespace does not exist' }],
            },
          ],
        },
      ),
    );
    expect(info?.unmirrored).toEqual([
      { namespace: 'team-b', name: 'api', reason: 'MissingNamespace', message: 'Namespace does not exist' },
    ]);
  });
});

describe('a global and the links', () => {
  const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
  const key = { namespace: 'data', name: 'db' };
  const members = () => [statefulSet('west', 2, 1), statefulSet('east', 2, 2), statefulSet('north', 1, 3)];

  it("publishes a cluster whose gateway fails globalsvc's probe not ready, says so on the Service, and comes back", () => {
    const ns = new FakeNamespace();
    const down = { linked: new Set(['east', 'north']), gatewayDown: new Set(['east', 'west']) };
    converge(ns, (w) => planGlobal({ ...w, links: down }, settings), key, members(), 'db-global');
    const ready = () =>
      Object.fromEntries(
        ns
          .slicesOf('db-global')
          .map((s) => [
            s.metadata.labels!['multicluster.kubernetes.io/source-cluster'],
            s.endpoints!.map((e) => e.conditions?.ready ?? true),
          ]),
      );
    // The local cluster's own pods never depend on a gateway.
    expect(ready()).toEqual({ west: [true, true], east: [false, false], north: [true] });
    expect(ns.services.get('db-global')!.metadata.annotations).toEqual({ 'globalsvc.dev/gateway-down': 'east' });
    const plan = planGlobal({ ...ns.world(key, members(), 'db-global'), links: down }, settings);
    expect(plan.problems.map((p) => [p.reason, p.message])).toEqual([
      ['ClusterUnreachable', expect.stringContaining("cluster east's gateway does not answer its probe")],
    ]);

    converge(ns, (w) => planGlobal({ ...w, links: { ...down, gatewayDown: new Set() } }, settings), key, members(), 'db-global');
    expect(ready()).toEqual({ west: [true, true], east: [true, true], north: [true] });
    expect(ns.services.get('db-global')!.metadata.annotations?.['globalsvc.dev/gateway-down']).toBeUndefined();
  });

  it('keeps the endpoints of a cluster without a Link, and tells that nothing keeps them current', () => {
    const ns = new FakeNamespace();
    const links = { linked: new Set(['north']), gatewayDown: new Set<string>() };
    const plans = converge(ns, (w) => planGlobal({ ...w, links }, settings), key, members(), 'db-global');
    expect(ns.slicesOf('db-global')).toHaveLength(3);
    const missing = plans.at(-1)!.problems.filter((p) => p.reason === 'LinkMissing');
    expect(missing).toEqual([expect.objectContaining({ stale: { cluster: 'east', endpoints: 2 } })]);
    expect(missing[0]!.message).toMatch(/cluster east has no Link here .*2 endpoint\(s\) of its member db-east/);
    // Links not known (no CRD, no right): nothing is said.
    expect(planGlobal(ns.world(key, members(), 'db-global'), settings).problems).toEqual([]);
  });
});
