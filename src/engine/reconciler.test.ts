import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../domain/k8s-types.js';
import type { ResourceType } from '../cluster/kube-api.js';
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
    this.objects.delete(`${type.kind}/${namespace}/${name}`);
  }
}

function engine() {
  const metrics = new Metrics();
  const log = createLogger('silent');
  const settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
  const index = new MemberIndex({ ...settings, includeLocal: true });
  const api = new FakeApi();
  const reconciler = new Reconciler(
    index,
    new PlanWriter(api, index, metrics),
    settings,
    new EventRecorder(undefined, log, metrics, 'test'),
    metrics,
    log,
  );
  return { index, api, reconciler, metrics };
}

describe('reconciling one key against the cache', () => {
  it('creates the Service and, in the same reconcile, its slices owned by it; then rests', async () => {
    const { index, api, reconciler } = engine();
    const local = localService('db');
    const east = mirrorService({ name: 'db', cluster: 'east' });
    index.serviceChanges(index.services.apply({ type: 'relisted', namespace: undefined, items: [local, east] }));
    index.sliceChanges(
      index.slices.apply({
        type: 'relisted',
        namespace: undefined,
        items: [
          memberSlice(local, [endpoint('10.1.0.1', { hostname: 'db-0' })]),
          memberSlice(east, [endpoint('10.96.0.9', { hostname: 'db-0' })]),
        ],
      }),
    );
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
});
