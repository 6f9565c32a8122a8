import { KubeConfig } from '@kubernetes/client-node';
import { merge, map, type Subscription } from 'rxjs';
import { KubeApi, KubeApiError, SERVICES, type ResourceType } from '../../src/cluster/kube-api.js';
import { watchResource, type ResourceEvent } from '../../src/cluster/watch-stream.js';
import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import { ObjectStore, type Change } from '../../src/engine/object-store.js';
import { WorkQueue } from '../../src/engine/work-queue.js';

// A stand-in for Linkerd's service mirror (linkerd2 multicluster/service-mirror) for machines where
// a recent linkerd2 cannot be built. It takes the same arguments and reads the same Link and
// Secret, and writes into the source cluster what Linkerd writes (shared/reference/
// linkerd-mirror-objects.yaml): gateway-mode mirrors, headless mirrors with one endpoint-mirror
// Service per remote pod, remote-discovery mirrors, and their removal on unexport.

const ENDPOINTS: ResourceType = { kind: 'Endpoints', apiPath: '/api/v1', plural: 'endpoints' };
const NAMESPACES: ResourceType = { kind: 'Namespace', apiPath: '/api/v1', plural: 'namespaces' };
const SECRETS: ResourceType = { kind: 'Secret', apiPath: '/api/v1', plural: 'secrets' };
const LINKS: ResourceType = { kind: 'Link', apiPath: '/apis/multicluster.linkerd.io/v1alpha3', plural: 'links' };
const FIELD_MANAGER = 'linkerd-service-mirror';
const EXPORTED = 'mirror.linkerd.io/exported';

interface EndpointAddress {
  ip: string;
  hostname?: string;
  targetRef?: object;
}
interface EndpointsObject extends KubeObject {
  subsets?: {
    addresses?: EndpointAddress[];
    notReadyAddresses?: EndpointAddress[];
    ports?: { name?: string; protocol?: string; port: number }[];
  }[];
}
interface Link extends KubeObject {
  spec: {
    targetClusterName: string;
    targetClusterDomain?: string;
    clusterCredentialsSecret: string;
    gatewayAddress: string;
    gatewayPort: string;
    gatewayIdentity?: string;
    selector?: { matchLabels?: Record<string, string> };
    remoteDiscoverySelector?: { matchLabels?: Record<string, string> };
  };
}

export interface MirrorOptions {
  sourceKubeconfig: string;
  namespace: string;
  linkName: string;
  headless: boolean;
  log: (msg: string) => void;
}

function remoteLabels(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith('mirror.linkerd.io/')));
}

/** Linkerd copies the remote annotations too, except topology hints and kubectl's bookkeeping. */
function remoteAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const skip = [
    'service.kubernetes.io/topology-aware-hints',
    'service.kubernetes.io/topology-mode',
    'kubectl.kubernetes.io/last-applied-configuration',
  ];
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !skip.includes(k)));
}

export class LinkMirror {
  private readonly source: KubeApi;
  private target!: KubeApi;
  private link!: Link;
  private readonly services = new ObjectStore<Service>();
  private readonly endpoints = new ObjectStore<EndpointsObject>();
  private readonly queue: WorkQueue;
  private subscription: Subscription | undefined;

  constructor(private readonly options: MirrorOptions) {
    const kc = new KubeConfig();
    kc.loadFromFile(options.sourceKubeconfig);
    this.source = new KubeApi(kc, undefined, 'service-mirror');
    this.queue = new WorkQueue(
      (key) => this.reconcile(key),
      { workers: 4, batchPeriodMs: 10, retryInitialMs: 200, retryMaxMs: 5_000 },
      {
        retry: (key, attempt, _ms, err) => options.log(`retry ${key} (${attempt}): ${(err as Error).message}`),
      },
    );
  }

  private get cluster(): string {
    return this.link.spec.targetClusterName;
  }

  async start(): Promise<void> {
    this.link = await this.source.request<Link>(
      'get',
      LINKS,
      'GET',
      `${KubeApi.collectionPath(LINKS, this.options.namespace)}/${this.options.linkName}`,
    );
    const secret = await this.source.request<{ data: { kubeconfig: string } }>(
      'get',
      SECRETS,
      'GET',
      `${KubeApi.collectionPath(SECRETS, this.options.namespace)}/${this.link.spec.clusterCredentialsSecret}`,
    );
    const kc = new KubeConfig();
    kc.loadFromString(Buffer.from(secret.data.kubeconfig, 'base64').toString('utf8'));
    this.target = new KubeApi(kc, undefined, 'service-mirror');
    this.options.log(`mirroring cluster ${this.cluster} (link ${this.options.linkName})`);

    // Anything mirrored from this link earlier is looked at again: unexported meanwhile → removed.
    const existing = await this.source.list<Service>(SERVICES, undefined, {
      labelSelector: `mirror.linkerd.io/cluster-name=${this.cluster}`,
    });
    for (const s of existing.items) {
      const fq = s.metadata.annotations?.['mirror.linkerd.io/remote-svc-fq-name'];
      if (fq && !s.metadata.labels?.['mirror.linkerd.io/headless-mirror-svc-name'])
        this.queue.add(`${s.metadata.namespace}/${fq.split('.')[0]}`);
    }
    const log = (e: { type: string; resource: string; error?: unknown }) => {
      if (e.type === 'failed') this.options.log(`watch ${e.resource} failed: ${String((e.error as Error)?.message ?? e.error)}`);
    };
    this.subscription = merge(
      watchResource<Service>(this.target, SERVICES, undefined, { labelSelector: EXPORTED, onLifecycle: log }).pipe(
        map((event) => ({ kind: 'svc' as const, event })),
      ),
      watchResource<EndpointsObject>(this.target, ENDPOINTS, undefined, { labelSelector: EXPORTED, onLifecycle: log }).pipe(
        map((event) => ({ kind: 'ep' as const, event })),
      ),
    ).subscribe(({ kind, event }) => {
      const changes: Change<KubeObject>[] =
        kind === 'svc'
          ? this.services.apply(event as ResourceEvent<Service>)
          : this.endpoints.apply(event as ResourceEvent<EndpointsObject>);
      for (const { before, after } of changes) {
        const o = (after ?? before)!;
        this.queue.add(`${o.metadata.namespace}/${o.metadata.name}`);
      }
    });
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.queue.shutdown();
  }

  private async applyObject(type: ResourceType, obj: KubeObject): Promise<KubeObject> {
    return this.source.apply(type, obj, FIELD_MANAGER);
  }

  private async remove(type: ResourceType, namespace: string, name: string): Promise<void> {
    try {
      await this.source.delete(type, namespace, name, {});
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }

  private async endpointMirrors(namespace: string, mirrorName: string): Promise<Service[]> {
    return (
      await this.source.list<Service>(SERVICES, namespace, { labelSelector: `mirror.linkerd.io/headless-mirror-svc-name=${mirrorName}` })
    ).items;
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const mirrorName = `${name}-${this.cluster}`;
    const remote = this.services.get(namespace, name);
    const mode = remote?.metadata.labels?.[EXPORTED];
    if (!remote || (mode !== 'true' && mode !== 'remote-discovery')) {
      for (const m of await this.endpointMirrors(namespace, mirrorName)) {
        await this.remove(SERVICES, namespace, m.metadata.name!);
        await this.remove(ENDPOINTS, namespace, m.metadata.name!);
      }
      await this.remove(SERVICES, namespace, mirrorName);
      await this.remove(ENDPOINTS, namespace, mirrorName);
      this.options.log(`removed mirror ${namespace}/${mirrorName}`);
      return;
    }
    // Linkerd creates the namespace of a mirrored service when the source cluster lacks it.
    await this.source.apply(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, FIELD_MANAGER);

    const domain = this.link.spec.targetClusterDomain ?? 'cluster.local';
    const labels = {
      ...remoteLabels(remote.metadata.labels),
      'mirror.linkerd.io/mirrored-service': 'true',
      'mirror.linkerd.io/cluster-name': this.cluster,
    };
    const annotations = {
      ...remoteAnnotations(remote.metadata.annotations),
      'mirror.linkerd.io/remote-svc-fq-name': `${name}.${namespace}.svc.${domain}`,
      'mirror.linkerd.io/remote-resource-version': remote.metadata.resourceVersion ?? '',
    };
    const ports = (remote.spec?.ports ?? []).map((p) => ({
      name: p.name,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: p.targetPort ?? p.port,
    }));

    if (mode === 'remote-discovery') {
      await this.ensureService(
        {
          metadata: {
            name: mirrorName,
            namespace,
            labels: { ...labels, 'multicluster.linkerd.io/remote-discovery': this.cluster, 'multicluster.linkerd.io/remote-service': name },
            annotations,
          },
          spec: { ports },
        },
        false,
      );
      await this.remove(ENDPOINTS, namespace, mirrorName);
      return;
    }

    const remoteEndpoints = this.endpoints.get(namespace, name);
    const headlessEndpoints =
      remoteEndpoints?.metadata.labels?.['service.kubernetes.io/headless'] !== undefined &&
      (remoteEndpoints.subsets ?? []).every((s) => (s.addresses ?? []).every((a) => a.hostname));
    const headless = this.options.headless && remote.spec?.clusterIP === 'None' && headlessEndpoints;
    this.options.log(`mirroring ${key} as ${namespace}/${mirrorName} (${headless ? 'headless' : 'gateway'})`);
    await this.ensureService(
      { metadata: { name: mirrorName, namespace, labels, annotations }, spec: { ports, ...(headless ? { clusterIP: 'None' } : {}) } },
      headless,
    );
    const endpointAnnotations = {
      'mirror.linkerd.io/remote-svc-fq-name': `${name}.${namespace}.svc.${domain}`,
      'mirror.linkerd.io/remote-gateway-identity': this.link.spec.gatewayIdentity ?? '',
    };
    const gatewayPort = Number(this.link.spec.gatewayPort);
    const gatewaySubset = (servicePorts: { name?: string; protocol?: string }[]) => ({
      addresses: [{ ip: this.link.spec.gatewayAddress }],
      ports: servicePorts.map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: gatewayPort })),
    });

    if (!headless) {
      const ready = (remoteEndpoints?.subsets ?? []).some((s) => (s.addresses ?? []).length > 0);
      await this.applyObject(ENDPOINTS, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: mirrorName, namespace, labels, annotations: endpointAnnotations },
        subsets: ready ? [gatewaySubset(ports)] : [],
      } as KubeObject);
      for (const m of await this.endpointMirrors(namespace, mirrorName)) {
        await this.remove(SERVICES, namespace, m.metadata.name!);
        await this.remove(ENDPOINTS, namespace, m.metadata.name!);
      }
      return;
    }

    // Headless: one ClusterIP "endpoint mirror" Service per remote pod, and the headless mirror's
    // Endpoints name each pod by hostname with that Service's ClusterIP.
    const subset = remoteEndpoints!.subsets?.[0];
    const podPorts = subset?.ports ?? [];
    const hosts = (remoteEndpoints!.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.hostname!);
    const addresses: { hostname: string; ip: string }[] = [];
    for (const hostname of hosts) {
      const endpointMirror = `${hostname}-${this.cluster}`;
      const epLabels = {
        'mirror.linkerd.io/mirrored-service': 'true',
        'mirror.linkerd.io/cluster-name': this.cluster,
        'mirror.linkerd.io/headless-mirror-svc-name': mirrorName,
      };
      const svc = (await this.applyObject(SERVICES, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: endpointMirror,
          namespace,
          labels: epLabels,
          annotations: {
            'mirror.linkerd.io/remote-svc-fq-name': `${hostname}.${name}.${namespace}.svc.${domain}`,
            'mirror.linkerd.io/remote-resource-version': remoteEndpoints!.metadata.resourceVersion ?? '',
          },
        },
        spec: { ports: podPorts.map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port, targetPort: p.port })) },
      } as KubeObject)) as Service;
      await this.applyObject(ENDPOINTS, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: endpointMirror, namespace, labels: epLabels, annotations: endpointAnnotations },
        subsets: [gatewaySubset(podPorts)],
      } as KubeObject);
      addresses.push({ hostname, ip: svc.spec!.clusterIP! });
    }
    for (const m of await this.endpointMirrors(namespace, mirrorName)) {
      if (hosts.includes(m.metadata.name!.slice(0, -(this.cluster.length + 1)))) continue;
      await this.remove(SERVICES, namespace, m.metadata.name!);
      await this.remove(ENDPOINTS, namespace, m.metadata.name!);
    }
    await this.applyObject(ENDPOINTS, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: mirrorName, namespace, labels, annotations: endpointAnnotations },
      subsets:
        addresses.length > 0
          ? [{ addresses, ports: podPorts.map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port })) }]
          : [],
    } as KubeObject);
  }

  /** Applies the mirror Service; one that must switch between headless and not is recreated (clusterIP is immutable). */
  private async ensureService(partial: { metadata: KubeObject['metadata']; spec: Service['spec'] }, headless: boolean): Promise<void> {
    const { namespace, name } = partial.metadata as { namespace: string; name: string };
    let current: Service | undefined;
    try {
      current = await this.source.request<Service>('get', SERVICES, 'GET', `${KubeApi.collectionPath(SERVICES, namespace)}/${name}`);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    if (current && (current.spec?.clusterIP === 'None') !== headless) await this.remove(SERVICES, namespace, name);
    await this.applyObject(SERVICES, { apiVersion: 'v1', kind: 'Service', ...partial } as KubeObject);
  }
}
