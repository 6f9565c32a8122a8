// fast-check arbitraries of member worlds: one global key's members (the local service of west,
// mirrors of the others), each with IPv4 and IPv6 slices, shared by the planner's and the status
// report's properties.
import fc from 'fast-check';
import type { MemberView } from '../domain/desired.js';
import type { Endpoint } from '../domain/k8s-types.js';
import { endpoint, localService, memberSlice, mirrorService, view } from './builders.js';

export const clusters = ['west', 'east', 'north', 'b-c', 'c'];
const arbEndpoint = (cluster: number) =>
  fc
    .record({
      ip: fc.integer({ min: 1, max: 400 }),
      v6: fc.boolean(),
      hostname: fc.option(fc.constantFrom('db-0', 'db-1', 'a-b', 'a', 'x'.repeat(60)), { nil: undefined }),
      ready: fc.option(fc.boolean(), { nil: undefined }),
    })
    .map(({ ip, v6, hostname, ready }): [string, Endpoint] => [
      v6 ? 'IPv6' : 'IPv4',
      endpoint(v6 ? `fd00::${cluster}:${ip.toString(16)}` : `10.${cluster}.${ip >> 8}.${ip & 255}`, {
        hostname,
        conditions: ready === undefined ? {} : { ready },
      }),
    ]);

/** Members of global data/db in up to five clusters, with up to 260 endpoints each (hostnames that collide or do not fit). */
export const arbMembers = fc
  .uniqueArray(fc.integer({ min: 0, max: clusters.length - 1 }), { minLength: 1, maxLength: clusters.length })
  .chain((idx) =>
    fc.tuple(
      ...idx.map((i) => fc.tuple(fc.constant(i), fc.uniqueArray(arbEndpoint(i), { maxLength: 260, selector: ([, e]) => e.addresses[0] }))),
    ),
  )
  .map((members) =>
    members.map(([i, eps]) => {
      const cluster = clusters[i]!;
      // As Linkerd mirrors: headless when a pod has a hostname, and then only such pods are listed;
      // otherwise a ClusterIP mirror (through the gateway).
      const mirror = cluster !== 'west';
      const headless = !mirror || eps.some(([, e]) => e.hostname);
      const listed = mirror && headless ? eps.filter(([, e]) => e.hostname) : eps;
      const svc = mirror ? mirrorService({ name: 'db', cluster, headless }) : localService('db');
      const slices = ['IPv4', 'IPv6'].map((type) =>
        memberSlice(
          svc,
          listed.filter(([t]) => t === type).map(([, e]) => e),
          { name: `${svc.metadata.name}-${type}`, addressType: type },
        ),
      );
      return view(svc, slices);
    }),
  );

/**
 * The same worlds with some other clusters' members read directly instead (--remote-discovery):
 * that cluster's own Service and slices, as its API serves them.
 */
export const arbMembersWithDirect = arbMembers.chain((members) =>
  fc.tuple(...members.map((m) => (m.member.origin === 'mirror' ? fc.boolean() : fc.constant(false)))).map((direct) =>
    members.map((m, i): MemberView => {
      if (!direct[i]) return m;
      const service = localService('db');
      service.metadata.labels = { 'mirror.linkerd.io/exported': 'remote-discovery' };
      return { member: { ...m.member, serviceName: 'db', origin: 'direct' }, service, slices: m.slices };
    }),
  ),
);
