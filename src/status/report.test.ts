import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import type { MemberView } from '../domain/desired.js';
import { planGlobal } from '../domain/plan.js';
import { endpoint, localService, memberSlice, mirrorService, statefulSet, view } from '../test-support/builders.js';
import { arbMembers } from '../test-support/arbitraries.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import type { EndpointCount, Listed, StatusSettings } from './report.js';
import { statusReport } from './report.js';

const settings: StatusSettings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100, includeLocal: true };
const key = { namespace: 'data', name: 'db' };

/** The cluster as one read would return it: the members' objects and whatever the controller wrote. */
function listed(members: readonly MemberView[], written = new FakeNamespace(), others: Service[] = []): Listed {
  return {
    namespaces: [],
    services: [...members.map((m) => m.service), ...written.services.values(), ...others],
    slices: [...members.flatMap((m) => m.slices), ...written.slices.values()],
  };
}

/** What the controller leaves behind once it has reconciled `members`. */
function reconciled(members: MemberView[], written = new FakeNamespace()): FakeNamespace {
  converge(written, (world) => planGlobal(world, settings), key, members, 'db-global');
  return written;
}

const n = (ready: number, total = ready): EndpointCount => ({ ready, total });

describe('the status of a global', () => {
  it('shows a reconciled global as published, every member with its endpoints and what the global holds of them', () => {
    const members = [statefulSet('west', 2, 1), statefulSet('east', 3, 2), statefulSet('north', 1, 3)];
    // Linkerd mirrors only ready pods: one it shows not ready is one its gateway probe cannot reach.
    members[1]!.slices[0]!.endpoints![2]!.conditions = { ready: false };
    const report = statusReport(listed(members, reconciled(members)), settings);

    expect(report.summary).toEqual({ globals: 1, problems: 1 });
    expect(report.globals).toEqual([
      {
        namespace: 'data',
        name: 'db',
        global: 'db-global',
        state: 'published',
        endpoints: { members: n(5, 6), published: n(5, 6) },
        members: [
          { cluster: 'east', origin: 'mirror', service: 'db-east', state: 'member', endpoints: n(2, 3), published: n(2, 3) },
          { cluster: 'north', origin: 'mirror', service: 'db-north', state: 'member', endpoints: n(1), published: n(1) },
          { cluster: 'west', origin: 'local', service: 'db', state: 'member', endpoints: n(2), published: n(2) },
        ],
        pendingWrites: [],
        problems: [
          {
            reason: 'ClusterUnreachable',
            message:
              "cluster east's gateway does not answer its probe: its endpoints are published not ready, so db-global answers without them until its gateway is back",
            object: { kind: 'Service', namespace: 'data', name: 'db-global' },
          },
        ],
      },
    ]);
  });

  it('says the global is out of date when a member changed since the controller last wrote', () => {
    const written = reconciled([statefulSet('west', 2, 1), statefulSet('east', 2, 2)]);
    const report = statusReport(listed([statefulSet('west', 2, 1), statefulSet('east', 3, 2)], written), settings);

    const [db] = report.globals;
    expect(db!.state).toBe('out-of-date');
    expect(db!.members.find((m) => m.cluster === 'east')).toMatchObject({ endpoints: n(3), published: n(2) });
    expect(db!.pendingWrites).toEqual([expect.stringMatching(/^update EndpointSlice data\/db-global-east-/)]);
    expect(db!.problems).toEqual([
      expect.objectContaining({ reason: 'OutOfDate', object: { kind: 'Service', namespace: 'data', name: 'db-global' } }),
    ]);
  });

  it('says the global is out of date, with the Service to create, when the controller has not made it', () => {
    const [db] = statusReport(listed([statefulSet('east', 2)]), settings).globals;
    expect(db).toMatchObject({ state: 'out-of-date', pendingWrites: ['create Service data/db-global'], endpoints: { published: n(0) } });
    expect(db!.problems[0]!.message).toMatch(/slices follow once the Service exists.*leads in cluster west/);
  });

  it('reports a Service of the global name that is not ours as a collision that blocks the global', () => {
    const squatter = localService('db-global');
    const report = statusReport(listed([statefulSet('east', 2)], undefined, [squatter]), settings);

    expect(report.globals.map((g) => [g.name, g.state])).toEqual([['db', 'blocked']]);
    expect(report.globals[0]!.problems).toEqual([
      expect.objectContaining({ reason: 'GlobalNameTaken', object: { kind: 'Service', namespace: 'data', name: 'db-global' } }),
    ]);
    expect(report.summary.problems).toBe(1);
  });

  it('lists a remote-discovery mirror as an unsupported member, and a mirror with no usable remote name as a problem of no global', () => {
    const remoteDiscovery = mirrorService({
      name: 'db',
      cluster: 'north',
      labels: { 'multicluster.linkerd.io/remote-discovery': 'north' },
    });
    const garbled = mirrorService({ name: 'web', cluster: 'east', annotations: { 'mirror.linkerd.io/remote-svc-fq-name': 'Web..' } });
    const members = [statefulSet('east', 2)];
    const report = statusReport(listed(members, reconciled(members), [remoteDiscovery, garbled]), settings);

    expect(report.globals[0]!.state).toBe('published');
    expect(report.globals[0]!.members).toContainEqual({
      cluster: 'north',
      origin: 'mirror',
      service: 'db-north',
      state: 'unsupported',
      endpoints: null,
      published: n(0),
    });
    expect(report.globals[0]!.problems).toEqual([
      expect.objectContaining({ reason: 'RemoteDiscoveryMirror', object: { kind: 'Service', namespace: 'data', name: 'db-north' } }),
    ]);
    expect(report.problems).toEqual([
      expect.objectContaining({ reason: 'GarbledRemoteName', object: { kind: 'Service', namespace: 'data', name: 'web-east' } }),
    ]);
    expect(report.summary.problems).toBe(2);
  });

  it('names a cluster whose endpoints the global still publishes after its mirror is gone', () => {
    const written = reconciled([statefulSet('east', 2, 2), statefulSet('north', 3, 3)]);
    const [db] = statusReport(listed([statefulSet('east', 2, 2)], written), settings).globals;

    expect(db!.state).toBe('out-of-date');
    expect(db!.members.at(-1)).toEqual({ cluster: 'north', origin: null, service: null, state: 'gone', endpoints: null, published: n(3) });
    expect(db!.problems.map((p) => p.reason)).toEqual(['StaleCluster', 'OutOfDate']);
    expect(db!.problems[0]!.message).toMatch(/still publishes 3 endpoint\(s\) of cluster north/);
  });

  it('calls a global that no mirror asks for any more orphaned, and a key whose mirrors all opted out unpublished', () => {
    const written = reconciled([statefulSet('east', 2)]);
    expect(statusReport(listed([], written), settings).globals).toMatchObject([
      {
        name: 'db',
        state: 'orphaned',
        pendingWrites: ['delete Service data/db-global', 'delete EndpointSlice data/db-global-east-c6e9c-0'],
      },
    ]);

    const optedOut = mirrorService({ name: 'db', cluster: 'east', labels: { 'globalsvc.dev/exclude': 'true' } });
    const report = statusReport(listed([statefulSet('west', 1)], undefined, [optedOut]), settings);
    expect(report.globals).toMatchObject([
      {
        state: 'unpublished',
        members: [
          { cluster: 'east', state: 'excluded', endpoints: null },
          { cluster: 'west', state: 'member', endpoints: n(1) },
        ],
      },
    ]);
    expect(report.summary.problems).toBe(0);
  });

  it("carries the planner's port conflict", () => {
    const east = mirrorService({ name: 'db', cluster: 'east', ports: [{ name: 'pg', port: 5432 }] });
    const north = mirrorService({ name: 'db', cluster: 'north', ports: [{ name: 'pg', port: 6432 }] });
    const members = [east, north].map((svc, i) => view(svc, [memberSlice(svc, [endpoint(`10.9.0.${i + 1}`, { hostname: 'db-0' })])]));
    const [db] = statusReport(listed(members, reconciled(members)), settings).globals;
    expect(db!.state).toBe('published');
    expect(db!.problems).toEqual([expect.objectContaining({ reason: 'PortConflict', message: expect.stringMatching(/5432.*6432/) })]);
  });
});

describe('status invariants (property)', () => {
  const sum = (counts: (EndpointCount | null)[]) =>
    counts.reduce<EndpointCount>((a, b) => ({ ready: a.ready + (b?.ready ?? 0), total: a.total + (b?.total ?? 0) }), n(0));

  it('adds up: a wanted global offers the sum of its members, and publishes the sum of its clusters whatever it lags', () => {
    fc.assert(
      fc.property(arbMembers, arbMembers, (before, after) => {
        const [db] = statusReport(listed(after, reconciled(before)), settings).globals;
        if (!db) return; // a local service alone, before and after: no global to speak of
        const wanted = db.state !== 'orphaned' && db.state !== 'unpublished';
        expect(db.endpoints.members).toEqual(wanted ? sum(db.members.map((m) => m.endpoints)) : n(0));
        expect(db.endpoints.published).toEqual(sum(db.members.map((m) => m.published)));
      }),
      { numRuns: 60 },
    );
  });

  it('shows a reconciled global published, each cluster publishing exactly what its member offers', () => {
    fc.assert(
      fc.property(arbMembers, (members) => {
        const report = statusReport(listed(members, reconciled(members)), settings);
        const [db] = report.globals;
        const hasMirror = members.some((m) => m.member.origin === 'mirror');
        expect(db?.state).toBe(hasMirror ? 'published' : undefined);
        for (const m of db?.members ?? []) expect(m.published).toEqual(m.endpoints);
        // The only problems left are the planner's notes on renamed hostnames, and on clusters whose mirrors show pods not ready.
        const notes = db?.problems.filter((p) => p.reason === 'HostnameRewritten' || p.reason === 'ClusterUnreachable');
        expect(report.summary.problems).toBe(notes?.length ?? 0);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the status and the Links', () => {
  const linkOf = (cluster: string, status?: object) => ({
    apiVersion: 'multicluster.linkerd.io/v1alpha3',
    kind: 'Link',
    metadata: { name: cluster, namespace: 'linkerd-multicluster' },
    spec: { targetClusterName: cluster, gatewayAddress: '127.0.0.12', probeSpec: { path: '/ready', port: '4191', period: '3s' } },
    ...(status ? { status } : {}),
  });

  it("reads the controller's gateway verdict off the global, so a cluster it holds down is not an out-of-date global", () => {
    const members = [statefulSet('west', 1, 1), statefulSet('east', 2, 2)];
    const links = { linked: new Set(['east']), gatewayDown: new Set(['east']) };
    const written = new FakeNamespace();
    converge(written, (world) => planGlobal({ ...world, links }, settings), key, members, 'db-global');
    const report = statusReport({ ...listed(members, written), links: [linkOf('east')], existingNamespaces: ['data'] }, settings);
    const global = report.globals[0]!;
    expect(global.state).toBe('published');
    expect(global.members.find((m) => m.cluster === 'east')!.published).toEqual(n(0, 2));
    expect(global.problems.map((p) => p.reason)).toEqual(['ClusterUnreachable']);
  });

  it('says that a mirror of a cluster without a Link is stale', () => {
    const members = [statefulSet('west', 1, 1), statefulSet('east', 2, 2)];
    const report = statusReport(
      { ...listed(members, reconciled(members)), links: [linkOf('north')], existingNamespaces: ['data'] },
      settings,
    );
    expect(report.globals[0]!.problems).toEqual([expect.objectContaining({ reason: 'LinkMissing' })]);
  });

  it("explains exports Linkerd did not mirror here, from the Link's status", () => {
    const status = {
      mirrorServices: [
        // Linkerd writes this for every headless export, also one it mirrors pod by pod (db here).
        ...['db', 'cache'].map((name) => ({
          remoteRef: { namespace: 'data', name },
          conditions: [{ type: 'Mirrored', status: 'False', reason: 'InvalidService', message: 'Headless mirror services are disabled' }],
        })),
        {
          remoteRef: { namespace: 'team-b', name: 'api' },
          conditions: [{ type: 'Mirrored', status: 'False', reason: 'MissingNamespace', message: 'Namespace does not exist' }],
        },
        {
          remoteRef: { namespace: 'team-c', name: 'queue' },
          conditions: [{ type: 'Mirrored', status: 'False', reason: 'InvalidService', message: 'Headless mirror services are disabled' }],
        },
      ],
    };
    const members = [statefulSet('west', 1, 1), statefulSet('east', 2, 2)];
    const report = statusReport(
      { ...listed(members, reconciled(members)), links: [linkOf('east', status)], existingNamespaces: ['data', 'team-b'] },
      settings,
    );
    expect(report.problems.map((p) => [p.reason, `${p.object.namespace}/${p.object.name}`])).toEqual([
      ['HeadlessAwaitingPods', 'data/cache-east'],
      ['MissingNamespace', 'team-b/api-east'],
      // A headless export into a missing namespace: Linkerd only logs it; the namespace list tells.
      ['MissingNamespace', 'team-c/queue-east'],
    ]);
    expect(report.problems[1]!.message).toMatch(/namespace team-b does not exist in this cluster/);
  });
});

describe('the status with members read directly (--remote-discovery)', () => {
  /** north's db as north serves it: a Service exported for remote discovery and its pods' slice. */
  const northDb = () => {
    const service = localService('db');
    service.metadata.labels = { 'mirror.linkerd.io/exported': 'remote-discovery' };
    return {
      service,
      slice: memberSlice(service, [endpoint('10.3.0.1', { hostname: 'db-0' }), endpoint('10.3.0.2', { hostname: 'db-1' })]),
    };
  };

  it('shows a direct member with its mode and endpoints, and the global published', () => {
    const north = northDb();
    const local = statefulSet('west', 1, 1);
    const direct = {
      member: { key, cluster: 'north', serviceName: 'db', origin: 'direct' as const },
      service: north.service,
      slices: [north.slice],
    };
    const written = reconciled([local, direct]);
    const report = statusReport(
      {
        ...listed([local], written),
        direct: [{ cluster: 'north', link: 'linkerd-multicluster/north', services: [north.service], slices: [north.slice] }],
      },
      settings,
    );
    const [db] = report.globals;
    expect(db).toMatchObject({ state: 'published', problems: [] });
    expect(db!.members).toEqual([
      { cluster: 'north', origin: 'direct', service: 'db', state: 'member', endpoints: n(2), published: n(2) },
      { cluster: 'west', origin: 'local', service: 'db', state: 'member', endpoints: n(1), published: n(1) },
    ]);
  });

  it('says which linked cluster could not be read, on its Link', () => {
    const report = statusReport(
      {
        ...listed([statefulSet('west', 1, 1)]),
        direct: [
          {
            cluster: 'north',
            link: 'linkerd-multicluster/north',
            services: [],
            slices: [],
            error: 'Secret linkerd-multicluster/cluster-credentials-north not found',
          },
        ],
      },
      settings,
    );
    expect(report.problems).toEqual([
      {
        reason: 'RemoteClusterUnreadable',
        message:
          'cluster north could not be read directly (remote discovery): Secret linkerd-multicluster/cluster-credentials-north not found',
        object: { kind: 'Link', namespace: 'linkerd-multicluster', name: 'north' },
      },
    ]);
  });
});
