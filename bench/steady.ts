import type { BenchBed } from './bed.js';
import { converged, waitUntil } from './converge.js';
import { informerFloor } from './floors.js';
import { ensureMembers } from './members.js';
import type { Sizes } from './main.js';

export interface SteadyResult {
  globals: number;
  seconds: number;
  /** Writes and API requests during the window (watch reconnects are requests). */
  writes: number;
  requests: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  heapStartMiB: number;
  heapEndMiB: number;
  /** Least-squares slope of RSS over the window. */
  rssSlopeMiBPerMin: number;
  /** A bare informer of the same namespace over the same window. */
  informerRssMiB: number;
}

function slope(points: { t: number; v: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.v - mv), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** Steady state: a converged controller left alone writes nothing and keeps its memory flat. */
export async function steady(bed: BenchBed, namespace: string, sizes: Sizes, log: (l: string) => void): Promise<SteadyResult> {
  const G = sizes.churnGlobals;
  const E = sizes.endpointsPerMember;
  await ensureMembers(bed, namespace, G, E, log);
  const product = await bed.startProduct(namespace);
  await waitUntil(product, (s) => converged(s, G), 1_800_000);
  // Start-up garbage is not steady state: let the first collections run.
  await new Promise((r) => setTimeout(r, 5_000));
  const first = await product.scrape();
  const windowMs = sizes.steadySeconds * 1000;
  const intervalMs = Math.max(1_000, windowMs / 60);
  const samples: { t: number; v: number }[] = [];
  const started = Date.now();
  const floor = informerFloor(bed.cluster.kubeconfig, namespace, 'client', windowMs);
  while (Date.now() - started < windowMs) {
    samples.push({ t: (Date.now() - started) / 60_000, v: product.memory().rssMiB });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const last = await product.scrape();
  const informer = await floor;
  const peak = product.memory();
  await product.stop();
  const result: SteadyResult = {
    globals: G,
    seconds: sizes.steadySeconds,
    writes: last.value('globalsvc_api_writes_total') - first.value('globalsvc_api_writes_total'),
    requests: last.value('globalsvc_api_requests_total') - first.value('globalsvc_api_requests_total'),
    rssStartMiB: samples[0]?.v ?? peak.rssMiB,
    rssEndMiB: peak.rssMiB,
    rssMaxMiB: Math.max(...samples.map((s) => s.v), peak.rssMiB),
    heapStartMiB: first.value('globalsvc_nodejs_heap_size_used_bytes') / 2 ** 20,
    heapEndMiB: last.value('globalsvc_nodejs_heap_size_used_bytes') / 2 ** 20,
    rssSlopeMiBPerMin: slope(samples),
    informerRssMiB: informer.rssMiB,
  };
  log(
    `steady ${G} globals, ${sizes.steadySeconds} s: ${result.writes} writes, RSS ${result.rssStartMiB.toFixed(0)} → ${result.rssEndMiB.toFixed(0)} MiB`,
  );
  return result;
}
