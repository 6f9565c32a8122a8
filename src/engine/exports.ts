import type { KubeObject, Service } from '../domain/k8s-types.js';
import { mcs, ours } from '../domain/labels.js';
import { parseKey } from '../domain/members.js';
import { exportStatus, planExport } from '../domain/service-export.js';
import { KubeApiError, SERVICE_EXPORTS, SERVICES } from '../cluster/kube-api.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { MemberIndex } from './member-index.js';
import type { ClusterWriter, ObjectWriter } from './writer.js';

/**
 * ServiceExports in (--mcs-api, src/domain/service-export.ts): for one name, marks the Service a
 * ServiceExport exports for Linkerd's mirrors (or releases the marks when it goes) and writes the
 * ServiceExport's conditions. Runs in the same reconcile as the name's global, on the leader.
 */
export class ExportReconciler {
  /** Why the last apply of a name's marks failed (another manager's value of Linkerd's label), until one succeeds. */
  private readonly markErrors = new Map<string, string>();

  constructor(
    private readonly api: ClusterWriter,
    private readonly index: MemberIndex,
    private readonly writer: ObjectWriter,
    private readonly localCluster: string,
    private readonly recorder: EventRecorder,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    metrics.onCollect(() => this.collect());
  }

  async reconcile(id: string): Promise<void> {
    const key = parseKey(id);
    const exp = this.index.exports.get(key.namespace, key.name);
    const service = this.index.services.get(key.namespace, key.name);
    if (!exp && service?.metadata.annotations?.[ours.exportedAt] === undefined) {
      this.markErrors.delete(id);
      return;
    }
    const remote = this.index.exportClaims(key).filter((c) => c.cluster !== this.localCluster);
    let plan = planExport({ exp, service, localCluster: this.localCluster, remote, markError: this.markErrors.get(id) });
    if (plan.service === 'unmark' && service) {
      // An empty apply by the export's field manager: the label and annotations it alone set go;
      // a label someone else set too stays theirs.
      await this.writeService(id, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: key.name, namespace: key.namespace, uid: service.metadata.uid },
      });
      this.log.info({ service: id }, 'ServiceExport gone: released its marks on the Service');
    } else if (plan.service && plan.service !== 'unmark') {
      const { marks, uid } = plan.service;
      const object: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: key.name, namespace: key.namespace, uid, ...marks } };
      try {
        await this.writeService(id, object);
        this.markErrors.delete(id);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) throw err;
        // 409 to an unforced apply: another manager holds Linkerd's label with another value.
        const message = `Service ${id} was not marked for export: ${err.message}. Its export label is another manager's: remove it, or the ServiceExport`;
        this.markErrors.set(id, message);
      }
      const after = this.index.services.get(key.namespace, key.name);
      plan = planExport({ exp, service: after, localCluster: this.localCluster, remote, markError: this.markErrors.get(id) });
    }
    if (!exp) return;
    if (plan.problem)
      this.recorder.record(
        { kind: 'ServiceExport', apiVersion: mcs.apiVersion, namespace: key.namespace, name: key.name, uid: exp.metadata.uid },
        'Warning',
        plan.problem.reason,
        plan.problem.message,
      );
    const status = exportStatus(exp, plan.conditions, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
    if (status) {
      const written = await this.writer.write(
        this.api,
        { verb: 'apply', type: SERVICE_EXPORTS, object: status, subresource: 'status' },
        `apply ServiceExport/status ${id}`,
      );
      if (written) this.index.recordWrite('ServiceExport', written);
    }
  }

  private async writeService(id: string, object: Service): Promise<void> {
    const written = await this.writer.write(
      this.api,
      { verb: 'apply', type: SERVICES, object, fieldManager: ours.exportFieldManager, unforced: true },
      `apply Service ${id} (export marks)`,
    );
    if (written) this.index.recordWrite('Service', written as KubeObject);
  }

  private collect(): void {
    this.metrics.serviceExports.reset();
    const counts = new Map<string, number>();
    for (const exp of this.index.exports.values()) {
      const conditions = exp.status?.conditions ?? [];
      const is = (type: string) => conditions.find((c) => c.type === type)?.status === 'True';
      const state = !is('Valid') ? 'invalid' : is('Conflict') ? 'conflict' : is('Ready') ? 'exported' : 'pending';
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    for (const [state, n] of counts) this.metrics.serviceExports.set({ state }, n);
  }
}
