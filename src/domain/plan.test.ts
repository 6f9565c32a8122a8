import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Service } from './k8s-types.js';
import type { MemberView, Settings } from './desired.js';
import { planGlobal } from './plan.js';
import { isDnsLabel } from './naming.js';
import { endpoint, localService, memberSlice, mirrorService, statefulSet, view } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import { arbMembersWithDirect } from '../test-support/arbitraries.js';

const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
const key = { namespace: 'data', name: 'db' };

const plan = (s: Settings) => (world: Parameters<typeof planGlobal>[0]) => planGlobal(world, s);

describe('planning a global', () => {
  it('keeps two pods of one cluster that hold one address, each under its own name (soak seed 183916993)', () => {
    // After west's control plane came back, kwok-controller gave db2-0 the address db2-1 still had;
    // the global published one of them, and _pg._tcp lost db2-1-west for as long as both lived.
    const local = localService('db');
    const members = [
      view(local, [
        memberSlice(local, [
          endpoint('10.1.0.1', { hostname: 'db-1' }),
          endpoint('10.1.0.33', { hostname: 'db-2' }),
          endpoint('10.1.0.1', { hostname: 'db-0' }),
        ]),
      ]),
      statefulSet('north', 1, 3),
    ];
    const ns = new FakeNamespace();
    converge(ns, plan(settings), key, members, 'db-global');
    const published = ns.slicesOf('db-global').flatMap((s) => (s.endpoints ?? []).map((e) => `${e.hostname} ${e.addresses[0]}`));
    expect(published.sort()).toEqual(['db-0-north 10.3.0.1', 'db-0-west 10.1.0.1', 'db-1-west 10.1.0.1', 'db-2-west 10.1.0.33']);
  });

  it('creates the headless Service first, then one slice per cluster with renamed hostnames', () => {
    const ns = new FakeNamespace();
    const members = [statefulSet('west', 2, 1), statefulSet('east', 2, 2), statefulSet('north', 2, 3)];
    const plans = converge(ns, plan(settings), key, members, 'db-global');
    expect(plans.map((p) => p.writes.map((w) => `${w.verb} ${w.kind}`))).toEqual([
      ['create Service'],
      ['create EndpointSlice', 'create EndpointSlice', 'create EndpointSlice'],
      [],
    ]);
    const service = ns.services.get('db-global')!;
    expect(service.spec).toEqual({ clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }] });
    const slices = ns.slicesOf('db-global');
    expect(slices.map((s) => s.metadata.labels?.['multicluster.kubernetes.io/source-cluster']).sort()).toEqual(['east', 'north', 'west']);
    const north = slices.find((s) => s.metadata.labels?.['multicluster.kubernetes.io/source-cluster'] === 'north')!;
    expect(north.endpoints?.map((e) => [e.hostname, e.addresses[0]])).toEqual([
      ['db-0-north', '10.3.0.1'],
      ['db-1-north', '10.3.0.2'],
    ]);
    expect(north.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Service', name: 'db-global', uid: service.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(north.metadata.labels).toMatchObject({
      'kubernetes.io/service-name': 'db-global',
      'endpointslice.kubernetes.io/managed-by': 'globalsvc.dev',
    });
  });

  it('creates the Service whole in one write, and changes it by a merge patch: a port replaced, an annotation removed', () => {
    const ns = new FakeNamespace();
    const north = statefulSet('north', 1, 3);
    north.service.spec!.ports = [{ name: 'pg', protocol: 'TCP', port: 6432, targetPort: 6432 }];
    const links = { gatewayDown: new Set(['north']) };
    const [created] = converge(ns, (w) => planGlobal({ ...w, links }, settings), key, [statefulSet('west', 1, 1), north], 'db-global');
    expect(created!.writes.map((w) => w.verb === 'create' && w.object)).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'db-global',
          namespace: 'data',
          labels: { 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'db' },
          annotations: { 'globalsvc.dev/gateway-down': 'north' },
        },
        spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 6432, targetPort: 6432 }] },
      },
    ]);
    // North gone, its gateway alive again: west's number of "pg" replaces north's (a create's port
    // is not an apply's to replace; a merge patch replaces the list), and the annotation goes.
    const [changed] = converge(
      ns,
      (w) => planGlobal(w, settings),
      key,
      [statefulSet('west', 1, 1), statefulSet('east', 1, 2)],
      'db-global',
    );
    const patch = changed!.writes.find((w) => w.verb === 'patch')!;
    expect(patch.verb === 'patch' && patch.patch).toMatchObject({
      metadata: { annotations: { 'globalsvc.dev/gateway-down': null } },
      spec: { ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }] },
    });
    const service = ns.services.get('db-global')!;
    expect(service.metadata.annotations).toEqual({});
    expect(service.spec?.ports).toEqual([{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }]);
  });

  it('needs a mirror: a local service alone makes no global', () => {
    const ns = new FakeNamespace();
    expect(converge(ns, plan(settings), key, [statefulSet('west', 2)], 'db-global')[0]!.writes).toEqual([]);
  });

  it('deletes the Service when the last mirror goes, and its slices with it, not waiting for the garbage collector', () => {
    const ns = new FakeNamespace();
    converge(ns, plan(settings), key, [statefulSet('west', 2, 1), statefulSet('east', 2, 2)], 'db-global');
    const plans = converge(ns, plan(settings), key, [statefulSet('west', 2, 1)], 'db-global');
    expect(plans[0]!.writes.map((w) => `${w.verb} ${w.kind}`)).toEqual(['delete Service', 'delete EndpointSlice', 'delete EndpointSlice']);
    expect(ns.services.size + ns.slices.size).toBe(0);
  });

  it('never touches a Service of the global name that is not ours, and reports it', () => {
    const ns = new FakeNamespace();
    ns.services.set('db-global', localService('db-global'));
    const [p] = converge(ns, plan(settings), key, [statefulSet('east', 2)], 'db-global');
    expect(p!.writes).toEqual([]);
    expect(p!.problems).toMatchObject([{ reason: 'GlobalNameTaken', subject: { kind: 'Service', name: 'db-global' } }]);
  });

  it('takes ports by name and protocol, resolving conflicts the same way in every cluster', () => {
    const ns = new FakeNamespace();
    const west = view(localService('db', 'data', [{ name: 'pg', port: 5432 }]), []);
    const east = view(
      mirrorService({
        name: 'db',
        cluster: 'east',
        ports: [
          { name: 'pg', port: 6432 },
          { name: 'metrics', port: 9187 },
        ],
      }),
      [],
    );
    const [p] = converge(ns, plan(settings), key, [east, west], 'db-global');
    const created = p!.writes[0]!;
    expect(created.verb === 'create' && (created.object as Service).spec).toEqual({
      clusterIP: 'None',
      ports: [
        { name: 'metrics', protocol: 'TCP', port: 9187, targetPort: 9187 },
        // east sorts before west: every cluster picks east's number, wherever it runs.
        { name: 'pg', protocol: 'TCP', port: 6432, targetPort: 6432 },
      ],
    });
    expect(p!.problems.map((x) => x.reason)).toEqual(['PortConflict']);
  });

  it('carries publishNotReadyAddresses where the local member sets it, and drops it when it no longer does', () => {
    const ns = new FakeNamespace();
    const bootstrapping = statefulSet('west', 2, 1);
    bootstrapping.service.spec!.publishNotReadyAddresses = true;
    converge(ns, plan(settings), key, [bootstrapping, statefulSet('east', 2, 2)], 'db-global');
    expect(ns.services.get('db-global')!.spec?.publishNotReadyAddresses).toBe(true);
    const plans = converge(ns, plan(settings), key, [statefulSet('west', 2, 1), statefulSet('east', 2, 2)], 'db-global');
    expect(plans.map((p) => p.writes.map((w) => `${w.verb} ${w.kind}`))).toEqual([['patch Service'], []]);
    expect(ns.services.get('db-global')!.spec?.publishNotReadyAddresses).toBe(false);
  });

  it('splits a member with 250 endpoints into slices of at most 100', () => {
    const ns = new FakeNamespace();
    converge(ns, plan(settings), key, [statefulSet('east', 250)], 'db-global');
    expect(
      ns
        .slicesOf('db-global')
        .map((s) => s.endpoints!.length)
        .sort(),
    ).toEqual([100, 100, 50]);
  });

  it('writes only the slice whose endpoint changed', () => {
    const ns = new FakeNamespace();
    converge(ns, plan(settings), key, [statefulSet('east', 250)], 'db-global');
    const changed = statefulSet('east', 250);
    changed.slices[0]!.endpoints![120]!.conditions = { ready: false };
    const plans = converge(ns, plan(settings), key, [changed], 'db-global');
    expect(plans.map((p) => p.writes.length)).toEqual([1, 0]);
  });

  it('restores an owned slice someone else edited', () => {
    const ns = new FakeNamespace();
    const members = [statefulSet('east', 3)];
    converge(ns, plan(settings), key, members, 'db-global');
    const slice = ns.slicesOf('db-global')[0]!;
    slice.endpoints = [...slice.endpoints!, endpoint('192.0.2.99')];
    slice.metadata.labels!['kubernetes.io/service-name'] = 'elsewhere';
    const plans = converge(ns, plan(settings), key, members, 'db-global');
    expect(plans.map((p) => p.writes.map((w) => w.verb))).toEqual([['update'], []]);
    expect(ns.slicesOf('db-global')[0]!.endpoints).toHaveLength(3);
  });
});

// --- properties -------------------------------------------------------------------------------

function memberEndpointKeys(members: MemberView[]): Set<string> {
  return new Set(
    members.flatMap((m) =>
      m.slices.flatMap((s) => (s.endpoints ?? []).map((e) => `${m.member.cluster}|${s.addressType}|${e.addresses[0]}`)),
    ),
  );
}

describe('planning invariants (property)', () => {
  const max = fc.integer({ min: 1, max: 120 });

  it('publishes every member endpoint exactly once, in slices under the limit that never mix address types, and then rests (some members read directly)', () => {
    fc.assert(
      fc.property(arbMembersWithDirect, arbMembersWithDirect, max, (before, after, maxEndpointsPerSlice) => {
        const s = { ...settings, maxEndpointsPerSlice };
        const ns = new FakeNamespace();
        for (const members of [before, after]) {
          const plans = converge(ns, plan(s), key, members, 'db-global', 5);
          expect(plans.at(-1)!.writes).toEqual([]); // re-planning an unchanged world plans zero writes
          if (!members.some((m) => m.member.origin !== 'local')) {
            expect(ns.slices.size).toBe(0);
            continue;
          }
          const published: string[] = [];
          for (const slice of ns.slicesOf('db-global')) {
            expect(slice.endpoints!.length).toBeGreaterThan(0);
            expect(slice.endpoints!.length).toBeLessThanOrEqual(maxEndpointsPerSlice);
            const cluster = slice.metadata.labels!['multicluster.kubernetes.io/source-cluster'];
            for (const e of slice.endpoints!) {
              expect(e.addresses[0]!.includes(':')).toBe(slice.addressType === 'IPv6');
              published.push(`${cluster}|${slice.addressType}|${e.addresses[0]}`);
            }
          }
          expect(published.length).toBe(new Set(published).size);
          expect(new Set(published)).toEqual(memberEndpointKeys(members));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives every (cluster, hostname) pair one valid, unique DNS label', () => {
    fc.assert(
      fc.property(arbMembersWithDirect, (members) => {
        const ns = new FakeNamespace();
        converge(ns, plan(settings), key, members, 'db-global');
        const owner = new Map<string, string>();
        for (const slice of ns.slicesOf('db-global')) {
          const cluster = slice.metadata.labels!['multicluster.kubernetes.io/source-cluster']!;
          for (const e of slice.endpoints!) {
            if (!e.hostname) continue;
            expect(isDnsLabel(e.hostname)).toBe(true);
            const source = members
              .find((m) => m.member.cluster === cluster)!
              .slices.flatMap((s) => s.endpoints!)
              .find((x) => x.addresses[0] === e.addresses[0])!.hostname!;
            const pair = `${cluster}/${source}`;
            expect(owner.get(e.hostname) ?? pair).toBe(pair);
            owner.set(e.hostname, pair);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
