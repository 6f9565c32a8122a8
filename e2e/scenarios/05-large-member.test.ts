import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { violations } from '../support/invariants.js';
import { deployStatefulSet, expectedAddresses, fqdn, slicesOf, sorted, namespaceEverywhere } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'big';
// Linkerd's mirror makes two objects per remote pod of a headless service through a client held to
// client-go's default 5 requests/s, one link's events in one queue: 250 pods took it over 5 minutes
// here, holding up every other service of that link (docs/testbed.md). So the member is 40 pods and
// west's slices hold 16 endpoints at most, for the same split: 40 = 16 + 16 + 8. A local member of
// 5,000 endpoints is e2e 12's.
const REPLICAS = 40;
const PER_SLICE = 16;

describeOnBed(`a member with more endpoints than a slice holds (${REPLICAS}, ${PER_SLICE} a slice)`, () => {
  let bed: TestBed;
  let installedArgs: string[] | undefined;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    installedArgs = [...bed.product.instance('west').args];
    await bed.product.restartWith('west', [...installedArgs, `--max-endpoints-per-slice=${PER_SLICE}`]);
    await deployStatefulSet(bed.cluster('east'), NS, 'shard', REPLICAS);
  });

  afterAll(async () => {
    if (installedArgs) await bed.product.restartWith('west', installedArgs);
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
    // Slices fill as Linkerd mirrors the pods in batches, never rebalanced: at least 3, none over the limit.
    expect(slices.length).toBeGreaterThanOrEqual(3);
    for (const slice of slices) expect(slice.endpoints!.length).toBeLessThanOrEqual(PER_SLICE);
    expect(sorted(slices.flatMap((s) => s.endpoints!.map((e) => e.hostname!)))).toEqual(sorted(expected.keys()));
    expect(await violations(west, PER_SLICE)).toEqual([]);
  });

  it("runs on V8's interpreter, and turns V8's compilers on once its caches reach --compilers-above-objects", async () => {
    // The bed holds far fewer objects than the default threshold: no compiler yet.
    expect(await bed.product.metric('west', 'globalsvc_v8_compilers')).toBe(0);
    // Small, it keeps V8's heap small too (src/observability/small-heap.ts): the count of the full collections it asked for is served.
    expect(await bed.product.metrics('west')).toMatch(/^globalsvc_v8_small_heap_collections_total \d+$/m);
    const log = bed.product.logFile('west');
    const from = statSync(log).size;
    const threshold = REPLICAS; // west caches more: the 40 endpoint mirrors' Services and their slices
    await bed.product.restartWith('west', [
      ...installedArgs!,
      `--max-endpoints-per-slice=${PER_SLICE}`,
      `--compilers-above-objects=${threshold}`,
    ]);
    await waitFor(
      'globalsvc_v8_compilers 1 in west',
      async () => (await bed.product.metric('west', 'globalsvc_v8_compilers')) === 1,
      30_000,
    );
    const line = readFileSync(log, 'utf8')
      .slice(from)
      .split('\n')
      .find((l) => l.includes("V8's compilers on"));
    expect(line, "the log's line").toBeDefined();
    const cached = Number(/"reason":"(\d+) objects cached"/.exec(line!)?.[1]);
    expect(cached).toBeGreaterThanOrEqual(threshold);
    // With the compilers on, V8 alone sizes the heap: no more collections asked for.
    const asked = await bed.product.metric('west', 'globalsvc_v8_small_heap_collections_total');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await bed.product.metric('west', 'globalsvc_v8_small_heap_collections_total')).toBe(asked);
  });
});
