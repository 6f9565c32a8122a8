import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../domain/k8s-types.js';

// Another cluster's kubeconfig, as a Secret here holds it: Linkerd's Link secret
// (`cluster-credentials-<link>`, key `kubeconfig`) or one of ours in that format. Read by remote
// discovery, `globalsvc status` and bursting's peers alike.

export type CredentialsSecret = KubeObject & { data?: Record<string, string> };

/** A Secret's `kubeconfig` as a KubeConfig, or why not, never quoting it. */
export function kubeconfigOf(secret: CredentialsSecret | undefined, ref: string): KubeConfig | string {
  if (!secret) return `Secret ${ref} not found`;
  const encoded = secret.data?.kubeconfig;
  if (!encoded) return `Secret ${ref} has no key "kubeconfig"`;
  const kc = new KubeConfig();
  try {
    kc.loadFromString(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch (err) {
    const line = (err as { mark?: { line?: number } }).mark?.line;
    return `Secret ${ref} holds no kubeconfig under "kubeconfig"${line !== undefined ? ` (not YAML at line ${line + 1})` : ''}`;
  }
  if (!kc.getCurrentCluster()) return `Secret ${ref}: its kubeconfig names no current cluster`;
  return kc;
}
