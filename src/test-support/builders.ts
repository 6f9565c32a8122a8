// Builders for the objects the domain reads, shaped as Linkerd's service mirror and
// kube-controller-manager write them (see shared/reference/linkerd-mirror-objects.yaml).
import type { Endpoint, EndpointSlice, Service, ServicePort } from '../domain/k8s-types.js';
import type { MemberView } from '../domain/desired.js';
import { classifyLocal, classifyMirror } from '../domain/members.js';

export function mirrorService(opts: {
  name: string;
  cluster: string;
  namespace?: string;
  remoteName?: string;
  headless?: boolean;
  ports?: ServicePort[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}): Service {
  const namespace = opts.namespace ?? 'data';
  const remote = opts.remoteName ?? opts.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: `${remote}-${opts.cluster}`,
      namespace,
      uid: `uid-${namespace}-${remote}-${opts.cluster}`,
      labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': opts.cluster, ...opts.labels },
      annotations: {
        'mirror.linkerd.io/remote-svc-fq-name': `${remote}.${namespace}.svc.cluster.local`,
        'mirror.linkerd.io/remote-resource-version': '1',
        ...opts.annotations,
      },
    },
    spec: {
      clusterIP: opts.headless === false ? '10.96.0.10' : 'None',
      ports: opts.ports ?? [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    },
  };
}

export function localService(name: string, namespace = 'data', ports?: ServicePort[]): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: `uid-${namespace}-${name}` },
    spec: { clusterIP: 'None', selector: { app: name }, ports: ports ?? [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
  };
}

export function endpoint(ip: string, opts: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], conditions: { ready: true }, ...opts };
}

export function memberSlice(service: Service, endpoints: Endpoint[], opts: { name?: string; addressType?: string } = {}): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${service.metadata.name}-abcde`,
      namespace: service.metadata.namespace,
      labels: {
        'kubernetes.io/service-name': service.metadata.name!,
        'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
      },
    },
    addressType: opts.addressType ?? 'IPv4',
    ports: (service.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port })),
    endpoints,
  };
}

/** A member view from a Service and its slices, classified the way the engine classifies it. */
export function view(service: Service, slices: EndpointSlice[], localCluster = 'west'): MemberView {
  const c = service.metadata.labels?.['mirror.linkerd.io/mirrored-service']
    ? classifyMirror(service)
    : classifyLocal(service, localCluster);
  if (c.kind !== 'member') throw new Error(`not a member: ${JSON.stringify(c)}`);
  return { member: c.member, service, slices };
}

/**
 * Global data/db's member in `cluster`: west's local headless service, a mirror elsewhere, with
 * `replicas` ready pods db-0, db-1, ... at 10.<base>.0.<i+1>.
 */
export function statefulSet(cluster: string, replicas: number, base = 0): MemberView {
  const svc = cluster === 'west' ? localService('db') : mirrorService({ name: 'db', cluster });
  const eps = Array.from({ length: replicas }, (_, i) => endpoint(`10.${base}.0.${i + 1}`, { hostname: `db-${i}` }));
  return view(svc, [memberSlice(svc, eps)]);
}
