import type { BenchBed } from './bed.js';
import { converged, waitUntil } from './converge.js';
import { SOURCE_CLUSTERS, createMembers } from './fixtures.js';
import { bestWriteFloor, informerFloor, writeFloor } from './floors.js';
import { cpuSecondsByCommand, machineBusySeconds } from './proc.js';
import { cpus } from 'node:os';

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
  /**
   * CPU seconds the whole machine (API server, etcd, the client, everything) spent per wall second:
   * during the floor's run after globalsvc, and during globalsvc's run. Near the core count, the
   * run was bound by the machine's CPU, not by waiting.
   */
  floorBusyCores: number;
  busyCores: number;
  /** The machine's CPU seconds during globalsvc's run over its cores, over the floor: no faster run is possible on this machine without spending less CPU. */
  cpuBoundRatio: number;
  /** CPU seconds of the API server and etcd (kube-controller-manager and the rest aside) during the floor's run after globalsvc, and during globalsvc's. */
  floorServerCpuS: number;
  serverCpuS: number;
}

/** comm (at most 15 characters) of the processes whose CPU is the API server's side of a run. */
const SERVER = ['kube-apiserver', 'etcd'];
const serverCpu = () => Object.values(cpuSecondsByCommand(SERVER)).reduce((a, b) => a + b, 0);

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
  const busyBefore = machineBusySeconds();
  const serverBefore = serverCpu();
  const product = await bed.startProduct(ns);
  // Counted at plan time, globals and endpoints run ahead of the writes still in flight: wait for those too.
  const { scrape, ageSeconds } = await waitUntil(
    product,
    (s) => converged(s, globals, perMember) && s.value('globalsvc_api_writes_total', { result: 'success' }) >= objects,
    1_800_000,
  );
  const busy = machineBusySeconds() - busyBefore;
  const server = serverCpu() - serverBefore;
  const cpu = product.cpuSeconds();
  const mem = product.memory();
  if (process.env.BENCH_HEAP_SNAPSHOT) {
    // With --product-node-options "--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>": a snapshot of
    // the converged controller. Node writes it on its main thread, so the next scrape answers once it is written.
    process.kill(product.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1_000));
    for (let tries = 0; ; tries++) {
      try {
        await product.scrape();
        break;
      } catch (err) {
        // The scrape that waited for the snapshot may time out: ask again.
        if (tries === 30) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    log(`cold ${globals}x${perMember}: heap snapshot written`);
  }
  await product.stop();

  const floorBusyBefore = machineBusySeconds();
  const floorServerBefore = serverCpu();
  const after = withWriteFloor ? await writeFloor(admin, `${ns}-floor-after`, globals, perMember, best.inFlight) : NaN;
  const floorBusy = machineBusySeconds() - floorBusyBefore;
  const floorServer = serverCpu() - floorServerBefore;
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
    floorBusyCores: floorBusy / (after / 1000),
    busyCores: busy / ageSeconds,
    cpuBoundRatio: busy / cpus().length / floorS,
    floorServerCpuS: floorServer,
    serverCpuS: server,
  };
  log(
    `cold ${globals}x${perMember}: converged ${ageSeconds.toFixed(1)} s (floor ${floorS.toFixed(1)} s), peak RSS ${mem.peakRssMiB.toFixed(0)} MiB (informer ${informer.peakRssMiB.toFixed(0)} MiB)`,
  );
  return result;
}
