import type { BenchBed } from './bed.js';
import { converged, waitUntil } from './converge.js';
import { SOURCE_CLUSTERS, createMembers } from './fixtures.js';
import { bestWriteFloor, informerFloor, writeFloor } from './floors.js';

export interface ColdResult {
  globals: number;
  endpointsPerMember: number;
  clusters: number;
  /** Seconds from the controller's process start until every global is converged. */
  convergedS: number;
  /**
   * Seconds a bare client takes to create the same objects at its best concurrency: the fastest of
   * FLOOR_IN_FLIGHT before globalsvc runs, and that concurrency once more after (their mean).
   */
  floorS: number;
  /** The requests in flight of the fastest floor, and each one's seconds before globalsvc ran. */
  floorInFlight: number;
  floorByInFlight: Record<number, number>;
  ratio: number;
  writes: number;
  /** Objects globalsvc had to create: G Services and the slices of 3 clusters. */
  objects: number;
  writesPerObject: number;
  requests: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** RSS and V8 heap in use once converged. */
  rssMiB: number;
  heapUsedMiB: number;
  /** Peak RSS of a bare informer holding the same namespace's objects, and its object count. */
  informerRssMiB: number;
  informerObjects: number;
}

/**
 * Cold start: G globals' members already exist when globalsvc starts; wall time until every
 * global is converged, against a bare client creating the same objects.
 */
export async function coldStart(
  bed: BenchBed,
  globals: number,
  perMember: number,
  log: (l: string) => void,
  /** Measure the write floor (the cold table); growth's points do without (their floor is the informer's). */
  withWriteFloor = true,
): Promise<ColdResult> {
  const ns = `cold-${globals}x${perMember}`;
  const admin = bed.cluster.admin;
  const setup = Date.now();
  await createMembers(admin, ns, globals, perMember);
  log(`cold ${globals}x${perMember}: members written in ${((Date.now() - setup) / 1000).toFixed(1)} s`);
  const best = withWriteFloor ? await bestWriteFloor(admin, `${ns}-floor`, globals, perMember) : { ms: NaN, inFlight: NaN, byInFlight: {} };
  if (withWriteFloor)
    log(
      `cold ${globals}x${perMember}: write floor ${Object.entries(best.byInFlight)
        .map(([n, ms]) => `${(ms / 1000).toFixed(1)} s @${n}`)
        .join(', ')}`,
    );

  const slicesPerCluster = Math.ceil(perMember / 100);
  const objects = globals * (1 + SOURCE_CLUSTERS.length * slicesPerCluster);
  const product = await bed.startProduct(ns);
  // Counted at plan time, globals and endpoints run ahead of the writes still in flight: wait for those too.
  const { scrape, ageSeconds } = await waitUntil(
    product,
    (s) => converged(s, globals, perMember) && s.value('globalsvc_api_writes_total', { result: 'success' }) >= objects,
    1_800_000,
  );
  const cpu = product.cpuSeconds();
  const mem = product.memory();
  await product.stop();

  const after = withWriteFloor ? await writeFloor(admin, `${ns}-floor-after`, globals, perMember, best.inFlight) : NaN;
  const floorS = (best.ms + after) / 2 / 1000;
  const informer = await informerFloor(bed.cluster.kubeconfig, ns);
  const writes = scrape.value('globalsvc_api_writes_total');
  const result: ColdResult = {
    globals,
    endpointsPerMember: perMember,
    clusters: SOURCE_CLUSTERS.length,
    convergedS: ageSeconds,
    floorS,
    floorInFlight: best.inFlight,
    floorByInFlight: Object.fromEntries(Object.entries(best.byInFlight).map(([n, ms]) => [n, ms / 1000])),
    ratio: ageSeconds / floorS,
    writes,
    objects,
    writesPerObject: writes / objects,
    requests: scrape.value('globalsvc_api_requests_total'),
    cpuSeconds: cpu,
    peakRssMiB: mem.peakRssMiB,
    rssMiB: mem.rssMiB,
    heapUsedMiB: scrape.value('globalsvc_nodejs_heap_size_used_bytes') / 2 ** 20,
    informerRssMiB: informer.peakRssMiB,
    informerObjects: informer.objects,
  };
  log(
    `cold ${globals}x${perMember}: converged ${ageSeconds.toFixed(1)} s (floor ${floorS.toFixed(1)} s), peak RSS ${mem.peakRssMiB.toFixed(0)} MiB (informer ${informer.peakRssMiB.toFixed(0)} MiB)`,
  );
  return result;
}
