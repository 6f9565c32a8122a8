import { KubeConfig } from '@kubernetes/client-node';
import {
  CONFIG_MAPS,
  DEPLOYMENTS,
  ENDPOINT_SLICES,
  HTTP_ROUTES,
  KubeApi,
  KubeApiError,
  LINKS,
  NAMESPACES,
  SECRETS,
  SERVICES,
  TRAFFIC_SPLITS,
  type ResourceType,
} from '../../src/cluster/kube-api.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';

// Resource types the test bed writes besides the product's own.
export { CONFIG_MAPS, DEPLOYMENTS, HTTP_ROUTES, LINKS, NAMESPACES, SECRETS, TRAFFIC_SPLITS };
export const NODES: ResourceType = { kind: 'Node', apiPath: '/api/v1', plural: 'nodes' };
export const SERVICE_ACCOUNTS: ResourceType = { kind: 'ServiceAccount', apiPath: '/api/v1', plural: 'serviceaccounts' };
export const PODS: ResourceType = { kind: 'Pod', apiPath: '/api/v1', plural: 'pods' };
export const ENDPOINTS: ResourceType = { kind: 'Endpoints', apiPath: '/api/v1', plural: 'endpoints' };
export const STATEFUL_SETS: ResourceType = { kind: 'StatefulSet', apiPath: '/apis/apps/v1', plural: 'statefulsets' };
export const CRDS: ResourceType = {
  kind: 'CustomResourceDefinition',
  apiPath: '/apis/apiextensions.k8s.io/v1',
  plural: 'customresourcedefinitions',
};
export const CLUSTER_ROLES: ResourceType = { kind: 'ClusterRole', apiPath: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles' };
export const CLUSTER_ROLE_BINDINGS: ResourceType = {
  kind: 'ClusterRoleBinding',
  apiPath: '/apis/rbac.authorization.k8s.io/v1',
  plural: 'clusterrolebindings',
};
export const ROLES: ResourceType = { kind: 'Role', apiPath: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles' };
export const ROLE_BINDINGS: ResourceType = { kind: 'RoleBinding', apiPath: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings' };
export const CORE_EVENTS: ResourceType = { kind: 'Event', apiPath: '/api/v1', plural: 'events' };

const TYPES_BY_KIND = new Map(
  [
    SERVICES,
    ENDPOINT_SLICES,
    NAMESPACES,
    NODES,
    SECRETS,
    SERVICE_ACCOUNTS,
    PODS,
    ENDPOINTS,
    STATEFUL_SETS,
    DEPLOYMENTS,
    CONFIG_MAPS,
    HTTP_ROUTES,
    TRAFFIC_SPLITS,
    CRDS,
    LINKS,
    CLUSTER_ROLES,
    CLUSTER_ROLE_BINDINGS,
    ROLES,
    ROLE_BINDINGS,
  ].map((t) => [t.kind, t]),
);

/** An admin's hands on one cluster: server-side apply of any object, reads, deletes. */
export class Admin {
  readonly api: KubeApi;

  constructor(readonly kubeconfigPath: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.api = new KubeApi(kc, undefined, 'globalsvc-e2e');
  }

  static typeOf(obj: KubeObject, fallback?: ResourceType): ResourceType {
    const t = fallback ?? TYPES_BY_KIND.get(obj.kind ?? '');
    if (!t) throw new Error(`no resource type known for kind ${obj.kind}`);
    return t;
  }

  private path(type: ResourceType, namespace: string | undefined, name?: string): string {
    return `${KubeApi.collectionPath(type, namespace)}${name ? `/${name}` : ''}`;
  }

  /** Server-side apply as the test (field manager "e2e"). */
  async apply<T extends KubeObject>(obj: T, type?: ResourceType): Promise<T> {
    const t = Admin.typeOf(obj, type);
    return this.api.request<T>('apply', t, 'PATCH', this.path(t, obj.metadata.namespace, obj.metadata.name), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'e2e', force: true },
    });
  }

  async create<T extends KubeObject>(obj: T, type?: ResourceType): Promise<T> {
    const t = Admin.typeOf(obj, type);
    return this.api.request<T>('create', t, 'POST', this.path(t, obj.metadata.namespace), { body: obj });
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.api.request<T>('get', type, 'GET', this.path(type, namespace, name));
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(type: ResourceType, namespace?: string, labelSelector?: string): Promise<T[]> {
    return (await this.api.list<T>(type, namespace, { labelSelector })).items;
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.api.request('delete', type, 'DELETE', this.path(type, namespace, name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }

  async patchMerge(type: ResourceType, namespace: string | undefined, name: string, patch: unknown): Promise<void> {
    await this.api.request('update', type, 'PATCH', this.path(type, namespace, name), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  async ensureNamespace(name: string): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
}
