import { Observable } from 'rxjs';
import type { KubeObject } from '../domain/k8s-types.js';
import type { KubeApi, ResourceType } from './kube-api.js';
import { KubeApiError } from './kube-api.js';
import { backoffDelay, retryDelay } from './error-policy.js';

/**
 * What a watched collection says: a full (re)list, then one change at a time. A relist taken page by
 * page (`pages`) comes as one `relisted` event per page, the first and the last told: what the last
 * page ends is the relist, and only then is anything the relist did not bring gone.
 */
export type ResourceEvent<T extends KubeObject> =
  | { type: 'relisted'; namespace: string | undefined; items: T[]; page?: RelistPage }
  | { type: 'added' | 'modified' | 'deleted'; object: T };

/** Which page of a relist an event is; a relist without it is one page, first and last. */
export interface RelistPage {
  first: boolean;
  last: boolean;
}

/**
 * The watch lifecycle in a small vocabulary that logs and metrics subscribe to, instead of
 * ad-hoc lines: listed (with the count), reconnect (a watch ended normally), gone (410, a relist
 * follows), failed (an error, a backoff follows).
 */
export type WatchLifecycle =
  | { type: 'listed'; resource: string; namespace: string | undefined; count: number; ms: number }
  /** A watch that ended without an error, resumed: the API server ended it, or it was quiet for 30 s. */
  | { type: 'reconnect'; resource: string; namespace: string | undefined; ended: 'server' | 'idle' }
  /** The API server accepted a watch: what follows is live (after a failure, the server answers again). */
  | { type: 'watching'; resource: string; namespace: string | undefined }
  | { type: 'gone'; resource: string; namespace: string | undefined }
  | { type: 'failed'; resource: string; namespace: string | undefined; error: unknown; retryInMs: number }
  | { type: 'absent'; resource: string; namespace: string | undefined; retryInMs: number };

export interface WatchOptions<T extends KubeObject = KubeObject> {
  labelSelector?: string;
  pageSize?: number;
  /**
   * First retry delay after an error; doubles up to maxBackoffMs (5 s), with ±20% jitter. The cap
   * is low on purpose: a refused connection costs nothing, and a watch asleep for 30 s when its API
   * server comes back leaves the cache stale that long (the soak saw 15-30 s).
   */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * What to keep of each object, applied as it arrives: to every page of a list (so a relist of
   * 100,000 objects never holds them whole) and to every watch event. Like client-go's SetTransform.
   */
  transform?: (object: T) => T;
  onLifecycle?: (event: WatchLifecycle) => void;
  /**
   * A resource whose CRD may not be installed (Gateway API, SMI): a 404 on the list reads as an
   * empty collection (`absent`), looked for again every 30 s, instead of a failure.
   */
  optional?: boolean;
  /**
   * A relist handed on page by page (`relisted` events with `page`), each as it arrives, not
   * gathered into one list first: for the caches of Services and EndpointSlices, whose relist at
   * 10,000 globals is 100,000 objects that would all be held at once, transformed, until the last
   * page (docs/benchmarks.md, issue 18's thirteenth session). The consumer must take the pages.
   */
  pages?: boolean;
}

/** How often a resource that is not served (no CRD) is looked for again. */
const ABSENT_RETRY_MS = 30_000;

/** A watch that lasted this long was healthy: its end does not count toward the backoff. */
const HEALTHY_WATCH_MS = 1_000;

type WatchEnd = { kind: 'closed'; ended: 'server' | 'idle' } | { kind: 'gone' } | { kind: 'failed'; error: unknown };

/**
 * A reflector's input as an Observable: list (paged), then watch from the list's resourceVersion
 * with bookmarks; a watch that ends is resumed from the last resourceVersion seen, a 410 Gone
 * relists, and any other error retries with exponential backoff. Unsubscribing stops it all.
 */
export function watchResource<T extends KubeObject>(
  api: KubeApi,
  type: ResourceType,
  namespace: string | undefined,
  options: WatchOptions<T> = {},
): Observable<ResourceEvent<T>> {
  const {
    labelSelector,
    pageSize = 500,
    initialBackoffMs = 500,
    maxBackoffMs = 5_000,
    transform = (object: T) => object,
    onLifecycle = () => {},
    optional = false,
    pages = false,
  } = options;
  const resource = type.plural;

  return new Observable<ResourceEvent<T>>((subscriber) => {
    let stopped = false;
    let abort: AbortController | undefined;
    let wake: (() => void) | undefined;
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    const watchOnce = (resourceVersion: string, advance: (rv: string) => void) =>
      new Promise<WatchEnd>((resolve) => {
        // watch() resolves after a refused watch too (done() already called).
        let finished = false;
        api
          .watch(
            type,
            namespace,
            { resourceVersion, labelSelector },
            {
              event: (phase, object) => {
                if (object?.metadata?.resourceVersion) advance(object.metadata.resourceVersion);
                if (phase === 'BOOKMARK') return;
                const t = phase.toLowerCase();
                if (t === 'added' || t === 'modified' || t === 'deleted') subscriber.next({ type: t, object: transform(object as T) });
              },
              done: (err, ending) => {
                finished = true;
                if (err instanceof KubeApiError && err.gone) resolve({ kind: 'gone' });
                // Ended by the API server, or quiet for a while: an ordinary reconnect.
                else if (!err || stopped) resolve({ kind: 'closed', ended: ending === 'idle' ? 'idle' : 'server' });
                else resolve({ kind: 'failed', error: err });
              },
            },
          )
          .then((controller) => {
            abort = controller;
            if (stopped) controller.abort();
            else if (!finished) onLifecycle({ type: 'watching', resource, namespace });
          })
          .catch((error: unknown) => resolve({ kind: 'failed', error }));
      });

    // Its own function, returning only the version: a suspended async frame keeps every local it
    // ever held, and `run` waits on the watch for minutes, so a list held there stays in memory
    // (whole, before any transform) as long as the watch runs.
    const relist = async (): Promise<string | undefined> => {
      const started = Date.now();
      if (pages) return relistByPage(started);
      const listed = await api.listAll<T>(type, namespace, { labelSelector, pageSize, transform });
      if (stopped) return undefined;
      subscriber.next({ type: 'relisted', namespace, items: listed.items });
      onLifecycle({ type: 'listed', resource, namespace, count: listed.items.length, ms: Date.now() - started });
      return listed.resourceVersion;
    };

    /** The same list, each page handed on as it arrives: a consistent snapshot as of the first page. */
    const relistByPage = async (started: number): Promise<string | undefined> => {
      let count = 0;
      let first = true;
      for await (const page of api.listPages<T>(type, namespace, { labelSelector, pageSize })) {
        if (stopped) return undefined;
        count += page.items.length;
        subscriber.next({ type: 'relisted', namespace, items: page.items.map(transform), page: { first, last: !page.continue } });
        first = false;
        if (page.continue) continue;
        onLifecycle({ type: 'listed', resource, namespace, count, ms: Date.now() - started });
        return page.resourceVersion;
      }
      return undefined;
    };

    const run = async () => {
      let resourceVersion: string | undefined;
      let attempt = 0;
      let watchStarted = 0;
      while (!stopped) {
        try {
          if (resourceVersion === undefined) {
            resourceVersion = await relist();
            if (stopped || resourceVersion === undefined) return;
          }
          watchStarted = Date.now();
          const end = await watchOnce(resourceVersion, (rv) => (resourceVersion = rv));
          if (stopped) return;
          if (end.kind === 'failed') throw end.error;
          // A watch the server ends at once, again and again, must not become a busy loop.
          attempt = Date.now() - watchStarted < HEALTHY_WATCH_MS ? attempt + 1 : 0;
          if (attempt > 0) await sleep(backoffDelay(attempt, initialBackoffMs, maxBackoffMs));
          if (end.kind === 'gone') {
            resourceVersion = undefined;
            onLifecycle({ type: 'gone', resource, namespace });
          } else onLifecycle({ type: 'reconnect', resource, namespace, ended: end.ended });
        } catch (error) {
          if (stopped) return;
          if (optional && error instanceof KubeApiError && error.notFound) {
            resourceVersion = undefined;
            subscriber.next({ type: 'relisted', namespace, items: [] });
            onLifecycle({ type: 'absent', resource, namespace, retryInMs: ABSENT_RETRY_MS });
            await sleep(ABSENT_RETRY_MS);
            continue;
          }
          if (error instanceof KubeApiError && error.gone) resourceVersion = undefined;
          // A watch that ran a while before it failed starts the backoff afresh: only failures in a
          // row wait longer and longer, not every blip of a long life.
          if (watchStarted > 0 && Date.now() - watchStarted >= HEALTHY_WATCH_MS) attempt = 0;
          watchStarted = 0;
          attempt++;
          const retryInMs = retryDelay(error, attempt, { initialMs: initialBackoffMs, maxMs: maxBackoffMs }) ?? maxBackoffMs;
          onLifecycle({ type: 'failed', resource, namespace, error, retryInMs });
          await sleep(retryInMs);
        }
      }
    };
    void run();

    return () => {
      stopped = true;
      abort?.abort();
      wake?.();
    };
  });
}
