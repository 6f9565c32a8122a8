import { describe, expect, it, vi } from 'vitest';
import type { EndpointSlice, KubeObject } from '../domain/k8s-types.js';
import type { ResourceType } from '../cluster/kube-api.js';
import type { ResourceEvent } from '../cluster/watch-stream.js';
import { EventRecorder } from '../observability/events.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { endpoint, localService, memberSlice, mirrorService } from '../test-support/builders.js';
import { mergePatch } from '../test-support/merge-patch.js';
import { MemberIndex } from './member-index.js';
import { Reconciler } from './reconciler.js';
import { PlanWriter, type ClusterWriter } from './writer.js';

/** An API that keeps objects in memory and answers writes the way the API server does. */
class FakeApi implements ClusterWriter {
  readonly calls: string[] = [];
  readonly objects = new Map<string, KubeObject>();
  /** Called with what a write stored, before its answer returns: the watch's echo, delivered first as it often is. */
  echo: (type: ResourceType, stored: KubeObject, deleted: boolean) => void = () => {};
  private version = 1000;

  async create<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    const key = `${type.kind}/${object.metadata.namespace}/${object.metadata.name}`;
    this.calls.push(`create ${key}`);
    if (this.objects.has(key)) throw new Error('409 AlreadyExists');
    const stored = {
      ...structuredClone(object),
      metadata: { ...object.metadata, uid: `uid-${object.metadata.name}`, resourceVersion: String(++this.version) },
    };
    this.objects.set(key, stored);
    this.echo(type, stored, false);
    return stored;
  }

  async apply<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    const key = `${type.kind}/${object.metadata.namespace}/${object.metadata.name}`;
    this.calls.push(`apply ${key}`);
    const stored = {
      ...structuredClone(object),
      metadata: { ...object.metadata, uid: this.objects.get(key)?.metadata.uid, resourceVersion: String(++this.version) },
    };
    this.objects.set(key, stored);
    this.echo(type, stored, false);
    return stored;
  }

  async update<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    const key = `${type.kind}/${object.metadata.namespace}/${object.metadata.name}`;
    this.calls.push(`update ${key}`);
    const current = this.objects.get(key);
    if (!current) throw new Error('404 NotFound');
    if (object.metadata.resourceVersion !== current.metadata.resourceVersion) throw new Error('409 Conflict');
    const stored = {
      ...structuredClone(object),
      metadata: { ...object.metadata, uid: current.metadata.uid, resourceVersion: String(++this.version) },
    };
    this.objects.set(key, stored);
    this.echo(type, stored, false);
    return stored;
  }

  async patch<T extends KubeObject>(type: ResourceType, namespace: string, name: string, patch: object): Promise<T> {
    const key = `${type.kind}/${namespace}/${name}`;
    this.calls.push(`patch ${key}`);
    const current = this.objects.get(key);
    if (!current) throw new Error('404 NotFound');
    const stored = mergePatch(current, patch) as T;
    stored.metadata.resourceVersion = String(++this.version);
    this.objects.set(key, stored);
    return stored;
  }

  async delete(type: ResourceType, namespace: string, name: string): Promise<void> {
    this.calls.push(`delete ${type.kind}/${namespace}/${name}`);
    const gone = this.objects.get(`${type.kind}/${namespace}/${name}`);
    this.objects.delete(`${type.kind}/${namespace}/${name}`);
    if (gone) this.echo(type, gone, true);
  }
}

function engine(changed: (keys: Set<string>) => void = () => {}) {
  const metrics = new Metrics();
  const log = createLogger('silent');
  const settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
  const index = new MemberIndex({ ...settings, includeLocal: true });
  const api = new FakeApi();
  const recorder = new EventRecorder(undefined, log, metrics, 'test');
  const reconciler = new Reconciler(index, new PlanWriter(api, index, metrics, undefined, changed), settings, recorder, metrics, log);
  return { index, api, reconciler, metrics, recorder };
}

/** db: a local Service and east's mirror, one pod each, listed into the cache. */
function localAndEast(index: MemberIndex, localHostname = 'db-0'): void {
  const local = localService('db');
  const east = mirrorService({ name: 'db', cluster: 'east' });
  index.serviceChanges(index.services.apply({ type: 'relisted', namespace: undefined, items: [local, east] }));
  index.sliceChanges(
    index.slices.apply({
      type: 'relisted',
      namespace: undefined,
      items: [
        memberSlice(local, [endpoint('10.1.0.1', { hostname: localHostname })]),
        memberSlice(east, [endpoint('10.96.0.9', { hostname: 'db-0' })]),
      ],
    }),
  );
}

describe('reconciling one key against the cache', () => {
  it('creates the Service and, in the same reconcile, its slices owned by it; then rests', async () => {
    const { index, api, reconciler } = engine();
    localAndEast(index);
    await reconciler.reconcile('data/db');
    expect(api.calls).toEqual([
      'create Service/data/db-global',
      expect.stringMatching(/^create EndpointSlice\/data\/db-global-(east|west)-/),
      expect.stringMatching(/^create EndpointSlice\/data\/db-global-(east|west)-/),
    ]);
    const slice = [...api.objects.values()].find((o) => o.kind === 'EndpointSlice')!;
    expect(slice.metadata.ownerReferences?.[0]?.uid).toBe('uid-db-global');

    // The watch has not delivered our writes yet; the write responses in the cache suffice.
    api.calls.length = 0;
    await reconciler.reconcile('data/db');
    expect(api.calls).toEqual([]);
  });

  // 60 characters: with "-west" over a DNS label's 63.
  const longHostname = `h${'y'.repeat(59)}`;

  it("tells a new global's problems on the global it creates, not on a mirror", async () => {
    const { index, reconciler, recorder } = engine();
    const told = vi.spyOn(recorder, 'record');
    localAndEast(index, longHostname);
    await reconciler.reconcile('data/db');
    expect(told.mock.calls.map(([target, , reason]) => `${reason} on ${target.name}`)).toEqual(['HostnameRewritten on db-global']);
    expect(told.mock.calls[0]![0].uid).toBe('uid-db-global');
  });

  it("still tells a new global's problems when creating it fails, on the mirror there is", async () => {
    const { index, api, reconciler, recorder } = engine();
    const told = vi.spyOn(recorder, 'record');
    vi.spyOn(api, 'create').mockRejectedValue(new Error('503 ServiceUnavailable'));
    localAndEast(index, longHostname);
    await expect(reconciler.reconcile('data/db')).rejects.toThrow('503');
    expect(told.mock.calls.map(([target, , reason]) => `${reason} on ${target.name}`)).toEqual(['HostnameRewritten on db-east']);
  });

  it('counts what it publishes for the metrics', async () => {
    const { index, reconciler, metrics } = engine();
    const east = mirrorService({ name: 'db', cluster: 'east' });
    index.serviceChanges(index.services.apply({ type: 'relisted', namespace: undefined, items: [east] }));
    index.sliceChanges(
      index.slices.apply({
        type: 'relisted',
        namespace: undefined,
        items: [memberSlice(east, [endpoint('10.96.0.9', { hostname: 'db-0' }), endpoint('10.96.0.10', { hostname: 'db-1' })])],
      }),
    );
    await reconciler.reconcile('data/db');
    const text = await metrics.render();
    expect(text).toContain('globalsvc_globals{state="published"} 1');
    expect(text).toContain('globalsvc_endpoints{source_cluster="east"} 2');
    expect(text).toMatch(/globalsvc_api_writes_total\{verb="create",kind="EndpointSlice",result="success"\} 1/);
  });

  it('keeps its sums right as keys change and go (a scrape reads sums, not every key)', async () => {
    const { index, reconciler, metrics } = engine();
    const east = mirrorService({ name: 'db', cluster: 'east' });
    const north = mirrorService({ name: 'cache', cluster: 'north' });
    const slices = (dbEndpoints: number) => [
      memberSlice(
        east,
        Array.from({ length: dbEndpoints }, (_, i) => endpoint(`10.96.0.${i + 1}`, { hostname: `db-${i}` })),
      ),
      memberSlice(north, [endpoint('10.97.0.1', { hostname: 'cache-0' })]),
    ];
    index.serviceChanges(index.services.apply({ type: 'relisted', namespace: undefined, items: [east, north] }));
    index.sliceChanges(index.slices.apply({ type: 'relisted', namespace: undefined, items: slices(3) }));
    await reconciler.reconcile('data/db');
    await reconciler.reconcile('data/cache');
    let text = await metrics.render();
    expect(text).toContain('globalsvc_globals{state="published"} 2');
    expect(text).toContain('globalsvc_endpoints{source_cluster="east"} 3');
    expect(text).toContain('globalsvc_endpoints{source_cluster="north"} 1');

    const withVersion = <T extends KubeObject>(o: T, rv: string): T => ({ ...o, metadata: { ...o.metadata, resourceVersion: rv } });
    index.sliceChanges(index.slices.apply({ type: 'modified', object: withVersion(slices(1)[0]!, '2') }));
    await reconciler.reconcile('data/db');
    await reconciler.reconcile('data/db');
    text = await metrics.render();
    expect(text).toContain('globalsvc_endpoints{source_cluster="east"} 1');

    index.serviceChanges(index.services.apply({ type: 'deleted', object: north }));
    index.sliceChanges(index.slices.apply({ type: 'deleted', object: slices(1)[1]! }));
    await reconciler.reconcile('data/cache');
    text = await metrics.render();
    expect(text).toContain('globalsvc_globals{state="published"} 1');
    expect(text).not.toContain('source_cluster="north"');
    expect(index.classificationCounts().get('member')).toBe(1);
  });

  describe("the watch's echo of a write, delivered before the write's answer", () => {
    /** The echo as the controller takes a watch event: into the index, its keys marked dirty. */
    function echoing(dirty: string[], edit?: (stored: KubeObject) => KubeObject | undefined) {
      const e = engine((keys) => dirty.push(...keys));
      const deliver = (kind: string, event: ResourceEvent<KubeObject>) =>
        dirty.push(
          ...(kind === 'Service'
            ? e.index.serviceChanges(e.index.services.apply(event))
            : e.index.sliceChanges(e.index.slices.apply(event as ResourceEvent<EndpointSlice>))),
        );
      e.api.echo = (type, stored, deleted) => {
        deliver(type.kind, { type: deleted ? 'deleted' : 'modified', object: structuredClone(stored) });
        // Someone else's change of the same object, right after ours and before our answer.
        const theirs = edit?.(stored);
        if (theirs) deliver(type.kind, { type: 'modified', object: theirs });
      };
      return e;
    }

    it('is known as ours: it dirties no key, and the cache holds what was written', async () => {
      const dirty: string[] = [];
      const { index, api, reconciler } = echoing(dirty);
      localAndEast(index);
      await reconciler.reconcile('data/db');
      expect(api.calls).toHaveLength(3);
      expect(dirty).toEqual([]);
      for (const o of api.objects.values()) {
        const store = o.kind === 'Service' ? index.services : index.slices;
        expect(store.get('data', o.metadata.name!)?.metadata.resourceVersion).toBe(o.metadata.resourceVersion);
      }
      // The same goes for a delete's echo: the last remote member gone, the global goes with its slices.
      index.serviceChanges(index.services.apply({ type: 'deleted', object: mirrorService({ name: 'db', cluster: 'east' }) }));
      api.calls.length = 0;
      await reconciler.reconcile('data/db');
      expect(api.calls).toEqual([
        'delete Service/data/db-global',
        expect.stringMatching(/^delete EndpointSlice\/data\/db-global-east-/),
        expect.stringMatching(/^delete EndpointSlice\/data\/db-global-west-/),
      ]);
      expect(index.services.get('data', 'db-global')).toBeUndefined();
      expect(dirty).toEqual([]);
    });

    it("still dirties the key for someone else's change that came while we wrote", async () => {
      const dirty: string[] = [];
      let edited = false;
      const { index, reconciler } = echoing(dirty, (stored) => {
        if (edited || stored.kind !== 'EndpointSlice') return undefined;
        edited = true;
        const theirs = structuredClone(stored) as KubeObject & { endpoints: unknown[] };
        theirs.endpoints = [];
        theirs.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 500);
        return theirs;
      });
      localAndEast(index);
      await reconciler.reconcile('data/db');
      expect(dirty).toEqual(['data/db']);
    });
  });
});
