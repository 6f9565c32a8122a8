import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { violations } from '../support/invariants.js';
import { deployStatefulSet, expectedAddresses, fqdn, slicesOf, sorted } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'big';
const REPLICAS = 250;

describeOnBed('a member with 250 endpoints', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await deployStatefulSet(bed.cluster('east'), NS, 'shard', REPLICAS);
  });

  it('is split across slices under the limit, and DNS lists every endpoint', async () => {
    const west = bed.cluster('west');
    const started = Date.now();
    const expected = await waitFor(
      `all ${REPLICAS} endpoint mirrors of east in west`,
      async () => {
        const e = await expectedAddresses(bed, 'west', NS, 'shard');
        return e.size === REPLICAS ? e : undefined;
      },
      240_000,
      1_000,
    );
    await waitFor(
      `shard-global in west to resolve to ${REPLICAS} addresses`,
      async () => JSON.stringify(await bed.dnsOf('west').a(fqdn('shard-global', NS))) === JSON.stringify(sorted(expected.values())),
      120_000,
      1_000,
    );
    console.log(`scenario g: ${REPLICAS} endpoints converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const slices = await slicesOf(west, NS, 'shard-global');
    // Slices fill as Linkerd mirrors the pods in batches, never rebalanced: at least 3, none over 100.
    expect(slices.length).toBeGreaterThanOrEqual(3);
    for (const slice of slices) expect(slice.endpoints!.length).toBeLessThanOrEqual(100);
    expect(sorted(slices.flatMap((s) => s.endpoints!.map((e) => e.hostname!)))).toEqual(sorted(expected.keys()));
    expect(await violations(west)).toEqual([]);
  });
});
