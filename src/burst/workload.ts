// The target as it is here: its Deployments and the companions that travel with it (the Services
// that select its pods, the ConfigMaps its pods reference). Read on every reconcile, level-triggered.
import { CONFIG_MAPS, DEPLOYMENTS, SERVICES, type KubeApi } from '../cluster/kube-api.js';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { ours } from '../domain/labels.js';
import type { BurstPolicy, LabelSelector } from './policy.js';
import { references, selects, type Deployment } from './replica.js';

export interface Workload {
  readonly deployments: readonly Deployment[];
  readonly services: readonly Service[];
  readonly configMaps: readonly KubeObject[];
}

/** A label selector in the API's query syntax (`a=b,c in (d,e),!f`). */
export function selectorString(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') terms.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else terms.push(`!${e.key}`);
  }
  return terms.join(',');
}

export type WorkloadApi = Pick<KubeApi, 'get' | 'listAll'>;

export async function readWorkload(api: WorkloadApi, policy: BurstPolicy): Promise<Workload> {
  const ns = policy.namespace;
  const deployments = policy.target.name
    ? [await api.get<Deployment>(DEPLOYMENTS, ns, policy.target.name)].filter((d): d is Deployment => d !== undefined)
    : (await api.listAll<Deployment>(DEPLOYMENTS, ns, { labelSelector: selectorString(policy.target.selector!) })).items;
  const podLabels = deployments.map((d) => d.spec.template.metadata?.labels ?? {});
  const services = policy.replicate.services
    ? (await api.listAll<Service>(SERVICES, ns)).items.filter(
        (s) => s.metadata.labels?.[ours.appManagedByLabel] !== ours.appManagedBy && podLabels.some((l) => selects(s, l)),
      )
    : [];
  const configMaps: KubeObject[] = [];
  if (policy.replicate.configMaps) {
    const names = new Set(deployments.flatMap((d) => references(d).configMaps));
    for (const name of [...names].sort()) {
      // A reference to a ConfigMap that does not exist is the pod's problem here as there.
      const cm = await api.get<KubeObject>(CONFIG_MAPS, ns, name);
      if (cm) configMaps.push(cm);
    }
  }
  return { deployments, services, configMaps };
}
