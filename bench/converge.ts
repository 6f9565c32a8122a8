import type { ProductRun, Scrape } from './bed.js';
import { SOURCE_CLUSTERS } from './fixtures.js';

/**
 * Every global of G is published and nothing is queued; with `perMember`, with all the members'
 * initial endpoints too (omit it once churn has changed them).
 */
export function converged(s: Scrape, globals: number, perMember?: number): boolean {
  return (
    s.value('globalsvc_caches_synced') === 1 &&
    s.value('globalsvc_globals', { state: 'published' }) === globals &&
    (perMember === undefined || s.value('globalsvc_endpoints') === SOURCE_CLUSTERS.length * globals * perMember) &&
    s.value('globalsvc_queue_depth') === 0
  );
}

/**
 * Polls the product every 100 ms until `done`; returns the scrape that satisfied it and the
 * product's age then (from /proc: the clock starts when the process does, not when we asked).
 */
export async function waitUntil(
  product: ProductRun,
  done: (s: Scrape) => boolean,
  timeoutMs: number,
): Promise<{ scrape: Scrape; ageSeconds: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const scrape = await product.scrape();
      const ageSeconds = product.ageSeconds();
      if (done(scrape)) return { scrape, ageSeconds };
    } catch {
      // not serving metrics yet
    }
    if (Date.now() > deadline) throw new Error(`globalsvc did not converge within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
