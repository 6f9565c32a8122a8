// The target as it is here: its Deployments and the companions that travel with it (the Services
// that select its pods, the ConfigMaps its pods reference), picked from the namespace's cached
// objects. Pure: the caches are bursting's inputs (inputs.ts).
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { ours } from '../domain/labels.js';
import type { BurstPolicy, LabelSelector } from './policy.js';
import { references, selects, type Deployment } from './replica.js';
import { compareStrings } from '../shared.js';

export interface Workload {
  readonly deployments: readonly Deployment[];
  readonly services: readonly Service[];
  readonly configMaps: readonly KubeObject[];
}

/** A namespace's objects as the caches hold them. */
export interface NamespaceObjects {
  readonly deployments: readonly Deployment[];
  readonly services: readonly Service[];
  readonly configMaps: readonly KubeObject[];
}

/** Whether labels match a selector (the API's semantics: every term holds). */
export function matches(selector: LabelSelector, labels: Readonly<Record<string, string>> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const byName = <T extends KubeObject>(a: T, b: T) => compareStrings(a.metadata.name ?? '', b.metadata.name ?? '');

export function workloadOf(policy: BurstPolicy, here: NamespaceObjects): Workload {
  const deployments = here.deployments
    .filter((d) => (policy.target.name ? d.metadata.name === policy.target.name : matches(policy.target.selector!, d.metadata.labels)))
    .sort(byName);
  const podLabels = deployments.map((d) => d.spec.template.metadata?.labels ?? {});
  const services = policy.replicate.services
    ? here.services
        .filter((s) => s.metadata.labels?.[ours.appManagedByLabel] !== ours.appManagedBy && podLabels.some((l) => selects(s, l)))
        .sort(byName)
    : [];
  const referenced = new Set(deployments.flatMap((d) => references(d).configMaps));
  // A reference to a ConfigMap that does not exist is the pod's problem here as there.
  const configMaps = policy.replicate.configMaps ? here.configMaps.filter((c) => referenced.has(c.metadata.name ?? '')).sort(byName) : [];
  return { deployments, services, configMaps };
}
