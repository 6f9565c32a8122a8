import { microTime } from '../shared.js';
import type { KubeApi, ResourceType } from './kube-api.js';
import { KubeApiError } from './kube-api.js';

export const LEASES: ResourceType = { kind: 'Lease', apiPath: '/apis/coordination.k8s.io/v1', plural: 'leases' };

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a lease holds without renewal (client-go: 15 s). */
  leaseDurationMs: number;
  /** How long a leader keeps trying to renew before it stops leading (client-go: 10 s). */
  renewDeadlineMs: number;
  /** How often to try to acquire or renew (client-go: 2 s). */
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  startedLeading: () => void;
  stoppedLeading: (reason: string) => void;
  /** A failed acquire or renew attempt, for logs. */
  attemptFailed?: (err: unknown) => void;
}

/** MicroTime as the API wants it: RFC 3339 with six fractional digits. */

/**
 * Leader election on a coordination.k8s.io Lease with client-go's semantics: a candidate takes the
 * lease once its holder has not renewed it for a lease duration *as observed locally* (so clock
 * skew between replicas does not matter); the leader renews every retry period, and one that has
 * not renewed for the renew deadline stops leading before the lease can expire under it. Every
 * update carries the observed resourceVersion, so two candidates never both win.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The lease record as last seen, and when (local clock) it last changed. */
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: LeaderCallbacks,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.retryPeriodMs);
    this.timer.unref();
  }

  private leasePath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  private async tick(): Promise<void> {
    try {
      const outcome = await this.tryAcquireOrRenew();
      if (outcome === 'held') {
        this.lastRenew = this.now();
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.callbacks.startedLeading();
        }
      } else if (outcome === 'taken' && this.leading) {
        this.stopLeading('another replica holds the lease');
      }
    } catch (err) {
      this.callbacks.attemptFailed?.(err);
    }
    if (this.leading && this.now() - this.lastRenew > this.options.renewDeadlineMs) {
      this.stopLeading(`could not renew the lease for ${this.options.renewDeadlineMs} ms`);
    }
    this.schedule();
  }

  private stopLeading(reason: string): void {
    this.leading = false;
    this.callbacks.stoppedLeading(reason);
  }

  /** held: ours now; taken: another replica holds a live lease; conflict: lost a race, try again. */
  private async tryAcquireOrRenew(): Promise<'held' | 'taken' | 'conflict'> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const now = this.now();
    const spec = (previous?: Lease['spec']): Lease['spec'] => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: previous?.holderIdentity === identity && previous.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity && previous.holderIdentity !== identity ? 1 : 0),
    });

    let current: Lease;
    try {
      current = await this.api.request<Lease>('get', LEASES, 'GET', this.leasePath());
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
      await this.api.request('create', LEASES, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec() },
      });
      this.observed = undefined;
      return 'held';
    }

    const record = JSON.stringify(current.spec);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = current.spec.holderIdentity ?? '';
    const duration = (current.spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && this.observed.at + duration > now) return 'taken';

    try {
      await this.api.request('update', LEASES, 'PUT', this.leasePath(), {
        body: { ...current, spec: spec(current.spec) },
      });
      return 'held';
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) return 'conflict'; // someone else wrote first
      throw err;
    }
  }

  /** Stops electing; a leader hands the lease back (holder cleared) so a standby need not wait it out. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const current = await this.api.request<Lease>('get', LEASES, 'GET', this.leasePath());
      if (current.spec.holderIdentity !== this.options.identity) return;
      await this.api.request('update', LEASES, 'PUT', this.leasePath(), {
        body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } },
      });
    } catch (err) {
      this.callbacks.attemptFailed?.(err);
    }
  }
}
