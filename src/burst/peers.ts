// The peers' API servers, reached with the kubeconfig a Secret here holds: Linkerd's Link secret
// (`linkerd multicluster link` writes `cluster-credentials-<peer>` in linkerd-multicluster, key
// `kubeconfig`), or one of ours in the same format. globalsvc reads exactly these Secrets, by name
// (a Role in their namespace with resourceNames): never a list, never another Secret.
import { kubeconfigOf, type CredentialsSecret } from '../cluster/credentials.js';
import { KubeApi, SECRETS, type RequestObserver } from '../cluster/kube-api.js';

/** The port: a KubeApi per peer cluster. */
export interface PeerClusters {
  api(peer: string): Promise<KubeApi>;
}

/** `<namespace>/<name>` with `{peer}` in the name, e.g. linkerd-multicluster/cluster-credentials-{peer}. */
export function secretOf(template: string, peer: string): { namespace: string; name: string } {
  const [namespace, name] = template.split('/') as [string, string];
  return { namespace, name: name.replaceAll('{peer}', peer) };
}

export class PeerCredentialsError extends Error {
  override name = 'PeerCredentialsError';
}

// Re-read now and then, so rotated credentials (a re-run `linkerd multicluster link`) are picked up.
const TTL_MS = 60_000;

export class SecretPeers implements PeerClusters {
  private readonly cache = new Map<string, { api: KubeApi; resourceVersion: string; until: number }>();

  constructor(
    private readonly local: Pick<KubeApi, 'get'>,
    private readonly template: string,
    /** How requests to each peer are counted. */
    private readonly observe?: (peer: string) => RequestObserver,
    private readonly userAgent = 'globalsvc',
    private readonly now: () => number = Date.now,
  ) {}

  async api(peer: string): Promise<KubeApi> {
    const cached = this.cache.get(peer);
    if (cached && cached.until > this.now()) return cached.api;
    const { namespace, name } = secretOf(this.template, peer);
    const secret = await this.local.get<CredentialsSecret>(SECRETS, namespace, name);
    const resourceVersion = secret?.metadata.resourceVersion ?? '';
    if (secret && cached && cached.resourceVersion === resourceVersion) {
      cached.until = this.now() + TTL_MS;
      return cached.api;
    }
    // What is wrong is said by the Secret's name and the YAML line at fault, never by its content.
    const kc = kubeconfigOf(secret, `${namespace}/${name}`);
    if (typeof kc === 'string') throw new PeerCredentialsError(`no credentials for peer ${peer}: ${kc}`);
    const api = new KubeApi(kc, this.observe?.(peer), this.userAgent);
    this.cache.set(peer, { api, resourceVersion, until: this.now() + TTL_MS });
    return api;
  }
}
