import { KubeConfig, RequestContext, HttpMethod } from '@kubernetes/client-node';
import { STATUS_CODES } from 'node:http';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import type { KubeObject } from '../domain/k8s-types.js';

/** A namespaced resource the engine lists, watches or writes. */
export interface ResourceType {
  kind: string;
  /** `/api/v1` or `/apis/<group>/<version>`. */
  apiPath: string;
  plural: string;
}

export const SERVICES: ResourceType = { kind: 'Service', apiPath: '/api/v1', plural: 'services' };
export const ENDPOINT_SLICES: ResourceType = { kind: 'EndpointSlice', apiPath: '/apis/discovery.k8s.io/v1', plural: 'endpointslices' };
export const SERVICE_IMPORTS: ResourceType = {
  kind: 'ServiceImport',
  apiPath: '/apis/multicluster.x-k8s.io/v1alpha1',
  plural: 'serviceimports',
};
export const SERVICE_EXPORTS: ResourceType = {
  kind: 'ServiceExport',
  apiPath: '/apis/multicluster.x-k8s.io/v1alpha1',
  plural: 'serviceexports',
};
export const EVENTS: ResourceType = { kind: 'Event', apiPath: '/apis/events.k8s.io/v1', plural: 'events' };
export const BURST_POLICIES: ResourceType = { kind: 'BurstPolicy', apiPath: '/apis/globalsvc.dev/v1alpha1', plural: 'burstpolicies' };
// What bursting reads here and writes in peers (src/burst).
/** Linkerd's Link (../shared/crds/linkerd-b24cd40-links.yaml). */
export const LINKS: ResourceType = { kind: 'Link', apiPath: '/apis/multicluster.linkerd.io/v1alpha3', plural: 'links' };
export const DEPLOYMENTS: ResourceType = { kind: 'Deployment', apiPath: '/apis/apps/v1', plural: 'deployments' };
export const CONFIG_MAPS: ResourceType = { kind: 'ConfigMap', apiPath: '/api/v1', plural: 'configmaps' };
export const SECRETS: ResourceType = { kind: 'Secret', apiPath: '/api/v1', plural: 'secrets' };
export const NAMESPACES: ResourceType = { kind: 'Namespace', apiPath: '/api/v1', plural: 'namespaces' };
export const HTTP_ROUTES: ResourceType = { kind: 'HTTPRoute', apiPath: '/apis/gateway.networking.k8s.io/v1', plural: 'httproutes' };
export const TRAFFIC_SPLITS: ResourceType = { kind: 'TrafficSplit', apiPath: '/apis/split.smi-spec.io/v1alpha2', plural: 'trafficsplits' };

/** The apiVersion of a type's objects: `v1`, `apps/v1` (list items come without one). */
export const apiVersionOf = (type: ResourceType): string => type.apiPath.replace(/^\/apis?\//, '');

export type Verb = 'list' | 'watch' | 'get' | 'create' | 'apply' | 'patch' | 'update' | 'delete';

/** An API error with what was being done, so that one log line says everything. */
export class KubeApiError extends Error {
  constructor(
    readonly verb: Verb,
    readonly kind: string,
    readonly target: string,
    readonly status: number,
    readonly reason: string,
    detail: string,
    /** How long the API server asked us to wait (Retry-After, with 429 and some 5xx answers). */
    readonly retryAfterMs?: number,
  ) {
    super(`${verb} ${kind} ${target}: ${status} ${reason}: ${detail}`);
    this.name = 'KubeApiError';
  }

  get conflict(): boolean {
    return this.status === 409;
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get gone(): boolean {
    return this.status === 410;
  }
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continue: string | undefined;
}

/** How a watch ended without an error: the API server closed it, it was quiet for WATCH_IDLE_MS, or its caller stopped it. */
export type WatchEnding = 'server' | 'idle' | 'stopped';

export interface WatchHandlers {
  event: (type: string, object: KubeObject) => void;
  /** `err` is null when the watch ended without an error, and `ending` then says how. */
  done: (err: unknown, ending?: WatchEnding) => void;
}

/** Called once per API request with its outcome: the single point metrics hang off. */
export type RequestObserver = (verb: Verb, kind: string, status: number | 'error') => void;

interface Authenticated {
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  expires: number;
}

// client-node builds a new TLS agent each time it authenticates a request; keeping the result for
// a while lets requests share connections, and re-reading it picks up rotated tokens.
const AUTH_TTL_MS = 60_000;
/** Longest wait for a response's headers, and then between chunks of its body. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Longest a watch goes without a byte (an event or a bookmark) before it is ended and resumed from
 * its last resourceVersion: a connection that died without a word is noticed within this.
 */
const WATCH_IDLE_MS = 30_000;

/** An error that is not one: the watch's caller aborted it, or it went quiet for WATCH_IDLE_MS. */
const quietEnding = (err: unknown): WatchEnding | undefined => {
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'idle';
  return name === 'AbortError' || code === 'UND_ERR_ABORTED' ? 'stopped' : undefined;
};

/**
 * The one door to a cluster's API server: raw JSON list, watch and writes over undici, authenticated
 * by client-node's KubeConfig (in-cluster, kubeconfig files, exec plugins). Watches are HTTP/2
 * streams on the connections every other request uses, as client-go's are. Objects stay plain
 * JSON, as they are on the wire.
 */
export class KubeApi {
  private auth: Authenticated | undefined;
  readonly server: string;

  constructor(
    readonly config: KubeConfig,
    private readonly observe: RequestObserver = () => {},
    private readonly userAgent = 'globalsvc',
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  private async authenticate(): Promise<Authenticated> {
    if (this.auth && this.auth.expires > Date.now()) return this.auth;
    const ctx = new RequestContext(this.server, HttpMethod.GET);
    await this.config.applySecurityAuthentication(ctx);
    // No dispatcher when the kubeconfig gives no TLS option and no proxy: undici's default one then.
    const dispatcher = (ctx.getDispatcher() as Dispatcher | undefined) ?? getGlobalDispatcher();
    this.auth = { headers: ctx.getHeaders(), dispatcher, expires: Date.now() + AUTH_TTL_MS };
    return this.auth;
  }

  static collectionPath(type: ResourceType, namespace?: string): string {
    return namespace ? `${type.apiPath}/namespaces/${namespace}/${type.plural}` : `${type.apiPath}/${type.plural}`;
  }

  async request<T>(
    verb: Verb,
    type: ResourceType,
    method: string,
    path: string,
    opts: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; contentType?: string; target?: string } = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const auth = await this.authenticate();
    const headers: Record<string, string> = { ...auth.headers, Accept: 'application/json', 'User-Agent': this.userAgent };
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    const target = opts.target ?? path;
    let status: number;
    let retryAfter: string | string[] | undefined;
    let text: string;
    try {
      // undici's Dispatcher.request(), not fetch(): no WHATWG Request/Response/stream objects per
      // call, which at tens of thousands of writes is most of the client's CPU and garbage.
      const response = await auth.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await response.body.text();
    } catch (err) {
      this.observe(verb, type.kind, 'error');
      throw this.connectionFailed(verb, type, target, err);
    }
    this.observe(verb, type.kind, status);
    if (status < 200 || status >= 300) throw refusal(verb, type, target, status, text, retryAfter);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async list<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    query: { labelSelector?: string; limit?: number; continue?: string },
  ): Promise<ListPage<T>> {
    const body = await this.request<{ items: T[] | null; metadata: { resourceVersion: string; continue?: string } }>(
      'list',
      type,
      'GET',
      KubeApi.collectionPath(type, namespace),
      { query: { labelSelector: query.labelSelector, limit: query.limit, continue: query.continue } },
    );
    return { items: body.items ?? [], resourceVersion: body.metadata.resourceVersion, continue: body.metadata.continue || undefined };
  }

  /**
   * The pages of a list, one at a time as each arrives: a consistent snapshot as of the first page,
   * each page with the list's resourceVersion; the last is the one with no `continue`.
   */
  async *listPages<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    query: { labelSelector?: string; pageSize?: number } = {},
  ): AsyncGenerator<ListPage<T>> {
    for (let token: string | undefined; ;) {
      const page = await this.list<T>(type, namespace, {
        labelSelector: query.labelSelector,
        limit: query.pageSize ?? 500,
        continue: token,
      });
      yield page;
      token = page.continue;
      if (!token) return;
    }
  }

  /** Every page of a list, gathered. `transform` is applied page by page, so only what it keeps accumulates. */
  async listAll<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    query: { labelSelector?: string; pageSize?: number; transform?: (object: T) => T } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let resourceVersion = '';
    for await (const page of this.listPages<T>(type, namespace, query)) {
      for (const item of page.items) items.push(query.transform ? query.transform(item) : item);
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  /** A request that got no answer, and the connection pool dropped: a restarted API server leaves dead sockets behind. */
  private connectionFailed(verb: Verb, type: ResourceType, target: string, err: unknown): KubeApiError {
    this.auth = undefined;
    const detail = err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err);
    return new KubeApiError(verb, type.kind, target, 0, 'ConnectionFailed', detail);
  }

  /**
   * Starts a watch (with bookmarks) from a resourceVersion; resolves, once the API server has
   * accepted it or refused it, to the controller that stops it. `event` gets each change as it
   * arrives; `done` is called once, always: with no error and how it ended when the watch was
   * stopped, went quiet for WATCH_IDLE_MS or was ended by the API server; with a KubeApiError when
   * it was refused, the API server sent an ERROR event (410 Gone among them) or the connection failed.
   */
  async watch(
    type: ResourceType,
    namespace: string | undefined,
    query: { resourceVersion: string; labelSelector?: string },
    handlers: WatchHandlers,
  ): Promise<AbortController> {
    const path = KubeApi.collectionPath(type, namespace);
    const url = new URL(this.server + path);
    url.searchParams.set('watch', 'true');
    url.searchParams.set('resourceVersion', query.resourceVersion);
    url.searchParams.set('allowWatchBookmarks', 'true');
    if (query.labelSelector) url.searchParams.set('labelSelector', query.labelSelector);
    const controller = new AbortController();
    let ended = false;
    const end = (err: unknown, ending?: WatchEnding) => {
      if (ended) return;
      ended = true;
      controller.abort();
      const status = err instanceof KubeApiError ? err.status : undefined;
      this.observe('watch', type.kind, status || (err ? 'error' : 200));
      handlers.done(err, err ? undefined : ending);
    };
    const failed = (err: unknown) => {
      const ending = quietEnding(err);
      end(ending ? null : this.connectionFailed('watch', type, path, err), ending);
    };
    let response: Dispatcher.ResponseData;
    try {
      const auth = await this.authenticate();
      response = await auth.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: { ...auth.headers, Accept: 'application/json', 'User-Agent': this.userAgent },
        signal: controller.signal,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: WATCH_IDLE_MS,
      });
    } catch (err) {
      failed(err);
      return controller;
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      end(refusal('watch', type, path, response.statusCode, text, response.headers['retry-after']));
      return controller;
    }
    // One JSON object per line (a line may span chunks, a chunk may hold many lines).
    const onLine = (line: string) => {
      let event: { type: string; object: KubeObject };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        end(new KubeApiError('watch', type.kind, path, 0, 'BadEvent', `not JSON: ${line.slice(0, 200)}`));
        return;
      }
      if (event.type !== 'ERROR') return handlers.event(event.type, event.object);
      const status = event.object as unknown as { code?: number; reason?: string; message?: string };
      end(new KubeApiError('watch', type.kind, path, status.code ?? 0, status.reason ?? 'Error', status.message ?? ''));
    };
    let partial = '';
    const body = response.body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      let from = 0;
      for (let newline = chunk.indexOf('\n'); newline >= 0 && !ended; newline = chunk.indexOf('\n', from)) {
        const line = partial + chunk.slice(from, newline);
        partial = '';
        from = newline + 1;
        if (line) onLine(line);
      }
      if (!ended) partial += chunk.slice(from);
    });
    body.on('end', () => end(null, 'server'));
    body.on('error', failed);
    body.on('close', () => end(null, controller.signal.aborted ? 'stopped' : 'server'));
    return controller;
  }

  create<T extends KubeObject>(type: ResourceType, object: T, fieldManager: string): Promise<T> {
    const ns = object.metadata.namespace;
    return this.request<T>('create', type, 'POST', KubeApi.collectionPath(type, ns), {
      body: object,
      query: { fieldManager },
      target: `${ns}/${object.metadata.name}`,
    });
  }

  /** One object, or undefined when there is none of that name. */
  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.request<T>('get', type, 'GET', `${KubeApi.collectionPath(type, namespace)}/${name}`, {
        target: `${namespace ?? ''}/${name}`,
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return undefined;
      throw err;
    }
  }

  /**
   * Server-side apply, to the object or one of its subresources (`status`). A resourceVersion in the
   * object makes it a precondition (409 when stale). Forced by default (globalsvc's own objects);
   * unforced, a field another manager holds with another value stays theirs (409 Conflict).
   */
  apply<T extends KubeObject>(type: ResourceType, object: T, fieldManager: string, subresource?: 'status', force = true): Promise<T> {
    const { namespace, name } = object.metadata;
    const path = `${KubeApi.collectionPath(type, namespace)}/${name}${subresource ? `/${subresource}` : ''}`;
    return this.request<T>('apply', type, 'PATCH', path, {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force },
      target: `${namespace}/${name}`,
    });
  }

  /**
   * Replaces an object whole (PUT), its resourceVersion a precondition (409 when stale): for
   * objects globalsvc owns and says every field of.
   */
  update<T extends KubeObject>(type: ResourceType, object: T, fieldManager: string): Promise<T> {
    const { namespace, name } = object.metadata;
    return this.request<T>('update', type, 'PUT', `${KubeApi.collectionPath(type, namespace)}/${name}`, {
      body: object,
      query: { fieldManager },
      target: `${namespace}/${name}`,
    });
  }

  /**
   * A JSON merge patch (RFC 7386): maps merge, a list is replaced whole, null removes a key. A
   * resourceVersion in the patch makes it a precondition (409 when stale).
   */
  patch<T extends KubeObject>(type: ResourceType, namespace: string, name: string, patch: object, fieldManager: string): Promise<T> {
    return this.request<T>('patch', type, 'PATCH', `${KubeApi.collectionPath(type, namespace)}/${name}`, {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager },
      target: `${namespace}/${name}`,
    });
  }

  /** Deletes with uid and resourceVersion preconditions: never someone else's object of that name. */
  async delete(
    type: ResourceType,
    namespace: string,
    name: string,
    preconditions: { uid?: string; resourceVersion?: string },
  ): Promise<void> {
    await this.request('delete', type, 'DELETE', `${KubeApi.collectionPath(type, namespace)}/${name}`, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions, propagationPolicy: 'Background' },
      target: `${namespace}/${name}`,
    });
  }
}

/** What the API server answered a request it refused with: its Status's reason and message when it sent one. */
function refusal(
  verb: Verb,
  type: ResourceType,
  target: string,
  status: number,
  text: string,
  retryAfter?: string | string[],
): KubeApiError {
  let reason = STATUS_CODES[status] ?? String(status);
  let message = text;
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason ?? reason;
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  return new KubeApiError(verb, type.kind, target, status, reason, message, seconds > 0 ? seconds * 1000 : undefined);
}

export function loadKubeConfig(opts: { kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw new Error(`the kubeconfig has no context "${opts.context}"`);
    kc.setCurrentContext(opts.context);
  }
  return kc;
}
