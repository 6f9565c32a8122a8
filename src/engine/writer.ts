import type { KubeObject } from '../domain/k8s-types.js';
import type { Write } from '../domain/plan.js';
import { describeWrite, targetOf } from '../domain/plan.js';
import type { KubeApi, ResourceType } from '../cluster/kube-api.js';
import { ENDPOINT_SLICES, KubeApiError, SERVICE_IMPORTS, SERVICES } from '../cluster/kube-api.js';
import { ours } from '../domain/labels.js';
import type { Metrics } from '../observability/metrics.js';
import { Leadership } from '../cluster/leadership.js';
import type { MemberIndex } from './member-index.js';

const TYPES: Record<Write['kind'], ResourceType> = { Service: SERVICES, EndpointSlice: ENDPOINT_SLICES, ServiceImport: SERVICE_IMPORTS };
/** Slice writes of one global run this many at a time (a 5,000-endpoint member is 50 slices). */
const SLICE_WRITE_CONCURRENCY = 4;

function resultOf(err: unknown): string {
  if (!(err instanceof KubeApiError)) return 'error';
  return err.conflict ? 'conflict' : err.notFound ? 'not_found' : 'error';
}

/** The narrow port the writer needs: KubeApi in production, an in-memory fake in unit tests. */
export type ClusterWriter = Pick<KubeApi, 'create' | 'apply' | 'update' | 'patch' | 'delete'>;

/** One object written: created, applied (server-side, to the object or its status), replaced whole, or deleted with a uid precondition. */
export type ObjectWrite =
  | {
      readonly verb: 'create' | 'apply' | 'update';
      readonly type: ResourceType;
      readonly object: KubeObject;
      readonly subresource?: 'status';
      /** globalsvc's unless said (an export's marks on a Service that is not ours have their own). */
      readonly fieldManager?: string;
      /** Apply without force: another manager's value stays, and the write fails with 409. */
      readonly unforced?: boolean;
    }
  | { readonly verb: 'patch'; readonly type: ResourceType; readonly namespace: string; readonly name: string; readonly patch: object }
  | { readonly verb: 'delete'; readonly type: ResourceType; readonly namespace: string; readonly name: string; readonly uid?: string };

/**
 * The one way globalsvc writes, the aggregator's plans and bursting's alike: leadership is asked
 * first (a leader that lost its lease stops at the next write), every result is counted, and a
 * delete of what is already gone (the garbage collector, a delete before a restart) is done.
 * Returns what the API server wrote; nothing for a delete.
 */
export class ObjectWriter {
  constructor(
    private readonly leadership: Leadership,
    private readonly metrics?: Metrics,
  ) {}

  async write(api: ClusterWriter, w: ObjectWrite, what: string): Promise<KubeObject | undefined> {
    this.leadership.assert(what);
    try {
      let written: KubeObject | undefined;
      if (w.verb === 'patch') written = await api.patch<KubeObject>(w.type, w.namespace, w.name, w.patch, ours.fieldManager);
      else if (w.verb === 'delete') {
        try {
          await api.delete(w.type, w.namespace, w.name, { uid: w.uid });
        } catch (err) {
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
      } else
        written =
          w.verb === 'create'
            ? await api.create<KubeObject>(w.type, w.object, w.fieldManager ?? ours.fieldManager)
            : w.verb === 'update'
              ? await api.update<KubeObject>(w.type, w.object, w.fieldManager ?? ours.fieldManager)
              : await api.apply<KubeObject>(w.type, w.object, w.fieldManager ?? ours.fieldManager, w.subresource, !w.unforced);
      this.metrics?.apiWrites.inc({ verb: w.verb, kind: w.type.kind, result: 'success' });
      return written;
    } catch (err) {
      this.metrics?.apiWrites.inc({ verb: w.verb, kind: w.type.kind, result: resultOf(err) });
      throw err;
    }
  }
}

/** Performs a plan's writes: the only place the reconciler changes the cluster. */
export class PlanWriter {
  private readonly writer: ObjectWriter;

  constructor(
    private readonly api: ClusterWriter,
    private readonly index: MemberIndex,
    metrics: Metrics,
    leadership: Leadership = new Leadership(true),
    /** Keys that others' changes to an object, seen while we wrote it, may affect. */
    private readonly changed: (keys: Set<string>) => void = () => {},
  ) {
    this.writer = new ObjectWriter(leadership, metrics);
  }

  /**
   * One write, the watch's events of its object held until its answer is recorded: the echo of a
   * write often comes before its answer, and would otherwise read as a change and run the global
   * again for nothing (a third of the reconciles under churn did).
   */
  private async one(w: Write): Promise<void> {
    const { namespace, name } = targetOf(w);
    this.index.beginWrite(w.kind, namespace, name);
    try {
      await this.send(w);
    } finally {
      const keys = this.index.endWrite(w.kind, namespace, name);
      if (keys.size > 0) this.changed(keys);
    }
  }

  private async send(w: Write): Promise<void> {
    const type = TYPES[w.kind];
    if (w.verb === 'delete') {
      await this.writer.write(this.api, { verb: 'delete', type, namespace: w.namespace, name: w.name, uid: w.uid }, describeWrite(w));
      this.index.recordDelete(w.kind, w.namespace, w.name, w.uid);
    } else if (w.verb === 'patch') {
      const written = await this.writer.write(
        this.api,
        { verb: 'patch', type, namespace: w.namespace, name: w.name, patch: w.patch },
        describeWrite(w),
      );
      this.index.recordWrite(w.kind, written!);
    } else {
      const subresource = w.verb === 'apply' ? w.subresource : undefined;
      const written = await this.writer.write(this.api, { verb: w.verb, type, object: w.object, subresource }, describeWrite(w));
      this.index.recordWrite(w.kind, written!);
    }
  }

  /**
   * Service and ServiceImport writes first (slices need their owner's uid), then slices a few at a
   * time. Every write is attempted; failures are thrown together afterwards, so one conflict does
   * not hold back the rest of the plan.
   */
  async execute(writes: readonly Write[]): Promise<void> {
    const errors: unknown[] = [];
    const attempt = (w: Write) => this.one(w).catch((err: unknown) => void errors.push(err));
    for (const w of writes.filter((x) => x.kind !== 'EndpointSlice')) await attempt(w);
    const slices = writes.filter((x) => x.kind === 'EndpointSlice');
    for (let i = 0; i < slices.length; i += SLICE_WRITE_CONCURRENCY)
      await Promise.all(slices.slice(i, i + SLICE_WRITE_CONCURRENCY).map(attempt));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1)
      throw new AggregateError(errors, `${errors.length} writes failed: ${errors.map((e) => (e as Error).message).join('; ')}`);
  }
}
