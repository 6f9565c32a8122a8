import type { KubeObject } from '../domain/k8s-types.js';
import type { Write } from '../domain/plan.js';
import { describeWrite } from '../domain/plan.js';
import type { KubeApi, ResourceType } from '../cluster/kube-api.js';
import { ENDPOINT_SLICES, KubeApiError, SERVICES } from '../cluster/kube-api.js';
import { ours } from '../domain/labels.js';
import type { Metrics } from '../observability/metrics.js';
import { Leadership } from '../cluster/leadership.js';
import type { MemberIndex } from './member-index.js';

const TYPES: Record<Write['kind'], ResourceType> = { Service: SERVICES, EndpointSlice: ENDPOINT_SLICES };
/** Slice writes of one global run this many at a time (a 5,000-endpoint member is 50 slices). */
const SLICE_WRITE_CONCURRENCY = 4;

function resultOf(err: unknown): string {
  if (!(err instanceof KubeApiError)) return 'error';
  return err.conflict ? 'conflict' : err.notFound ? 'not_found' : 'error';
}

/** The narrow port the writer needs: KubeApi in production, an in-memory fake in unit tests. */
export type ClusterWriter = Pick<KubeApi, 'create' | 'apply' | 'delete'>;

/** Performs a plan's writes: the only place the reconciler changes the cluster. */
export class PlanWriter {
  constructor(
    private readonly api: ClusterWriter,
    private readonly index: MemberIndex,
    private readonly metrics: Metrics,
    /** Asked before every write: a leader that lost its lease stops at the next write. */
    private readonly leadership: Leadership = new Leadership(true),
  ) {}

  private async one(w: Write): Promise<void> {
    this.leadership.assert(describeWrite(w));
    const type = TYPES[w.kind];
    try {
      if (w.verb === 'delete') {
        try {
          await this.api.delete(type, w.namespace, w.name, { uid: w.uid });
        } catch (err) {
          // Already gone (the garbage collector, or a delete we made before a restart): done.
          if (!(err instanceof KubeApiError && err.notFound)) throw err;
        }
        this.index.recordDelete(w.kind, w.namespace, w.name, w.uid);
      } else {
        const written =
          w.verb === 'create'
            ? await this.api.create<KubeObject>(type, w.object, ours.fieldManager)
            : await this.api.apply<KubeObject>(type, w.object, ours.fieldManager);
        this.index.recordWrite(w.kind, written);
      }
      this.metrics.apiWrites.inc({ verb: w.verb, kind: w.kind, result: 'success' });
    } catch (err) {
      this.metrics.apiWrites.inc({ verb: w.verb, kind: w.kind, result: resultOf(err) });
      throw err;
    }
  }

  /**
   * Service writes first (slices need the Service's uid as their owner), then slices a few at a
   * time. Every write is attempted; failures are thrown together afterwards, so one conflict does
   * not hold back the rest of the plan.
   */
  async execute(writes: readonly Write[]): Promise<void> {
    const errors: unknown[] = [];
    const attempt = (w: Write) => this.one(w).catch((err: unknown) => void errors.push(err));
    for (const w of writes.filter((x) => x.kind === 'Service')) await attempt(w);
    const slices = writes.filter((x) => x.kind === 'EndpointSlice');
    for (let i = 0; i < slices.length; i += SLICE_WRITE_CONCURRENCY)
      await Promise.all(slices.slice(i, i + SLICE_WRITE_CONCURRENCY).map(attempt));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1)
      throw new AggregateError(errors, `${errors.length} writes failed: ${errors.map((e) => (e as Error).message).join('; ')}`);
  }
}
