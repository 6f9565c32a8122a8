import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { parse, stringify } from 'yaml';
import type { Cluster, ClusterSpec } from './cluster.js';
import { Admin } from './kube.js';
import { waitFor } from './processes.js';

/** k3s of the same minor as the local provider's Kubernetes; E2E_K3S_IMAGE overrides it. */
export const K3S_IMAGE = 'rancher/k3s:v1.34.8-k3s1';

interface KubeconfigFile {
  clusters: { cluster: Record<string, string> }[];
}

/**
 * A k3s cluster in a container (testcontainers), for the `docker` provider: a real node, so pods
 * really run. Its pod range is the spec's, so that pod IPs differ between clusters as in the local
 * provider. Testcontainers' reaper removes the container should this process die.
 */
export class DockerCluster implements Cluster {
  readonly admin: Admin;

  private constructor(
    readonly spec: ClusterSpec,
    readonly kubeconfig: string,
    readonly server: string,
    private readonly container: StartedK3sContainer,
  ) {
    this.admin = new Admin(kubeconfig);
  }

  get name(): string {
    return this.spec.name;
  }

  static async create(spec: ClusterSpec, dir: string, image = process.env.E2E_K3S_IMAGE ?? K3S_IMAGE): Promise<DockerCluster> {
    const container = await new K3sContainer(image)
      .withCommand(['server', '--disable=traefik', `--cluster-cidr=${spec.podCidr}`])
      .withLabels({ 'globalsvc.dev/e2e-cluster': spec.name })
      .start();
    // The harness expects the certificate authority as a file, as kwokctl writes it.
    const config = parse(container.getKubeConfig()) as KubeconfigFile;
    const cluster = config.clusters[0]!.cluster;
    const clusterDir = join(dir, 'clusters', spec.name);
    mkdirSync(clusterDir, { recursive: true });
    const ca = join(clusterDir, 'ca.crt');
    writeFileSync(ca, Buffer.from(cluster['certificate-authority-data']!, 'base64'));
    delete cluster['certificate-authority-data'];
    cluster['certificate-authority'] = ca;
    const kubeconfig = join(clusterDir, 'kubeconfig.yaml');
    writeFileSync(kubeconfig, stringify(config));
    const started = new DockerCluster(spec, kubeconfig, cluster.server!, container);
    await waitFor(`k3s ${spec.name} to have a ready node`, async () => {
      const nodes = await started.admin.list<{ metadata: object; status?: { conditions?: { type: string; status: string }[] } }>({
        kind: 'Node',
        apiPath: '/api/v1',
        plural: 'nodes',
      });
      return nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    });
    return started;
  }

  async delete(): Promise<void> {
    await this.container.stop();
  }

  keepLogs(dir: string): void {
    // The container's log is streamed by Docker; k3s keeps its components' logs inside it.
    void dir;
  }
}
