import type { WatchLifecycle } from '../cluster/watch-stream.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Logs and counts every watch's lifecycle, the aggregator's and bursting's alike. */
export function watchLifecycleLog(log: Logger, metrics: Metrics): (event: WatchLifecycle) => void {
  return (event) => {
    const child = log.child({ resource: event.resource, namespace: event.namespace ?? '*' });
    switch (event.type) {
      case 'listed':
        child.info({ count: event.count, ms: event.ms }, 'listed');
        return;
      case 'reconnect':
        metrics.watchRestarts.inc({ resource: event.resource, reason: 'reconnect' });
        child.debug({ ended: event.ended }, 'watch reconnected');
        return;
      case 'gone':
        metrics.watchRestarts.inc({ resource: event.resource, reason: 'gone' });
        child.info('watch expired (410 Gone); relisting');
        return;
      case 'watching':
        return;
      case 'absent':
        child.debug({ retryInMs: event.retryInMs }, 'not served here (no CRD?): empty until it is');
        return;
      case 'failed':
        metrics.watchRestarts.inc({ resource: event.resource, reason: 'error' });
        child.warn({ err: (event.error as Error)?.message ?? String(event.error), retryInMs: event.retryInMs }, 'watch failed; retrying');
        return;
    }
  };
}
