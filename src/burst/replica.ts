// What a replica is: the target's objects as a peer should receive them. Pure: which objects travel
// with the target, what of them is this cluster's business and stays behind, and the labels that
// make a replica recognisably ours (and the only thing Withdraw ever deletes).
import { createHash } from 'node:crypto';
import type { KubeObject, Service } from '../domain/k8s-types.js';
import { burst, ours } from '../domain/labels.js';

/** A Deployment as bursting reads it. */
export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec };
    [field: string]: unknown;
  };
  status?: { observedGeneration?: number; replicas?: number; readyReplicas?: number; [field: string]: unknown };
}

interface PodSpec {
  nodeName?: string;
  volumes?: {
    configMap?: { name?: string };
    secret?: { secretName?: string };
    projected?: { sources?: { configMap?: { name?: string }; secret?: { name?: string } }[] };
  }[];
  containers?: Container[];
  initContainers?: Container[];
  [field: string]: unknown;
}

interface Container {
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  env?: { valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } } }[];
}

const LABEL_VALUE_MAX = 63;

/**
 * `<a>.<b>.<c>` as a label value. Cluster and namespace names are DNS labels (no dots), so the
 * first two dots split it back; an object name may hold dots, and is the rest. Longer than a
 * label value may be (63), it keeps its start and ends with a hash of the whole, still unique; the
 * annotation keeps the full name.
 */
export function identityValue(cluster: string, namespace: string, name: string): string {
  const whole = `${cluster}.${namespace}.${name}`;
  if (whole.length <= LABEL_VALUE_MAX) return whole;
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, 10);
  return `${whole.slice(0, LABEL_VALUE_MAX - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
}

/** Whose replicas these are: the cluster bursting and its policy. */
export interface ReplicaSource {
  readonly cluster: string;
  readonly namespace: string;
  readonly policy: string;
}

/** The label selector of everything one policy made, in a peer or here. */
export const policySelector = (source: ReplicaSource): string =>
  `${burst.policy}=${identityValue(source.cluster, source.namespace, source.policy)},${ours.appManagedByLabel}=${ours.appManagedBy}`;

/** Whether one of our policies made this object (a replica in a peer, or a route here): managed by us, that policy's label. */
export function madeBy(object: KubeObject, source: ReplicaSource): boolean {
  const labels = object.metadata.labels ?? {};
  return (
    labels[ours.appManagedByLabel] === ours.appManagedBy &&
    labels[burst.policy] === identityValue(source.cluster, source.namespace, source.policy)
  );
}

/** Whether an object is a replica this policy made: the only objects Withdraw deletes. */
export const isReplicaOf = (object: KubeObject, source: ReplicaSource): boolean =>
  madeBy(object, source) && object.metadata.labels?.[burst.replicaOf] !== undefined;

// Fields the API server or this cluster's controllers own: a peer makes its own.
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'ownerReferences',
  'finalizers',
  'generateName',
] as const;
const LOCAL_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision'];

function cleanSpec(kind: string, spec: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'Service') {
    const s = { ...spec } as Service['spec'] & Record<string, unknown>;
    // Addresses are the peer's to allocate; a headless Service stays headless.
    const headless = s.clusterIP === 'None';
    delete s.clusterIP;
    delete s.clusterIPs;
    delete s.ipFamilies;
    delete s.ipFamilyPolicy;
    delete s.healthCheckNodePort;
    delete s.loadBalancerIP;
    if (headless) s.clusterIP = 'None';
    if (Array.isArray(s.ports)) s.ports = s.ports.map(({ nodePort: _n, ...p }: { nodePort?: number }) => p) as typeof s.ports;
    return s;
  }
  if (kind === 'Deployment') {
    const s = spec as Deployment['spec'];
    const template = s.template;
    if (!template?.spec?.nodeName) return s;
    const { nodeName: _pinned, ...podSpec } = template.spec;
    return { ...s, template: { ...template, spec: podSpec } };
  }
  return spec;
}

/**
 * The copy of `object` a peer receives: its spec (or data) and its own labels and annotations,
 * without what the API server or this cluster filled in (uid, resourceVersion, status, a Service's
 * addresses and node ports, a pod's node), marked as a replica of `<cluster>/<namespace>/<name>`
 * made by `source`'s policy. A Service is exported, so the peer's mirror shows it here.
 */
/** `object` needs its kind: list items come without one. */
export function toReplica<T extends KubeObject>(object: T, source: ReplicaSource): T {
  const { metadata, status: _status, ...rest } = object as T & { status?: unknown; spec?: Record<string, unknown> };
  const name = metadata.name ?? '';
  const kept = Object.fromEntries(Object.entries(metadata).filter(([k]) => !(SERVER_METADATA as readonly string[]).includes(k)));
  const annotations = Object.fromEntries(Object.entries(metadata.annotations ?? {}).filter(([k]) => !LOCAL_ANNOTATIONS.includes(k)));
  const replica = {
    ...rest,
    metadata: {
      ...kept,
      labels: {
        ...metadata.labels,
        [burst.replicaOf]: identityValue(source.cluster, metadata.namespace ?? '', name),
        [burst.policy]: identityValue(source.cluster, source.namespace, source.policy),
        [ours.appManagedByLabel]: ours.appManagedBy,
        ...(object.kind === 'Service' && { [burst.exported]: 'true' }),
      },
      annotations: { ...annotations, [burst.replicaOfAnnotation]: `${source.cluster}/${metadata.namespace ?? ''}/${name}` },
    },
  } as T & { spec?: Record<string, unknown> };
  if (replica.spec) replica.spec = cleanSpec(object.kind ?? '', replica.spec);
  return replica;
}

/** Whether a Service's selector selects pods with these labels (an empty selector selects nothing: it is not ours to follow). */
export function selects(service: Service, podLabels: Record<string, string>): boolean {
  const selector = service.spec?.selector ?? {};
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([k, v]) => podLabels[k] === v);
}

/** The ConfigMaps and Secrets a Deployment's pods reference by name. */
export function references(deployment: Deployment): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const add = (set: Set<string>, name: string | undefined) => name && set.add(name);
  const pod = deployment.spec.template.spec ?? {};
  for (const v of pod.volumes ?? []) {
    add(configMaps, v.configMap?.name);
    add(secrets, v.secret?.secretName);
    for (const source of v.projected?.sources ?? []) {
      add(configMaps, source.configMap?.name);
      add(secrets, source.secret?.name);
    }
  }
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      add(configMaps, e.configMapRef?.name);
      add(secrets, e.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      add(configMaps, e.valueFrom?.configMapKeyRef?.name);
      add(secrets, e.valueFrom?.secretKeyRef?.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/** Ready as Deployment status says it: this generation observed, and every wanted replica ready. */
export function deploymentReady(d: Deployment): boolean {
  const wanted = d.spec.replicas ?? 1;
  return (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (d.status?.readyReplicas ?? 0) >= wanted;
}
