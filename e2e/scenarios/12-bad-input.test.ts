import { beforeAll, describe, expect, it } from 'vitest';
import { testBed } from '../support/bed.js';
import { deployStatefulSet, expectedAddresses, fqdn, getService, sorted } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

describe('names that trip naive implementations', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    // A service whose name contains a cluster name: its mirror in west is "east-orders-east".
    await deployStatefulSet(bed.cluster('east'), 'shop-a', 'east-orders', 2);
    await deployStatefulSet(bed.cluster('north'), 'shop-a', 'east-orders', 1);
    // The same name in two namespaces: two globals that must never mix.
    await deployStatefulSet(bed.cluster('east'), 'shop-a', 'cart', 2);
    await deployStatefulSet(bed.cluster('east'), 'shop-b', 'cart', 3);
  });

  it('takes the original name from the annotation, so "east-orders" from east is not read as "orders"', async () => {
    const west = bed.cluster('west');
    await waitFor(
      'east-orders-global in west',
      async () => (await bed.dnsOf('west').a(fqdn('east-orders-global', 'shop-a'))).length === 3,
      120_000,
    );
    expect(await getService(west, 'shop-a', 'orders-global')).toBeUndefined();
    expect(await getService(west, 'shop-a', 'east-orders-global')).toMatchObject({
      metadata: { labels: { 'globalsvc.dev/global-of': 'east-orders' } },
    });
  });

  it('keeps the same name in two namespaces apart', async () => {
    for (const [ns, n] of [
      ['shop-a', 2],
      ['shop-b', 3],
    ] as const) {
      await waitFor(
        `cart-global in ${ns}`,
        async () => {
          const expected = await expectedAddresses(bed, 'west', ns, 'cart');
          return (
            expected.size === n &&
            JSON.stringify(await bed.dnsOf('west').a(fqdn('cart-global', ns))) === JSON.stringify(sorted(expected.values()))
          );
        },
        120_000,
      );
    }
  });
});
