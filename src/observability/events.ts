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

/**
 * Kubernetes Events about globals and the members with problems. Level-triggered reconciles see
 * the same problem again and again; the recorder says it once per object, reason and message in
 * `repeatAfterMs`, so a stuck problem is visible without flooding etcd. Every problem is also a
 * log line and a metric, and failing to write an Event never fails a reconcile.
 */
export class EventRecorder {
  private readonly lastSaid = new Map<string, number>();

  constructor(
    private readonly api: KubeApi | undefined,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly reportingInstance: string,
    private readonly repeatAfterMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
    /** Only the leader tells: a standby neither writes, logs nor counts, and marks nothing said, so a new leader tells all it knows. */
    private readonly leadership: Leadership = new Leadership(true),
  ) {}

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
    this.api
      .create(EVENTS, event, 'globalsvc')
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message, reason }, 'could not write event'));
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [id, at] of this.lastSaid) if (at < cutoff) this.lastSaid.delete(id);
  }
}
