import { beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, getService, slicesOf, squatterService, namespaceEverywhere } from '../support/workloads.js';
import { eventAbout } from '../support/events.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'squat';

describeOnBed('a Service of the global name that someone else owns', () => {
  let bed: TestBed;
  let before: Service;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    before = await squatterService(bed.cluster('west'), NS, 'cache-global');
    await deployStatefulSet(bed.cluster('east'), NS, 'cache', 2);
  });

  it('is left untouched, and a Warning event on it says why', async () => {
    const west = bed.cluster('west');
    const event = await eventAbout(west, NS, 'cache-global', 'GlobalNameTaken');
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/squat\/cache-global exists and is not managed by globalsvc/);
    const after = await getService(west, NS, 'cache-global');
    expect(after!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after!.spec).toEqual(before.spec);
    // Its own (empty) slice from the endpointslice controller stays; none of ours feeds it.
    expect(
      (await slicesOf(west, NS, 'cache-global')).filter(
        (s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev',
      ),
    ).toEqual([]);
    expect(await bed.product.metric('west', 'globalsvc_globals', { state: 'blocked' })).toBeGreaterThanOrEqual(1);
  });

  it('does not stop the same global in the clusters where the name is free', async () => {
    const north = bed.cluster('north');
    await waitFor('cache-global in north', async () => (await slicesOf(north, NS, 'cache-global')).length === 1, 120_000);
    expect(await bed.product.metric('north', 'globalsvc_globals', { state: 'blocked' })).toBe(0);
    expect((await getService(north, NS, 'cache-global'))!.metadata.labels!['app.kubernetes.io/managed-by']).toBe('globalsvc');
  });
});
