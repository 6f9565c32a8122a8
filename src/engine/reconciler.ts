import type { Settings } from '../domain/desired.js';
import { unreachableByCluster } from '../domain/desired.js';
import { describeWrite, planGlobal, type GlobalPlan, type GlobalWorld } from '../domain/plan.js';
import { keyString, parseKey } from '../domain/members.js';
import { mcs } from '../domain/labels.js';
import { intern } from '../shared.js';
import type { EventRecorder } from '../observability/events.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { MemberIndex } from './member-index.js';
import type { ReconcileOutcome } from './work-queue.js';
import type { PlanWriter } from './writer.js';

/**
 * Counts by name (a cluster, a reason), flat: `[name, n, name, n, ...]`, the names interned. 10,000
 * keys kept a Map of their clusters' endpoints each (184 bytes for three clusters; an array of six, 96).
 */
type Counts = readonly (string | number)[];

interface KeyStats {
  /** Undefined while the key has no global (an exported service nobody else exports yet). */
  state: 'published' | 'blocked' | undefined;
  endpointsByCluster: Counts;
  unreachableByCluster: Counts;
  unlinkedByCluster: Counts;
  leftOut: Counts;
}

/** Most keys have nothing unreachable, unlinked or left out: they share one empty list. */
const NONE: Counts = Object.freeze([]);
function countsOf(m: ReadonlyMap<string, number>): Counts {
  if (m.size === 0) return NONE;
  // Made to size: an array grown by push keeps room for more.
  const flat = new Array<string | number>(m.size * 2);
  let i = 0;
  for (const [name, n] of m) {
    flat[i++] = intern(name);
    flat[i++] = n;
  }
  return flat;
}

/** Creating a Service and then its slices, or replacing a Service, takes a few passes at most. */
const MAX_PASSES = 3;
/** How soon to look again at a key waiting for its Service to finish deleting. */
const AWAIT_SERVICE_MS = 1_000;

/** Sums of every key's KeyStats, kept as keys change so that a scrape costs nothing per key. */
class Totals {
  published = 0;
  blocked = 0;
  readonly endpointsByCluster = new Map<string, number>();
  readonly unreachableByCluster = new Map<string, number>();
  readonly unlinkedByCluster = new Map<string, number>();
  readonly leftOut = new Map<string, number>();

  add(s: KeyStats, sign: 1 | -1): void {
    if (s.state === 'published') this.published += sign;
    else if (s.state === 'blocked') this.blocked += sign;
    const fields = ['endpointsByCluster', 'unreachableByCluster', 'unlinkedByCluster', 'leftOut'] as const;
    for (const field of fields) {
      const total = this[field];
      const counts = s[field];
      for (let i = 0; i < counts.length; i += 2) {
        const k = counts[i] as string;
        const sum = (total.get(k) ?? 0) + sign * (counts[i + 1] as number);
        if (sum === 0) total.delete(k);
        else total.set(k, sum);
      }
    }
  }
}

/**
 * reconcile(key): read the key's world from the cache, plan, write the plan. Level-triggered:
 * it never asks what event brought it here, so missed events, relists and restarts are harmless.
 */
export class Reconciler {
  private readonly stats = new Map<string, KeyStats>();
  private readonly totals = new Totals();

  constructor(
    private readonly index: MemberIndex,
    private readonly writer: PlanWriter,
    private readonly settings: Settings,
    private readonly recorder: EventRecorder,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    metrics.onCollect(() => this.collect());
  }

  /** The plan for one key from the current cache, without writing (for `globalsvc plan`). */
  plan(key: string): GlobalPlan {
    return planGlobal(this.index.world(parseKey(key)), this.settings);
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const timer = this.metrics.reconcileDuration.startTimer();
    try {
      const outcome = await this.converge(key);
      timer({ result: outcome.requeueAfterMs ? 'requeue' : 'success' });
      return outcome;
    } catch (err) {
      timer({ result: 'error' });
      throw err;
    }
  }

  private async converge(key: string): Promise<ReconcileOutcome> {
    // Problems are told once a reconcile, on the global Service: a pass that creates it tells them on
    // the next, where it exists (told then, they would land on a mirror), or as it ends if the create failed.
    let untold: [GlobalPlan, GlobalWorld] | undefined;
    try {
      for (let pass = 1; ; pass++) {
        const world = this.index.world(parseKey(key));
        const plan = planGlobal(world, this.settings);
        if (pass === 1 || untold) {
          untold = [plan, world];
          const creating = plan.awaitingService && !world.atGlobalName && plan.writes.length > 0 && pass < MAX_PASSES;
          if (!creating) {
            this.report(plan, world);
            untold = undefined;
          }
        }
        if (plan.writes.length > 0) {
          if (this.log.isLevelEnabled('debug')) this.log.debug({ key, writes: plan.writes.map(describeWrite) }, 'writing plan');
          await this.writer.execute(plan.writes);
        }
        if (!plan.awaitingService) return {};
        if (plan.writes.length === 0 || pass === MAX_PASSES) return { requeueAfterMs: AWAIT_SERVICE_MS };
      }
    } finally {
      if (untold) this.report(...untold);
    }
  }

  private report(plan: GlobalPlan, world: GlobalWorld): void {
    const id = keyString(plan.key);
    const blocked = plan.problems.some((p) => p.reason === 'GlobalNameTaken');
    const leftOut = new Map<string, number>();
    const unlinked = new Map<string, number>();
    for (const { leftOut: l, stale } of plan.problems) {
      if (l) leftOut.set(l.reason, (leftOut.get(l.reason) ?? 0) + l.endpoints);
      if (stale) unlinked.set(stale.cluster, (unlinked.get(stale.cluster) ?? 0) + stale.endpoints);
    }
    const previous = this.stats.get(id);
    if (previous) this.totals.add(previous, -1);
    if (!plan.desired && leftOut.size === 0) this.stats.delete(id);
    else {
      const endpointsByCluster = new Map<string, number>();
      if (plan.desired && !blocked)
        for (const g of plan.desired.groups) endpointsByCluster.set(g.cluster, (endpointsByCluster.get(g.cluster) ?? 0) + g.endpoints.size);
      const unreachable = plan.desired && !blocked ? unreachableByCluster(plan.desired.groups, this.settings.localCluster) : new Map();
      const stats: KeyStats = {
        state: !plan.desired ? undefined : blocked ? 'blocked' : 'published',
        endpointsByCluster: countsOf(endpointsByCluster),
        unreachableByCluster: countsOf(unreachable),
        unlinkedByCluster: countsOf(unlinked),
        leftOut: countsOf(leftOut),
      };
      this.stats.set(intern(id), stats);
      this.totals.add(stats, 1);
    }
    for (const problem of plan.problems) {
      // A problem of the global is told on the global Service, or on a mirror while there is none.
      const subject = problem.subject;
      const target =
        subject.kind !== 'global'
          ? {
              kind: subject.kind,
              apiVersion: subject.kind === 'ServiceImport' ? mcs.apiVersion : 'v1',
              namespace: subject.namespace,
              name: subject.name,
              uid: subject.uid,
            }
          : (() => {
              const on =
                world.atGlobalName && !blocked ? world.atGlobalName : world.members.find((m) => m.member.origin === 'mirror')?.service;
              return on
                ? {
                    kind: 'Service',
                    apiVersion: 'v1',
                    namespace: on.metadata.namespace ?? '',
                    name: on.metadata.name ?? '',
                    uid: on.metadata.uid,
                  }
                : undefined;
            })();
      if (target) this.recorder.record(target, problem.type, problem.reason, problem.message);
    }
  }

  private collect(): void {
    const t = this.totals;
    this.metrics.globals.reset();
    this.metrics.endpoints.reset();
    this.metrics.leftOut.reset();
    this.metrics.unreachable.reset();
    this.metrics.unlinked.reset();
    for (const [c, n] of t.unlinkedByCluster) this.metrics.unlinked.set({ source_cluster: c }, n);
    for (const [c, n] of t.unreachableByCluster) this.metrics.unreachable.set({ source_cluster: c }, n);
    for (const [r, n] of t.leftOut) this.metrics.leftOut.set({ reason: r }, n);
    this.metrics.globals.set({ state: 'published' }, t.published);
    this.metrics.globals.set({ state: 'blocked' }, t.blocked);
    for (const [c, n] of t.endpointsByCluster) this.metrics.endpoints.set({ source_cluster: c }, n);
  }
}
