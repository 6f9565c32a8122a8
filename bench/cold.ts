import { cpus } from 'node:os';
import { Scrape, type BenchBed } from './bed.js';
import { converged, waitUntil } from './converge.js';
import { SOURCE_CLUSTERS, createMembers } from './fixtures.js';
import { bestWriteFloor, clearFloor, informedWriteFloor, informerFloor, writeFloor } from './floors.js';
import { cpuSecondsByCommand, machineBusySeconds } from './proc.js';

export interface ColdResult {
  globals: number;
  /** Namespaces the globals' members were spread over (1 but for large growth points). */
  namespaces: number;
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
  /**
   * Seconds a bare informer takes to start, list and watch the namespace, and the bare client then
   * to write the same objects at the floor's concurrency while it watches: what any controller pays
   * (floors.ts informedWriteFloor). Measured once, before globalsvc runs.
   */
  informedFloorS: number;
  informedRatio: number;
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
  /** Peak RSS of a bare informer on globalsvc's client stack holding the same namespace's objects, and its object count. */
  informerRssMiB: number;
  informerObjects: number;
  /** Peak RSS of the same informer on Node's https alone (no library). */
  rawInformerRssMiB: number;
  /**
   * CPU seconds the whole machine (API server, etcd, the client, everything) spent per wall second:
   * during the floor's run after globalsvc, and during globalsvc's run. Near the core count, the
   * run was bound by the machine's CPU, not by waiting.
   */
  floorBusyCores: number;
  busyCores: number;
  /** The machine's CPU seconds during globalsvc's run over its cores, over the floor: no faster run is possible on this machine without spending less CPU. */
  cpuBoundRatio: number;
  /**
   * CPU seconds of the bed's processes during the floor's run after globalsvc, and during
   * globalsvc's: kube-apiserver, etcd and kube-controller-manager (its 15-character comm: kube-controller).
   */
  floorCpuByProcess: Record<string, number>;
  cpuByProcess: Record<string, number>;
}

/** comm (at most 15 characters) of the bed's processes that do the API server's side of a run. */
const BED = ['kube-apiserver', 'etcd', 'kube-controller'];
const since = (before: Record<string, number>) =>
  Object.fromEntries(Object.entries(cpuSecondsByCommand(BED)).map(([c, s]) => [c, +(s - before[c]!).toFixed(2)]));

/** A bed busier than this (cores of the API server, etcd and kube-controller-manager together) is not yet quiet. */
const QUIET_CORES = 0.15;

/** Items in kube-controller-manager's work queues above which the bed is not yet quiet (periodic syncs come and go). */
const QUIET_BACKLOG = 10;

/**
 * Waits until the bed has done with the last run's objects: kube-controller-manager's garbage
 * collector, Endpoints and EndpointSlice controllers work through a burst of creates or deletes for
 * tens of seconds after it, and a run started meanwhile would share the cores with that backlog.
 * Quiet is both: little CPU, and kube-controller-manager's queues empty (a backlog held to its
 * client's request rate costs little CPU while it lasts).
 */
export async function settle(bed: BenchBed, log: (l: string) => void, what: string, timeoutMs = 300_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const before = cpuSecondsByCommand(BED);
    await new Promise((r) => setTimeout(r, 2_000));
    const after = cpuSecondsByCommand(BED);
    const cores = BED.reduce((sum, c) => sum + after[c]! - before[c]!, 0) / 2;
    // Items waiting in kube-controller-manager's work queues: what it has yet to do.
    const backlog = new Scrape(await bed.cluster.controllerManagerMetrics()).value('workqueue_depth');
    if (cores < QUIET_CORES && backlog <= QUIET_BACKLOG) {
      if (Date.now() - started > 2_500) log(`${what}: the bed was quiet after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return;
    }
    if (Date.now() - started > timeoutMs) {
      log(
        `${what}: the bed is still busy (${cores.toFixed(2)} cores, ${backlog} items queued in kube-controller-manager) after ${timeoutMs / 1000} s; measuring anyway`,
      );
      return;
    }
  }
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
  /** Globals per namespace: more spread over namespaces `<ns>-<i>` of this many (not with the write floor, which writes one). */
  perNamespace = Infinity,
): Promise<ColdResult> {
  const ns = `cold-${globals}x${perMember}`;
  const spread = globals > perNamespace;
  if (spread && withWriteFloor) throw new Error('the write floor writes into one namespace: spread only growth points');
  const namespaces = spread ? Array.from({ length: Math.ceil(globals / perNamespace) }, (_, i) => `${ns}-${i}`) : [ns];
  const admin = bed.cluster.admin;
  const setup = Date.now();
  // One namespace unless spread: perNamespace is Infinity then, and i * Infinity would be NaN at i = 0.
  for (const [i, namespace] of namespaces.entries())
    await createMembers(admin, namespace, spread ? Math.min(perNamespace, globals - i * perNamespace) : globals, perMember);
  log(
    `cold ${globals}x${perMember}: members written in ${((Date.now() - setup) / 1000).toFixed(1)} s${spread ? ` (${namespaces.length} namespaces)` : ''}`,
  );
  const best = withWriteFloor
    ? await bestWriteFloor(admin, ns, globals, perMember, () => settle(bed, log, `cold ${globals}x${perMember} floor`))
    : { ms: NaN, inFlight: NaN, byInFlight: {} };
  if (withWriteFloor)
    log(
      `cold ${globals}x${perMember}: write floor ${Object.entries(best.byInFlight)
        .map(([n, ms]) => `${(ms / 1000).toFixed(1)} s @${n}`)
        .join(', ')}`,
    );

  let informedMs = NaN;
  if (withWriteFloor) {
    await settle(bed, log, `cold ${globals}x${perMember} informed floor`);
    informedMs = await informedWriteFloor(bed.cluster.kubeconfig, admin, ns, globals, perMember, best.inFlight);
    log(`cold ${globals}x${perMember}: informed write floor ${(informedMs / 1000).toFixed(1)} s @${best.inFlight}`);
  }

  const slicesPerCluster = Math.ceil(perMember / 100);
  const objects = globals * (1 + SOURCE_CLUSTERS.length * slicesPerCluster);
  await settle(bed, log, `cold ${globals}x${perMember}`);
  const busyBefore = machineBusySeconds();
  const bedBefore = cpuSecondsByCommand(BED);
  const product = await bed.startProduct(namespaces.join(','));
  // Counted at plan time, globals and endpoints run ahead of the writes still in flight: wait for those too.
  const { scrape, ageSeconds } = await waitUntil(
    product,
    (s) => converged(s, globals, perMember) && s.value('globalsvc_api_writes_total', { result: 'success' }) >= objects,
    1_800_000,
  );
  const busy = machineBusySeconds() - busyBefore;
  const cpuByProcess = since(bedBefore);
  const cpu = product.cpuSeconds();
  const mem = product.memory();
  log(`cold ${globals}x${perMember}: V8 heap at convergence, MiB committed/used: ${heapSpaces(scrape)}`);
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

  if (withWriteFloor) await settle(bed, log, `cold ${globals}x${perMember} floor after`);
  const floorBusyBefore = machineBusySeconds();
  const floorBedBefore = cpuSecondsByCommand(BED);
  const after = withWriteFloor ? await writeFloor(admin, ns, 'after', globals, perMember, best.inFlight) : NaN;
  const floorBusy = machineBusySeconds() - floorBusyBefore;
  const floorCpuByProcess = since(floorBedBefore);
  if (withWriteFloor) await clearFloor(admin, ns, 'after');
  const floorS = (best.ms + after) / 2 / 1000;
  const informer = await informerFloor(bed.cluster.kubeconfig, namespaces.join(','), 'client');
  const raw = await informerFloor(bed.cluster.kubeconfig, namespaces.join(','), 'raw');
  const writes = scrape.value('globalsvc_api_writes_total');
  const result: ColdResult = {
    globals,
    namespaces: namespaces.length,
    endpointsPerMember: perMember,
    clusters: SOURCE_CLUSTERS.length,
    convergedS: ageSeconds,
    floorS,
    floorInFlight: best.inFlight,
    floorByInFlight: Object.fromEntries(Object.entries(best.byInFlight).map(([n, ms]) => [n, ms / 1000])),
    ratio: ageSeconds / floorS,
    informedFloorS: informedMs / 1000,
    informedRatio: (ageSeconds * 1000) / informedMs,
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
    rawInformerRssMiB: raw.peakRssMiB,
    floorBusyCores: floorBusy / (after / 1000),
    busyCores: busy / ageSeconds,
    cpuBoundRatio: busy / cpus().length / floorS,
    floorCpuByProcess,
    cpuByProcess,
  };
  log(
    `cold ${globals}x${perMember}: converged ${ageSeconds.toFixed(1)} s (floor ${floorS.toFixed(1)} s), peak RSS ${mem.peakRssMiB.toFixed(0)} MiB (informer ${informer.peakRssMiB.toFixed(0)} MiB, raw ${raw.peakRssMiB.toFixed(0)} MiB)`,
  );
  return result;
}

/** V8's heap by space, as globalsvc's metrics give it: `space committed/used` in MiB, and external memory. */
function heapSpaces(scrape: Scrape): string {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const spaces = ['new', 'old', 'code', 'shared', 'trusted', 'new_large_object', 'large_object', 'code_large_object', 'read_only'];
  const parts = spaces.map(
    (space) =>
      `${space} ${mib(scrape.value('globalsvc_nodejs_heap_space_size_total_bytes', { space }))}/${mib(scrape.value('globalsvc_nodejs_heap_space_size_used_bytes', { space }))}`,
  );
  return `${parts.join(', ')}; total ${mib(scrape.value('globalsvc_nodejs_heap_size_total_bytes'))}; external ${mib(scrape.value('globalsvc_nodejs_external_memory_bytes'))}`;
}
