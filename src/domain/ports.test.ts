import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, ServicePort } from './k8s-types.js';
import type { Settings } from './desired.js';
import { computeDesired } from './desired.js';
import { mapSlicePorts } from './ports.js';
import { endpoint, localService, memberSlice, mirrorService, view } from '../test-support/builders.js';

const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
const key = { namespace: 'data', name: 'db' };

/** What CoreDNS answers for `_<port>._<proto>.<global>`: the endpoints of every slice with a port of that name. */
function srv(
  slices: readonly { ports: readonly { name?: string; protocol?: string }[]; endpoints: Map<string, { addresses: string[] }> }[],
  port: string,
) {
  return slices
    .filter((s) => s.ports.some((p) => p.name === port && (p.protocol ?? 'TCP') === 'TCP'))
    .flatMap((s) => [...s.endpoints.values()].map((e) => e.addresses[0]!));
}

function member(
  cluster: string,
  ports: ServicePort[],
  ips: string[],
  opts: { addressType?: string; slicePorts?: EndpointSlice['ports'] } = {},
) {
  const svc = cluster === 'west' ? localService('db', 'data', ports) : mirrorService({ name: 'db', cluster, ports });
  const slice = memberSlice(
    svc,
    ips.map((ip, i) => endpoint(ip, { hostname: `db-${i}` })),
    opts.addressType ? { addressType: opts.addressType } : {},
  );
  if (opts.slicePorts !== undefined) slice.ports = opts.slicePorts;
  return view(svc, [slice]);
}

describe("a global's slices carry the global's port names", () => {
  it('lists every cluster under the one SRV name when clusters name the same port differently', () => {
    const desired = computeDesired(
      key,
      [member('west', [{ name: 'postgres', port: 5432 }], ['10.0.0.1']), member('east', [{ name: 'pg', port: 5432 }], ['10.1.0.1'])],
      settings,
    )!;
    // east sorts first: its name is the global's, in every cluster.
    expect(desired.service.spec!.ports!.map((p) => p.name)).toEqual(['pg']);
    expect(srv(desired.groups, 'pg').sort()).toEqual(['10.0.0.1', '10.1.0.1']);
    expect(srv(desired.groups, 'postgres')).toEqual([]);
    expect(desired.groups.map((g) => g.ports)).toEqual([
      [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    ]);
  });

  it("publishes an unnamed port under the global's port of the same number", () => {
    const desired = computeDesired(
      key,
      [member('west', [{ port: 5432 }], ['10.0.0.1']), member('east', [{ name: 'pg', port: 5432 }], ['10.1.0.1'])],
      settings,
    )!;
    expect(srv(desired.groups, 'pg').sort()).toEqual(['10.0.0.1', '10.1.0.1']);
    expect(desired.groups.flatMap((g) => g.ports.map((p) => p.name))).toEqual(['pg', 'pg']);
  });

  it("keeps the member's endpoint port: a gateway member listens on the gateway's port under the global's name", () => {
    const mapped = mapSlicePorts(
      [{ name: 'postgres', protocol: 'TCP', port: 4143 }],
      [{ name: 'postgres', port: 5432 }],
      [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    );
    expect(mapped).toEqual({ ports: [{ name: 'pg', protocol: 'TCP', port: 4143 }], unmapped: [] });
  });

  it('every SRV name of the global lists every published endpoint, however clusters name their one port (property)', () => {
    const naming = fc.constantFrom<ServicePort>({ name: 'pg', port: 5432 }, { name: 'postgres', port: 5432 }, { port: 5432 });
    fc.assert(
      fc.property(fc.tuple(naming, naming, naming), ([w, e, n]) => {
        const members = [
          member('west', [w], ['10.0.0.1', '10.0.0.2']),
          member('east', [e], ['10.1.0.1']),
          member('north', [n], ['10.2.0.1']),
        ];
        const desired = computeDesired(key, members, settings)!;
        const all = desired.groups.flatMap((g) => [...g.endpoints.values()].map((e) => e.addresses[0]!)).sort();
        expect(all).toEqual(['10.0.0.1', '10.0.0.2', '10.1.0.1', '10.2.0.1']);
        for (const port of desired.service.spec!.ports!) expect(srv(desired.groups, port.name ?? '').sort()).toEqual(all);
        const names = new Set(desired.service.spec!.ports!.map((p) => p.name));
        for (const g of desired.groups) for (const p of g.ports) expect(names).toContain(p.name);
        expect(desired.problems.filter((p) => p.leftOut)).toEqual([]);
      }),
    );
  });
});

describe('what a global may contain', () => {
  it('leaves out FQDN slices and tells it on the member', () => {
    const east = member('east', [{ name: 'pg', port: 5432 }], ['db.example.com'], { addressType: 'FQDN' });
    const desired = computeDesired(key, [member('west', [{ name: 'pg', port: 5432 }], ['10.0.0.1']), east], settings)!;
    expect(desired.groups.map((g) => g.addressType)).toEqual(['IPv4']);
    expect(desired.problems).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'UnsupportedAddressType',
        subject: { kind: 'Service', namespace: 'data', name: 'db-east', uid: 'uid-data-db-east' },
        leftOut: { reason: 'UnsupportedAddressType', endpoints: 1 },
        message: expect.stringMatching(/1 endpoint\(s\) of member data\/db-east \(cluster east\).*addressType FQDN.*CNAME/),
      }),
    ]);
  });

  it("leaves out a slice none of whose ports is the global's, and drops a port that maps to nothing", () => {
    const west = member('west', [{ name: 'pg', port: 5432 }], ['10.0.0.1'], {
      slicePorts: [
        { name: 'pg', protocol: 'TCP', port: 5432 },
        { name: 'stale', protocol: 'TCP', port: 7000 },
      ],
    });
    const east = member('east', [{ name: 'pg', port: 5432 }], ['10.1.0.1'], { slicePorts: [] });
    const desired = computeDesired(key, [west, east], settings)!;
    expect(desired.groups.map((g) => [g.cluster, g.ports])).toEqual([['west', [{ name: 'pg', protocol: 'TCP', port: 5432 }]]]);
    expect(desired.problems.map((p) => [p.reason, p.subject.kind === 'Service' && p.subject.name, p.leftOut?.endpoints])).toEqual([
      ['NoGlobalPort', 'db-east', 1],
      ['UnmappedPort', 'db', 1],
    ]);
  });

  it('publishes slices without ports when the global has no ports either', () => {
    const west = member('west', [], ['10.0.0.1']);
    const east = member('east', [], ['10.1.0.1']);
    const desired = computeDesired(key, [west, east], settings)!;
    expect(desired.groups.flatMap((g) => [...g.endpoints.values()].map((e) => e.addresses[0]!)).sort()).toEqual(['10.0.0.1', '10.1.0.1']);
    expect(desired.problems).toEqual([]);
  });
});
