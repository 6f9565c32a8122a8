import { merge, map, type Subscription } from 'rxjs';
import { ENDPOINT_SLICES, KubeApi, KubeApiError, SECRETS, SERVICES, type RequestObserver } from '../cluster/kube-api.js';
import { watchResource, type WatchLifecycle } from '../cluster/watch-stream.js';
import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import { kubeconfigOf, type CredentialsSecret } from '../cluster/credentials.js';
import type { LinkInfo } from '../domain/links.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { DirectMembers, RemoteState } from './direct-members.js';

// Flat networks (Linkerd's remote discovery): for every Link with a remoteDiscoverySelector, the
// linked cluster's matching Services and their EndpointSlices are watched in that cluster itself,
// with the kubeconfig of the credentials Secret the Link names (read by name: never a list, never
// another Secret). They become direct members (direct-members.ts). Nothing of a credential is ever
// logged: a Secret that is not a kubeconfig is said so by its name and the YAML line at fault.

export interface RemoteDiscoveryOptions {
  /** How long a linked cluster may not answer before its members are published not ready; twice that, they leave. */
  staleAfterMs: number;
  /** How often the credentials Secret is read again for a rotation. */
  credentialsCheckMs?: number;
  /** How long the first sync waits for a linked cluster that does not answer. */
  firstSyncTimeoutMs?: number;
}

interface Deps {
  local: Pick<KubeApi, 'get'>;
  direct: DirectMembers;
  /** Keys whose direct members changed. */
  changed: (keys: Set<string>) => void;
  recorder: EventRecorder;
  log: Logger;
  onLifecycle: (event: WatchLifecycle) => void;
  countRequests?: (cluster: string) => RequestObserver;
  now?: () => number;
}

const STALE_AFTER_BLIP_MS = 5_000;

/** One linked cluster read directly: its streams, its credentials, how it answers. */
class RemoteLink {
  private streams: Subscription | undefined;
  private secretVersion: string | undefined;
  private timers: NodeJS.Timeout[] = [];
  private failingSince: number | undefined;
  private listed = new Set<string>();
  private firstSync: (() => void) | undefined;
  private connecting = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    readonly info: LinkInfo & { remoteDiscovery: NonNullable<LinkInfo['remoteDiscovery']> },
    private readonly deps: Deps,
    private readonly options: Required<RemoteDiscoveryOptions>,
    onFirstSync: () => void,
  ) {
    this.now = deps.now ?? Date.now;
    this.firstSync = onFirstSync;
  }

  get cluster(): string {
    return this.info.cluster;
  }

  private get secretRef(): string {
    const { namespace, name } = this.info.remoteDiscovery.credentials;
    return `${namespace}/${name}`;
  }

  start(): void {
    this.deps.direct.open(this.cluster);
    const connect = () => {
      // One read of the Secret at a time: a slow API must not open the streams twice.
      if (this.connecting) return;
      this.connecting = true;
      void this.connect().finally(() => (this.connecting = false));
    };
    connect();
    this.timers.push(setInterval(connect, this.options.credentialsCheckMs));
    this.timers.push(setInterval(() => this.age(), 1_000));
    this.timers.push(setTimeout(() => this.synced(), this.options.firstSyncTimeoutMs));
    for (const t of this.timers) t.unref();
  }

  stop(): Set<string> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.streams?.unsubscribe();
    this.synced();
    return this.deps.direct.close(this.cluster);
  }

  private synced(): void {
    this.firstSync?.();
    this.firstSync = undefined;
  }

  /** Reads the credentials; (re)opens the streams when they are new. */
  private async connect(): Promise<void> {
    const { namespace, name } = this.info.remoteDiscovery.credentials;
    let secret: CredentialsSecret | undefined;
    try {
      secret = await this.deps.local.get(SECRETS, namespace, name);
    } catch (err) {
      // This cluster's own API away, or no right to read it: said on the Link when it is a refusal.
      if (err instanceof KubeApiError && err.status === 403)
        this.problem('RemoteCredentialsForbidden', `cannot read Secret ${this.secretRef}: ${err.message}`);
      return;
    }
    if (secret?.metadata.resourceVersion !== undefined && secret.metadata.resourceVersion === this.secretVersion) return;
    const kc = kubeconfigOf(secret, this.secretRef);
    if (typeof kc === 'string') {
      this.secretVersion = secret?.metadata.resourceVersion;
      // Streams already open keep reading with the credentials they have: a Secret broken now
      // affects nothing until they fail; without them, the cluster is not read at all.
      this.problem(secret ? 'RemoteCredentialsInvalid' : 'RemoteCredentialsMissing', kc, this.streams !== undefined);
      if (!this.streams) this.unhealthy();
      this.synced();
      return;
    }
    const rotated = this.secretVersion !== undefined;
    this.secretVersion = secret?.metadata.resourceVersion;
    if (rotated)
      this.deps.log.info(
        { cluster: this.cluster, secret: this.secretRef },
        'credentials changed: reading the linked cluster with the new ones',
      );
    this.open(new KubeApi(kc, this.deps.countRequests?.(this.cluster), 'globalsvc'));
  }

  private open(api: KubeApi): void {
    // A Secret read that returned after the Link went opens nothing.
    if (this.stopped) return;
    this.streams?.unsubscribe();
    const onLifecycle = (e: WatchLifecycle) => this.lifecycle(e);
    const { selector } = this.info.remoteDiscovery;
    const direct = this.deps.direct;
    this.streams = merge(
      watchResource<Service>(api, SERVICES, undefined, {
        labelSelector: selector,
        transform: direct.transforms.services,
        onLifecycle,
      }).pipe(map((event) => direct.apply(this.cluster, 'services', event))),
      watchResource<EndpointSlice>(api, ENDPOINT_SLICES, undefined, { transform: direct.transforms.slices, onLifecycle }).pipe(
        map((event) => direct.apply(this.cluster, 'slices', event)),
      ),
    ).subscribe((keys) => {
      this.healthy();
      if (keys.size > 0) this.deps.changed(keys);
    });
  }

  private lifecycle(e: WatchLifecycle): void {
    if (e.type === 'failed') {
      this.unhealthy();
      if (e.error instanceof KubeApiError && (e.error.status === 401 || e.error.status === 403))
        this.problem(
          'RemoteAccessDenied',
          `cluster ${this.cluster} refuses to list ${e.resource} with the credentials of Secret ${this.secretRef} (HTTP ${e.error.status}); they need list and watch of Services and EndpointSlices there (manifests/remote-discovery/remote-access.yaml)`,
        );
    } else if (e.type === 'listed' || e.type === 'watching') this.healthy();
    if (e.type === 'listed') {
      this.listed.add(e.resource);
      if (this.listed.size === 2) this.synced();
    }
    this.deps.onLifecycle({ ...e, resource: `${e.resource}@${this.cluster}` });
  }

  private healthy(): void {
    if (this.failingSince === undefined) return;
    this.failingSince = undefined;
    if (this.deps.direct.state(this.cluster) === 'live') return;
    this.deps.log.info({ cluster: this.cluster }, 'linked cluster answers again');
    this.setState('live');
  }

  private unhealthy(): void {
    this.failingSince ??= this.now();
  }

  /** How long the cluster has not answered decides what its members publish. */
  private age(): void {
    if (this.failingSince === undefined) return;
    const ms = this.now() - this.failingSince;
    // A watch that fails once and is back within a retry is no outage worth telling.
    if (ms < Math.min(STALE_AFTER_BLIP_MS, this.options.staleAfterMs)) return;
    this.setState(ms >= 2 * this.options.staleAfterMs ? 'gone' : ms >= this.options.staleAfterMs ? 'expired' : 'stale');
  }

  private setState(state: RemoteState): void {
    if (this.deps.direct.state(this.cluster) === state) return;
    const keys = this.deps.direct.setState(this.cluster, state);
    if (state !== 'live') this.deps.log.warn({ cluster: this.cluster, state }, 'linked cluster does not answer');
    if (keys.size > 0) this.deps.changed(keys);
  }

  private problem(reason: string, message: string, reading = false): void {
    const [namespace, name] = this.info.ref.split('/') as [string, string];
    this.deps.recorder.record(
      { kind: 'Link', apiVersion: 'multicluster.linkerd.io/v1alpha3', namespace, name },
      'Warning',
      reason,
      reading
        ? `${message}: cluster ${this.cluster} is still read with the credentials read before, until that connection fails; fix the Secret`
        : `${message}: the Services of cluster ${this.cluster} are not read directly (remote discovery) until it is fixed`,
    );
  }
}

/**
 * Every Link's remote-discovery reader: opened when a Link with a remoteDiscoverySelector appears,
 * reopened when its selector or Secret changes, closed (its members leave every global) when the
 * Link goes.
 */
export class RemoteDiscovery {
  private readonly links = new Map<string, { link: RemoteLink; signature: string }>();
  private readonly options: Required<RemoteDiscoveryOptions>;
  private readonly said = new Map<string, string>();
  private waiting: Set<string> | undefined;
  private ready: (() => void) | undefined;

  constructor(
    private readonly deps: Deps,
    options: RemoteDiscoveryOptions,
    /** Called once: the Links are known and each was read once (or given up on for the first sync). */
    onReady: () => void,
  ) {
    this.options = { credentialsCheckMs: 30_000, firstSyncTimeoutMs: 10_000, ...options };
    this.ready = onReady;
  }

  /** The Links as LinkWatch lists them; undefined when they cannot be read (no CRD, no right). */
  update(infos: readonly LinkInfo[] | undefined): void {
    const wanted = new Map<string, LinkInfo & { remoteDiscovery: NonNullable<LinkInfo['remoteDiscovery']> }>();
    for (const info of infos ?? []) {
      if (info.remoteDiscovery) wanted.set(info.cluster, { ...info, remoteDiscovery: info.remoteDiscovery });
      else if (info.remoteDiscoveryProblem && this.said.get(info.ref) !== info.remoteDiscoveryProblem) {
        this.said.set(info.ref, info.remoteDiscoveryProblem);
        this.deps.log.warn({ link: info.ref, why: info.remoteDiscoveryProblem }, 'not reading this linked cluster directly');
      }
    }
    for (const [cluster, { link, signature }] of this.links) {
      const next = wanted.get(cluster);
      if (next && JSON.stringify(next.remoteDiscovery) === signature) continue;
      this.links.delete(cluster);
      const keys = link.stop();
      this.deps.log.info(
        { cluster },
        next ? 'remote discovery of this Link changed: reading it again' : 'Link gone: its direct members leave',
      );
      if (keys.size > 0) this.deps.changed(keys);
    }
    const first = this.waiting === undefined && this.ready !== undefined;
    if (first) this.waiting = new Set(wanted.keys());
    for (const [cluster, info] of wanted) {
      if (this.links.has(cluster)) continue;
      const link = new RemoteLink(info, this.deps, this.options, () => this.firstSynced(cluster));
      this.links.set(cluster, { link, signature: JSON.stringify(info.remoteDiscovery) });
      this.deps.log.info({ cluster, selector: info.remoteDiscovery.selector }, 'reading this linked cluster directly (remote discovery)');
      link.start();
    }
    if (first) this.firstSynced(undefined);
  }

  private firstSynced(cluster: string | undefined): void {
    if (!this.waiting || !this.ready) return;
    if (cluster !== undefined) this.waiting.delete(cluster);
    if (this.waiting.size > 0) return;
    const ready = this.ready;
    this.ready = undefined;
    ready();
  }

  stop(): void {
    for (const { link } of this.links.values()) link.stop();
    this.links.clear();
  }
}
