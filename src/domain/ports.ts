import type { EndpointPort, ServicePort } from './k8s-types.js';
import { canonicalServicePorts } from './endpoints.js';
import type { MemberView, Problem } from './desired.js';
import { compareStrings } from '../shared.js';

/**
 * Members in the same order in every cluster: by cluster name (never "local first"), so that
 * every cluster settles a conflict the same way and a client sees one Service wherever it runs.
 */
export function ordered(members: readonly MemberView[]): MemberView[] {
  return [...members].sort(
    (a, b) => compareStrings(a.member.cluster, b.member.cluster) || compareStrings(a.member.serviceName, b.member.serviceName),
  );
}

/**
 * The ports of the global Service: the union of the members' ports by name and protocol. When
 * members disagree on a port number the member of the first cluster by name wins, so every
 * cluster computes the same Service.
 */
export function unionPorts(members: readonly MemberView[], problems: Problem[]): ServicePort[] {
  const byName = new Map<string, { port: ServicePort; from: string }>();
  for (const view of ordered(members)) {
    for (const port of canonicalServicePorts(view.service.spec?.ports)) {
      const id = `${port.name}/${port.protocol}`;
      const seen = byName.get(id);
      if (!seen) byName.set(id, { port, from: view.member.cluster });
      else if (seen.port.port !== port.port) {
        problems.push({
          type: 'Warning',
          reason: 'PortConflict',
          message: `port "${port.name}"/${port.protocol} is ${seen.port.port} in cluster ${seen.from} but ${port.port} in cluster ${view.member.cluster}; the global uses ${seen.port.port}`,
          subject: { kind: 'global' },
        });
      }
    }
  }
  // The API server refuses two ports with one number and protocol, and unnamed ports beside others.
  const ports: ServicePort[] = [];
  const numbers = new Set<string>();
  const candidates = [...byName.values()].map((v) => v.port);
  for (const port of candidates) {
    if (candidates.length > 1 && !port.name) {
      problems.push({
        type: 'Warning',
        reason: 'PortConflict',
        message: `an unnamed port ${port.port}/${port.protocol} cannot stand beside named ports in one Service; it is left out of the global's ports (its endpoints are published under a global port of the same number, if there is one)`,
        subject: { kind: 'global' },
      });
      continue;
    }
    const number = `${port.port}/${port.protocol}`;
    if (numbers.has(number)) {
      problems.push({
        type: 'Warning',
        reason: 'PortConflict',
        message: `ports named differently share ${number}; only "${ports.find((p) => `${p.port}/${p.protocol}` === number)?.name}" is kept in the global's ports, and every member's endpoints are published under that name`,
        subject: { kind: 'global' },
      });
      continue;
    }
    numbers.add(number);
    ports.push(port);
  }
  return ports.sort((a, b) => compareStrings(a.name ?? '', b.name ?? ''));
}

export interface MappedPorts {
  /** The slice's ports under the global's names, each global port at most once. */
  ports: EndpointPort[];
  /** The slice's ports that match no port of the global. */
  unmapped: EndpointPort[];
}

/**
 * A member slice's ports as the global publishes them. CoreDNS answers `_<port>._<proto>.<global>`
 * from the slice ports of that name, so a slice must carry the global's names, not the member's:
 * otherwise a cluster that calls 5432 "pg" is missing from `_postgres._tcp` and the global answers
 * SRV for a name it has no port for. A slice port is the global port of the same name and
 * protocol; failing that, the global port whose number and protocol are those of the member
 * Service's port of that name (an unnamed or differently named port of the same service port).
 * The slice's own port number (the pod's, or the gateway's) is kept: that is where the endpoint listens.
 */
export function mapSlicePorts(
  slicePorts: readonly EndpointPort[] | null | undefined,
  memberPorts: readonly ServicePort[] | undefined,
  globalPorts: readonly ServicePort[],
): MappedPorts {
  const ports: EndpointPort[] = [];
  const unmapped: EndpointPort[] = [];
  const taken = new Set<string>();
  for (const p of slicePorts ?? []) {
    const name = p.name ?? '';
    const protocol = p.protocol ?? 'TCP';
    const member = memberPorts?.find((m) => (m.name ?? '') === name && (m.protocol ?? 'TCP') === protocol);
    const global =
      globalPorts.find((g) => (g.name ?? '') === name && (g.protocol ?? 'TCP') === protocol) ??
      (member ? globalPorts.find((g) => g.port === member.port && (g.protocol ?? 'TCP') === protocol) : undefined);
    const id = global ? `${global.name ?? ''}/${protocol}` : '';
    if (!global || taken.has(id)) {
      unmapped.push(p);
      continue;
    }
    taken.add(id);
    const out: EndpointPort = { name: global.name ?? '', protocol };
    if (p.port !== undefined) out.port = p.port;
    if (p.appProtocol) out.appProtocol = p.appProtocol;
    ports.push(out);
  }
  return { ports, unmapped };
}
