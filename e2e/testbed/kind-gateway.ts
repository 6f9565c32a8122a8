import type { KubeObject } from '../../src/domain/k8s-types.js';
import { PROBE_PATH, PROBE_PORT, type Gateway } from './gateway.js';
import { KIND_WORKLOAD_IMAGE, type KindCluster } from './kind-cluster.js';
import { PODS } from './kube.js';
import { LINK_NAMESPACE } from './links.js';
import { waitFor } from './processes.js';

const POD_NAME = 'linkerd-gateway';

interface Pod extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * A kind-style cluster's gateway: a pod on the node's own network (as Linkerd's gateway answers its
 * probe on the proxy's admin port), so that it is reached at the node's address on the bed's Docker
 * network — by the mirrors on the host and by globalsvc in the other clusters' pods alike, which
 * could not reach a loopback address of the host. Busybox's httpd answers `/ready`; deleting the
 * pod is the gateway dying.
 */
export class PodGateway implements Gateway {
  private running = false;

  constructor(private readonly node: KindCluster) {}

  get cluster(): string {
    return this.node.name;
  }

  get address(): string {
    return this.node.nodeAddress;
  }

  get up(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    const admin = this.node.admin;
    await admin.ensureNamespace(LINK_NAMESPACE);
    const probe = { httpGet: { path: PROBE_PATH, port: PROBE_PORT }, periodSeconds: 1 };
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD_NAME, namespace: LINK_NAMESPACE, labels: { app: POD_NAME } },
      spec: {
        hostNetwork: true,
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'probe',
            image: KIND_WORKLOAD_IMAGE,
            command: ['sh', '-c', `mkdir -p /tmp/www && echo ready > /tmp/www${PROBE_PATH} && exec httpd -f -p ${PROBE_PORT} -h /tmp/www`],
            readinessProbe: probe,
          },
        ],
      },
    } as KubeObject);
    await waitFor(`${this.cluster}'s gateway pod ready`, async () => {
      const pod = await admin.get<Pod>(PODS, LINK_NAMESPACE, POD_NAME);
      return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.node.admin.delete(PODS, LINK_NAMESPACE, POD_NAME);
    await waitFor(
      `${this.cluster}'s gateway pod gone`,
      async () => (await this.node.admin.get(PODS, LINK_NAMESPACE, POD_NAME)) === undefined,
    );
  }
}
