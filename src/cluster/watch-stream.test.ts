import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../domain/k8s-types.js';
import type { ListPage, WatchHandlers } from './kube-api.js';
import { KubeApi, KubeApiError, SERVICES } from './kube-api.js';
import { watchResource, type ResourceEvent } from './watch-stream.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const service = (name: string): KubeObject => ({ metadata: { name, namespace: 'data', resourceVersion: '1' } });

/** A cluster of `pages` list pages whose watch stays open, recording how it was asked. */
function fakeApi(pages: KubeObject[][]) {
  const calls = { lists: [] as (string | undefined)[], watchedFrom: [] as string[], open: [] as WatchHandlers[] };
  const api = {
    list: async (_type: unknown, _ns: unknown, query: { continue?: string }): Promise<ListPage<KubeObject>> => {
      calls.lists.push(query.continue);
      const i = Number(query.continue ?? 0);
      return { items: pages[i]!, resourceVersion: '42', continue: i + 1 < pages.length ? String(i + 1) : undefined };
    },
    // The real paging loop, over the fake's pages.
    listPages: KubeApi.prototype.listPages,
    listAll: KubeApi.prototype.listAll,
    watch: async (_type: unknown, _ns: unknown, query: { resourceVersion: string }, handlers: WatchHandlers) => {
      calls.watchedFrom.push(query.resourceVersion);
      // Held, as a real watch holds its handlers while the connection is open.
      calls.open.push(handlers);
      return new AbortController();
    },
  };
  return { api: api as unknown as KubeApi, calls };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('watchResource', () => {
  it('emits every page of the list as one relist, then watches from the version of the list', async () => {
    const { api, calls } = fakeApi([[service('a'), service('b')], [service('c')]]);
    const events: ResourceEvent<KubeObject>[] = [];
    const sub = watchResource(api, SERVICES, undefined).subscribe((e) => events.push(e));
    await settle();
    sub.unsubscribe();
    expect(calls.lists).toEqual([undefined, '1']);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'relisted', namespace: undefined });
    expect((events[0] as { items: KubeObject[] }).items.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(calls.watchedFrom).toEqual(['42']);
  });

  it('with pages, hands on each page as it arrives, first and last told, and is listed once the last is in', async () => {
    const { api, calls } = fakeApi([[service('a'), service('b')], [service('c')], [service('d')]]);
    const events: ResourceEvent<KubeObject>[] = [];
    const lifecycle: string[] = [];
    const sub = watchResource(api, SERVICES, 'data', {
      pages: true,
      transform: (o) => ({ metadata: { ...o.metadata, name: `${o.metadata.name}'` } }),
      onLifecycle: (e) => lifecycle.push(e.type === 'listed' ? `listed ${e.count}` : e.type),
    }).subscribe((e) => events.push(e));
    await settle();
    sub.unsubscribe();
    expect(calls.lists).toEqual([undefined, '1', '2']);
    expect(
      events.map((e) =>
        e.type === 'relisted' ? { names: e.items.map((o) => o.metadata.name), page: e.page, namespace: e.namespace } : e.type,
      ),
    ).toEqual([
      { names: ["a'", "b'"], page: { first: true, last: false }, namespace: 'data' },
      { names: ["c'"], page: { first: false, last: false }, namespace: 'data' },
      { names: ["d'"], page: { first: false, last: true }, namespace: 'data' },
    ]);
    expect(lifecycle).toEqual(['listed 4', 'watching']);
    expect(calls.watchedFrom).toEqual(['42']);
  });

  it('keeps nothing of the list alive while it watches: the objects are the cache’s to keep or drop', async () => {
    const { api, calls } = fakeApi([Array.from({ length: 100 }, (_, i) => service(`s${i}`))]);
    let listed: WeakRef<KubeObject[]> | undefined;
    const sub = watchResource(api, SERVICES, undefined).subscribe((e) => {
      if (e.type === 'relisted') listed = new WeakRef(e.items);
    });
    await settle();
    gc();
    expect(listed).toBeDefined();
    expect(calls.open).toHaveLength(1);
    expect(listed!.deref()).toBeUndefined();
    sub.unsubscribe();
  });

  it('hands on what the transform keeps, page by page and event by event, never the whole object', async () => {
    const { api, calls } = fakeApi([[service('a')], [service('b')]]);
    const seenWhole: string[] = [];
    const transform = (o: KubeObject): KubeObject => {
      seenWhole.push(o.metadata.name ?? '');
      return { metadata: { name: o.metadata.name?.toUpperCase() } };
    };
    const events: ResourceEvent<KubeObject>[] = [];
    const sub = watchResource(api, SERVICES, undefined, { transform }).subscribe((e) => events.push(e));
    await settle();
    calls.open[0]!.event('ADDED', service('c'));
    sub.unsubscribe();
    expect(seenWhole).toEqual(['a', 'b', 'c']);
    expect((events[0] as { items: KubeObject[] }).items).toEqual([{ metadata: { name: 'A' } }, { metadata: { name: 'B' } }]);
    expect(events[1]).toEqual({ type: 'added', object: { metadata: { name: 'C' } } });
  });

  it('resumes a watch that ended from the last version it saw, and relists after 410 Gone', async () => {
    const { api, calls } = fakeApi([[service('a')]]);
    const events: ResourceEvent<KubeObject>[] = [];
    const lifecycle: string[] = [];
    // Watches that end at once back off: 1 ms here.
    const sub = watchResource(api, SERVICES, undefined, {
      initialBackoffMs: 1,
      maxBackoffMs: 1,
      onLifecycle: (e) => lifecycle.push(e.type),
    }).subscribe((e) => events.push(e));
    await settle();
    calls.open[0]!.event('MODIFIED', { metadata: { name: 'a', resourceVersion: '50' } });
    calls.open[0]!.event('BOOKMARK', { metadata: { resourceVersion: '57' } });
    calls.open[0]!.done(null);
    await settle();
    expect(calls.watchedFrom).toEqual(['42', '57']);
    calls.open[1]!.done(new KubeApiError('watch', 'Service', '/api/v1/services', 410, 'Expired', 'too old resource version: 57 (60)'));
    await settle();
    sub.unsubscribe();
    expect(calls.lists).toEqual([undefined, undefined]);
    expect(calls.watchedFrom).toEqual(['42', '57', '42']);
    expect(lifecycle).toEqual(['listed', 'watching', 'reconnect', 'watching', 'gone', 'listed', 'watching']);
    expect(events.map((e) => e.type)).toEqual(['relisted', 'modified', 'relisted']);
  });

  it('backs off longer only for failures in a row: a watch that ran a while starts the backoff afresh', async () => {
    vi.useFakeTimers();
    try {
      const { api, calls } = fakeApi([[service('a')]]);
      const retries: number[] = [];
      const sub = watchResource(api, SERVICES, undefined, {
        initialBackoffMs: 100,
        maxBackoffMs: 10_000,
        onLifecycle: (e) => e.type === 'failed' && retries.push(e.retryInMs),
      }).subscribe();
      const fail = async (after: number) => {
        await vi.advanceTimersByTimeAsync(after);
        calls.open.at(-1)!.done(new Error('connection reset'));
        await vi.advanceTimersByTimeAsync(0);
      };
      await vi.advanceTimersByTimeAsync(0);
      for (let i = 0; i < 4; i++) await fail(i === 0 ? 10 : retries.at(-1)! + 10);
      const about = (ms: number, base: number) => ms >= base * 0.8 && ms <= base * 1.2;
      // Cut right after each reconnect: 100, 200, 400, 800 ms (±20%).
      expect(retries.map((ms, i) => about(ms, 100 * 2 ** i))).toEqual([true, true, true, true]);
      // A watch that then runs for a minute and is cut waits the first delay again.
      await fail(retries.at(-1)! + 60_000);
      expect(retries.at(-1), `${retries.join(', ')}`).toSatisfy((ms: number) => about(ms, 100));
      sub.unsubscribe();
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads a resource that is not served (a CRD not installed) as empty when optional, and looks again later', async () => {
    vi.useFakeTimers();
    try {
      const { api, calls } = fakeApi([[service('a')]]);
      const list = api.list.bind(api);
      let served = false;
      (api as { list: typeof api.list }).list = (type, ns, query) =>
        served
          ? list(type, ns, query)
          : Promise.reject(
              new KubeApiError('list', 'HTTPRoute', 'shop', 404, 'NotFound', 'the server could not find the requested resource'),
            );
      const events: ResourceEvent<KubeObject>[] = [];
      const lifecycle: string[] = [];
      const sub = watchResource(api, SERVICES, 'shop', {
        optional: true,
        maxBackoffMs: 30_000,
        onLifecycle: (e) => lifecycle.push(e.type),
      }).subscribe((e) => events.push(e));
      await vi.advanceTimersByTimeAsync(0);
      expect(events).toEqual([{ type: 'relisted', namespace: 'shop', items: [] }]);
      expect(lifecycle).toEqual(['absent']);
      served = true;
      await vi.advanceTimersByTimeAsync(30_000);
      expect(events.at(-1)).toMatchObject({ type: 'relisted', items: [{ metadata: { name: 'a' } }] });
      expect(calls.watchedFrom).toEqual(['42']);
      sub.unsubscribe();
    } finally {
      vi.useRealTimers();
    }
  });

  it('retries a watch at least every 5 s however long its API server is away, so that its cache is fresh soon after it is back', async () => {
    vi.useFakeTimers();
    try {
      const { api } = fakeApi([[service('a')]]);
      (api as { list: typeof api.list }).list = () => Promise.reject(new Error('connect ECONNREFUSED'));
      const retries: number[] = [];
      const sub = watchResource(api, SERVICES, undefined, {
        onLifecycle: (e) => e.type === 'failed' && retries.push(e.retryInMs),
      }).subscribe();
      await vi.advanceTimersByTimeAsync(120_000);
      sub.unsubscribe();
      expect(retries.length).toBeGreaterThan(20);
      expect(Math.max(...retries)).toBeLessThanOrEqual(6_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says a watch is live only when its API server took it, not when watch() hands back a watch it could not open', async () => {
    const { api } = fakeApi([[service('a')]]);
    let refuse = true;
    // KubeApi.watch(): a refused connection calls done(err) and still resolves with a controller.
    (api as { watch: typeof api.watch }).watch = async (_t, _n, _q, handlers) => {
      if (refuse) handlers.done(Object.assign(new TypeError('fetch failed'), {}));
      return new AbortController();
    };
    const seen: string[] = [];
    const sub = watchResource(api, SERVICES, undefined, {
      initialBackoffMs: 1,
      maxBackoffMs: 1,
      onLifecycle: (e) => seen.push(e.type),
    }).subscribe();
    await settle();
    expect(seen).toContain('failed');
    expect(seen).not.toContain('watching');
    refuse = false;
    await settle();
    sub.unsubscribe();
    expect(seen.at(-1)).toBe('watching');
  });
});
