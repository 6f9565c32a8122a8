import PQueue from 'p-queue';
import type { KubeApi } from '../cluster/kube-api.js';
import { EVENTS } from '../cluster/kube-api.js';
import { Leadership } from '../cluster/leadership.js';
import { microTime } from '../shared.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface EventTarget {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** How fast Events reach the API server: client-go's recorders are held to their client's QPS too. */
export interface EventSinkLimits {
  /** Event writes started per second at most. */
  perSecond: number;
  /** Events waiting their turn at most; one more is dropped (counted, and still logged). */
  backlog: number;
}

export const EVENT_SINK_LIMITS: EventSinkLimits = { perSecond: 10, backlog: 1000 };

/**
 * Kubernetes Events about globals and the members with problems. Level-triggered reconciles see
 * the same problem again and again; the recorder says it once per object, reason and message in
 * `repeatAfterMs`, so a stuck problem is visible without flooding etcd. Every problem is also a
 * log line and a metric, and failing to write an Event never fails a reconcile.
 *
 * A gateway that dies touches every global with a member behind it: at 10,000 globals that is
 * 10,000 Events at once, competing with the very writes that take the dead cluster out of DNS.
 * So the writes go out at `limits.perSecond`, and past `limits.backlog` waiting an Event is
 * dropped (`globalsvc_events_dropped_total`); its log line and problem count are kept.
 */
export class EventRecorder {
  private readonly lastSaid = new Map<string, number>();
  private readonly sink: PQueue;

  constructor(
    private readonly api: KubeApi | undefined,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly reportingInstance: string,
    private readonly repeatAfterMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
    /** Only the leader tells: a standby neither writes, logs nor counts, and marks nothing said, so a new leader tells all it knows. */
    private readonly leadership: Leadership = new Leadership(true),
    private readonly limits: EventSinkLimits = EVENT_SINK_LIMITS,
  ) {
    this.sink = new PQueue({ concurrency: limits.perSecond, intervalCap: limits.perSecond, interval: 1000 });
  }

  /** Resolves once every Event accepted so far has been written or has failed. */
  async flushed(): Promise<void> {
    await this.sink.onIdle();
  }

  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.api && !this.leadership.isLeader) return;
    const id = `${target.kind}/${target.namespace}/${target.name}/${target.uid ?? ''}|${reason}|${message}`;
    const last = this.lastSaid.get(id);
    const now = this.now();
    if (last !== undefined && now - last < this.repeatAfterMs) return;
    this.lastSaid.set(id, now);
    if (this.lastSaid.size > 10_000) this.forgetOlderThan(now - this.repeatAfterMs);

    this.metrics.problems.inc({ reason });
    const fields = { reason, object: `${target.kind} ${target.namespace}/${target.name}` };
    if (type === 'Warning') this.log.warn(fields, message);
    else this.log.info(fields, message);
    if (!this.api) return;
    const event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's naming: <object>.<time in hex> (a generateName ending in "." is refused).
      metadata: {
        name: `${target.name.slice(0, 200)}.${(now * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`,
        namespace: target.namespace,
      },
      eventTime: microTime(now),
      reportingController: 'globalsvc.dev/globalsvc',
      reportingInstance: this.reportingInstance,
      action: 'Reconcile',
      type,
      reason,
      note: message.slice(0, 1024),
      regarding: { kind: target.kind, apiVersion: target.apiVersion, namespace: target.namespace, name: target.name, uid: target.uid },
    };
    if (this.sink.size >= this.limits.backlog) {
      this.metrics.eventsDropped.inc({ reason });
      return;
    }
    const api = this.api;
    void this.sink.add(async () => {
      // An Event waits its turn for up to backlog / perSecond seconds: a replica that lost the lease meanwhile says nothing.
      if (!this.leadership.isLeader) return;
      await api
        .create(EVENTS, event, 'globalsvc')
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message, reason }, 'could not write event'));
    });
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [id, at] of this.lastSaid) if (at < cutoff) this.lastSaid.delete(id);
  }
}
