import type { Metrics } from '../observability/metrics.js';
import type { MemberIndex } from './member-index.js';
import type { WorkQueue } from './work-queue.js';

/** The aggregator's gauges, read at each scrape: queue depth and workers, whether its caches are synced and it leads, members by state. */
export function collectControllerMetrics(
  metrics: Metrics,
  from: { queue: WorkQueue; index: MemberIndex; ready: () => boolean; leading: () => boolean },
): void {
  metrics.onCollect(() => {
    metrics.queueDepth.set(from.queue.depth);
    metrics.workers.set(from.queue.concurrency);
    metrics.cachesSynced.set(from.ready() ? 1 : 0);
    metrics.leader.set(from.leading() ? 1 : 0);
    metrics.members.reset();
    for (const [state, n] of from.index.classificationCounts()) if (state !== 'ignored' && n > 0) metrics.members.set({ state }, n);
    metrics.remoteClusterState.reset();
    for (const cluster of from.index.direct.clusterNames())
      for (const state of ['live', 'stale', 'expired', 'gone'] as const)
        metrics.remoteClusterState.set({ source_cluster: cluster, state }, from.index.direct.state(cluster) === state ? 1 : 0);
  });
}
