import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Subscription } from 'rxjs';
import { CONFIG_MAPS, ENDPOINT_SLICES, KubeApi, KubeApiError, type ResourceType } from '../src/cluster/kube-api.js';
import { watchResource } from '../src/cluster/watch-stream.js';
import type { Endpoint, EndpointSlice, KubeObject } from '../src/domain/k8s-types.js';
import { ours } from '../src/domain/labels.js';
import { CLUSTER, Scrape, type BenchBed } from './bed.js';
import { settle } from './cold.js';
import { converged, waitUntil } from './converge.js';
import { BENCH_MANAGER, SOURCE_CLUSTERS, endpoint, globalName, type SourceCluster } from './fixtures.js';
import { ensureMembers } from './members.js';
import type { Sizes } from './main.js';
import { HEAP_FLAGS, PROCESS_ENV } from '../src/cli/node-flags.js';
import { cpuSeconds, machineBusySeconds } from './proc.js';
import { percentiles, type Percentiles } from './stats.js';

export type Pattern = 'spread' | 'burst';

export interface ChurnResult {
  batchPeriodMs: number;
  /**
   * spread: one change to a random member at a time; burst: B changes to one member, back to back (a
   * rolling restart); capacity: spread with no globalsvc running and the relay on every change, the
   * bed's own latency for one write per change (latency is the relay's); informed: spread with a bare
   * controller in its own process in globalsvc's place (relay-controller.ts), the least a controller
   * does, timed as globalsvc is.
   */
  pattern: Pattern | 'capacity' | 'informed';
  changes: number;
  /** Changes whose global never reflected them within 10 s. */
  missed: number;
  /**
   * Of the missed, those reflected when looked at again, for up to 3 minutes more (lookAgain): late, not
   * lost. A missed change still not reflected then is told in the log (Observer.tellMissed).
   */
  missedLate: number;
  latencyMs: Percentiles;
  /**
   * A bare relay, on a sample of the changes (one in RELAY_EVERY): from the member write to the bench
   * seeing a write that the bench made as soon as its own informer saw the member write. The hops any
   * controller's answer takes: the watch's delivery of the member write, a write's round trip, and
   * the watch's delivery of that write.
   */
  floorMs: Percentiles;
  relaySamples: number;
  /** Per change: the bare informer's delivery of the member write plus that write's round trip (the floor up to 2026-12-04). */
  oneHopMs: Percentiles;
  /** Global writes (Services and slices) per member change: at most 1 is the target. */
  writesPerChange: number;
  /** globalsvc's reconciles during the pattern, their mean duration, and the deepest its queue was seen (scraped every 250 ms). */
  reconciles: number;
  reconcileMeanMs: number;
  maxQueueDepth: number;
  /**
   * While the changes were driven: every process's CPU on the machine (of its `nproc` cores) and
   * globalsvc's alone, in cores. A bed near all its cores cannot carry more writes, however they are made.
   */
  machineCores: number;
  productCores: number;
  /**
   * Where globalsvc's share of a change's time went, from its metrics over the pattern: the p99 of its
   * queue's wait for a free worker (the upper bound of its histogram's bucket), its collector's time
   * (all collections, and the full ones), and the longest its event loop was held (scraped every 250
   * ms). Absent for capacity, and in results from before 2026-12-07.
   */
  queueWaitP99Ms?: number;
  gcSeconds?: number;
  majorGcSeconds?: number;
  maxLoopLagMs?: number;
  /**
   * EndpointSlice watchers the API server closed as unresponsive over the pattern
   * (apiserver_terminated_watchers_total: their buffer full, any watcher's), and globalsvc's watches
   * resumed or relisted meanwhile (globalsvc_watch_restarts_total). A watcher closed comes back from
   * its last resourceVersion, and what it missed meanwhile comes late. Absent before 2026-12-08.
   */
  terminatedWatchers?: number;
  watchRestarts?: number;
}

/** EndpointSlice watchers the API server has closed as unresponsive since it started. */
const terminatedSliceWatchers = async (bed: BenchBed) =>
  new Scrape(await bed.cluster.apiServerMetrics()).value('apiserver_terminated_watchers_total', { resource: 'endpointslices' });

interface Change {
  key: string;
  slice: string;
  address: string;
  /** undefined: the address must be gone; else its ready condition. */
  ready: boolean | undefined;
  sentAt: number;
  answeredAt?: number;
  informedAt?: number;
  reflectedAt?: number;
  /** The bare relay's write seen by the bench (sampled changes only). */
  relayedAt?: number;
}

const REFLECT_TIMEOUT_MS = 10_000;
/** How long the missed changes are looked at again, until each is reflected (lookAgain). */
const LOOK_AGAIN_MS = 180_000;
const BURST_GAP_MS = 5;
/** Draws for a member slice with no write in flight before the churner waits for one (randomSlice). */
const RANDOM_DRAWS = 1_000;
/** One informed change in RELAY_EVERY is relayed: at 200 changes/s, 25 writes/s more on the bed. */
const RELAY_EVERY = 8;
/**
 * The relay writes round-robin into this many objects: beside globalsvc 25 writes a second, alone
 * 200, each object then written every 5 s or so, as globalsvc's 10,000 slices each are rarely written
 * twice at once (over 64 slices alone, most relays were not seen back within 10 s).
 */
const RELAY_OBJECTS = { beside: 64, alone: 1024 };
const RELAY_LABEL = 'bench.globalsvc.dev/relay';
const RELAY_CHANGE = 'bench.globalsvc.dev/change';
/** The capacity relay's slices: neither globalsvc's nor the members' (the observer tells them apart by it). */
const RELAY_MANAGER = 'relay.bench.globalsvc.dev';
const RELAY_FIELD_MANAGER = 'globalsvc-bench-relay';

/** One of the capacity relay's slices, holding a member's endpoints (`change` is the relayed change's id, '' before any). */
function relaySlice(namespace: string, name: string, change: string, member?: EndpointSlice): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      labels: { [RELAY_LABEL]: 'true', 'endpointslice.kubernetes.io/managed-by': RELAY_MANAGER },
      annotations: { [RELAY_CHANGE]: change },
    },
    addressType: member?.addressType ?? 'IPv4',
    ports: member?.ports ?? [],
    endpoints: member?.endpoints ?? [],
  };
}

/** The capacity relay's slices, so that its every write is an update, as globalsvc's are. */
async function createRelaySlices(api: KubeApi, namespace: string): Promise<void> {
  const names = Array.from({ length: RELAY_OBJECTS.alone }, (_, i) => `bench-relay-${i}`);
  for (let i = 0; i < names.length; i += 32)
    await Promise.all(
      names.slice(i, i + 32).map((name) =>
        api.create(ENDPOINT_SLICES, relaySlice(namespace, name, ''), RELAY_FIELD_MANAGER).catch((err: unknown) => {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err;
        }),
      ),
    );
}

/** address → ready of a set of endpoints. */
const readiness = (endpoints: readonly Endpoint[] | null | undefined) =>
  new Map((endpoints ?? []).map((e) => [e.addresses[0]!, e.conditions?.ready ?? true]));

/** A change beside globalsvc whose every hop was seen: answered, informed and reflected in the global. */
const timed = (c: Change) => c.answeredAt !== undefined && c.informedAt !== undefined && c.reflectedAt !== undefined;

const satisfied = (state: Map<string, boolean>, c: Change) =>
  c.ready === undefined ? !state.has(c.address) : state.get(c.address) === c.ready;

/**
 * Watches one namespace's slices and times when each change is seen: by a bare informer on the
 * member slice, and on the global's slices.
 */
class Observer {
  /** global key (svc<g>) → global slice name → address → ready. */
  private readonly globals = new Map<string, Map<string, Map<string, boolean>>>();
  private readonly pending = new Map<string, Change[]>();
  /** The same changes by member slice, not yet seen by the bare informer. */
  private readonly uninformed = new Map<string, Set<Change>>();
  /** address → how many of its changes the global has not reflected yet. */
  private readonly inFlight = new Map<string, number>();
  private readonly stops: Subscription[] = [];
  /** Relayed changes by relay id, not yet seen back; how many informed changes so far. */
  private readonly relays = new Map<string, Change>();
  private informed = 0;
  private relayed = 0;
  /** Relay writes that failed, by status and reason (told in the log). */
  private readonly relayFailures = new Map<string, number>();

  /**
   * Its own client, so its own connection, as a controller beside the churner would have. On the
   * churner's, beside its 200 writes a second, the API server closed 18 watchers as unresponsive in
   * one run (apiserver_terminated_watchers_total) and the relay floor's p99 read 19.7 s; on its own,
   * none, and 0.96 s.
   */
  private readonly api: KubeApi;

  constructor(
    churner: KubeApi,
    private readonly namespace: string,
    /** Relay one informed change in this many. */
    private readonly relayEvery = RELAY_EVERY,
    /** No controller runs: a change is done once relayed. */
    private readonly alone = false,
  ) {
    this.api = new KubeApi(churner.config, undefined, 'globalsvc-bench-observer');
  }

  private done(c: Change): boolean {
    return (this.alone ? c.relayedAt : c.reflectedAt) !== undefined;
  }

  private settled(c: Change) {
    const n = (this.inFlight.get(c.address) ?? 1) - 1;
    if (n > 0) this.inFlight.set(c.address, n);
    else this.inFlight.delete(c.address);
  }

  private globalState(key: string): Map<string, boolean> {
    const merged = new Map<string, boolean>();
    for (const slice of this.globals.get(key)?.values() ?? []) for (const [a, r] of slice) merged.set(a, r);
    return merged;
  }

  private onGlobal(type: string, slice: KubeObject) {
    const s = slice as EndpointSlice;
    const key = s.metadata.labels?.[ours.globalOf] ?? '';
    const slices = this.globals.get(key) ?? new Map<string, Map<string, boolean>>();
    this.globals.set(key, slices);
    if (type === 'DELETED') slices.delete(s.metadata.name ?? '');
    else slices.set(s.metadata.name ?? '', readiness(s.endpoints));
    const now = performance.now();
    const state = this.globalState(key);
    for (const c of this.pending.get(key) ?? [])
      if (c.reflectedAt === undefined && satisfied(state, c)) {
        c.reflectedAt = now;
        if (!this.alone) this.settled(c);
      }
  }

  private onMember(slice: KubeObject) {
    const s = slice as EndpointSlice;
    const now = performance.now();
    const waiting = this.uninformed.get(s.metadata.name ?? '');
    if (!waiting) return;
    const state = readiness(s.endpoints);
    for (const c of waiting)
      if (satisfied(state, c)) {
        c.informedAt = now;
        waiting.delete(c);
        if (this.informed++ % this.relayEvery === 0) this.relay(c, s);
      }
  }

  /**
   * What a bare controller does with a change: write, at once, something of its own. Alone (the
   * capacity row) it writes what globalsvc would: an EndpointSlice holding the member's endpoints,
   * updated; beside globalsvc a ConfigMap, which globalsvc does not watch.
   */
  private relay(c: Change, member: EndpointSlice) {
    const id = String(this.relayed++);
    this.relays.set(id, c);
    const name = `bench-relay-${Number(id) % (this.alone ? RELAY_OBJECTS.alone : RELAY_OBJECTS.beside)}`;
    // As globalsvc updates its slices (PUT); the capacity run creates them first (createRelaySlices).
    const written = this.alone
      ? this.api.update(ENDPOINT_SLICES, relaySlice(this.namespace, name, id, member), RELAY_FIELD_MANAGER)
      : this.api.apply(
          CONFIG_MAPS,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name, namespace: this.namespace, labels: { [RELAY_LABEL]: 'true' }, annotations: { [RELAY_CHANGE]: id } },
          },
          RELAY_FIELD_MANAGER,
        );
    // A failed relay is left out of the floor's sample (no relayedAt), as a missed change is.
    written.catch((err: unknown) => {
      this.relays.delete(id);
      const reason = err instanceof KubeApiError ? `${err.status} ${err.reason}` : String(err);
      this.relayFailures.set(reason, (this.relayFailures.get(reason) ?? 0) + 1);
    });
  }

  private onRelay(o: KubeObject) {
    const id = o.metadata.annotations?.[RELAY_CHANGE] ?? '';
    const c = this.relays.get(id);
    if (!c) return;
    c.relayedAt = performance.now();
    this.relays.delete(id);
    if (this.alone) this.settled(c);
  }

  /**
   * Watches what it times through globalsvc's own reflector (list, then watch; a watch the API
   * server ends or that goes quiet is resumed, a 410 relists): a watch that ended unnoticed would
   * read as every later change missed. Resolves once each has listed.
   */
  async start(): Promise<void> {
    const watch = (selector: string, handle: (type: string, o: KubeObject) => void, type: ResourceType = ENDPOINT_SLICES) =>
      new Promise<void>((listed) => {
        const subscription = watchResource(this.api, type, this.namespace, { labelSelector: selector }).subscribe((e) => {
          if (e.type !== 'relisted') return handle(e.type.toUpperCase(), e.object);
          for (const o of e.items) handle('ADDED', o);
          listed();
        });
        this.stops.push(subscription);
      });
    await watch('endpointslice.kubernetes.io/managed-by=globalsvc.dev', (t, o) => this.onGlobal(t, o));
    await watch(`endpointslice.kubernetes.io/managed-by=${BENCH_MANAGER}`, (_t, o) => this.onMember(o));
    await watch(`${RELAY_LABEL}=true`, (t, o) => t !== 'DELETED' && this.onRelay(o), this.alone ? ENDPOINT_SLICES : CONFIG_MAPS);
  }

  track(c: Change): void {
    const list = this.pending.get(c.key) ?? [];
    list.push(c);
    this.pending.set(c.key, list);
    const waiting = this.uninformed.get(c.slice) ?? new Set<Change>();
    waiting.add(c);
    this.uninformed.set(c.slice, waiting);
    this.inFlight.set(c.address, (this.inFlight.get(c.address) ?? 0) + 1);
  }

  /**
   * Whether any change to this address is still on its way. Constant time, like every per-event
   * step here: the observer shares the machine's two cores with the bed and globalsvc, and a scan
   * of every change so far at each event (6,000 of them at 200 changes/s) was its own load.
   */
  busy(address: string): boolean {
    return this.inFlight.has(address);
  }

  all(): Change[] {
    return [...this.pending.values()].flat();
  }

  /**
   * The changes beside globalsvc not timed, told one per line (at most `limit`): what the change was, which of its
   * hops were seen, and the address as the observer and the API server hold it now in the member
   * and in the global, so that a missed change says whether globalsvc, the watch or the bench lost it.
   */
  async tellMissed(limit = 10): Promise<string[]> {
    const missed = this.all().filter((c) => !timed(c));
    const lines: string[] = [];
    for (const c of missed.slice(0, limit)) {
      const held = (state: Map<string, boolean>) => (state.has(c.address) ? `ready=${state.get(c.address)}` : 'absent');
      const member = await this.api
        .get<EndpointSlice>(ENDPOINT_SLICES, this.namespace, c.slice)
        .then((s) => held(readiness(s?.endpoints)))
        .catch((err: unknown) => `unread (${(err as Error).message})`);
      const global = await this.api
        .list<EndpointSlice>(ENDPOINT_SLICES, this.namespace, { labelSelector: `${ours.globalOf}=${c.key}` })
        .then((l) => held(new Map(l.items.flatMap((s) => [...readiness(s.endpoints)]))))
        .catch((err: unknown) => `unread (${(err as Error).message})`);
      const seen = (at: number | undefined) => (at === undefined ? 'no' : `${(at - c.sentAt).toFixed(0)} ms`);
      lines.push(
        `missed: ${c.key} ${c.slice} ${c.address} to ${c.ready === undefined ? 'absent' : `ready=${c.ready}`}; answered ${seen(c.answeredAt)}, informed ${seen(c.informedAt)}, reflected ${seen(c.reflectedAt)}; now the member ${member}, the global ${global} (the observer's global ${held(this.globalState(c.key))})`,
      );
    }
    if (missed.length > limit) lines.push(`missed: ${missed.length - limit} more`);
    return lines;
  }

  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.all().some((c) => !this.done(c))) await new Promise((r) => setTimeout(r, 50));
  }

  reset(): void {
    this.pending.clear();
    this.uninformed.clear();
    this.inFlight.clear();
    this.relays.clear();
    this.relayFailures.clear();
  }

  /** The relay writes that failed, for the log line; empty when none did. */
  failures(): string {
    const told = [...this.relayFailures].map(([reason, n]) => `${n} × ${reason}`);
    return told.length ? `; relay writes failed: ${told.join(', ')}` : '';
  }

  stop(): void {
    for (const s of this.stops) s.unsubscribe();
  }
}

/**
 * The number of the next pod a change adds, over every Churner of the run: the capacity run's pods
 * are still in the members when the measured patterns start, and a pod added twice to one slice
 * stays there when one copy is removed (a change the bench then waits for in vain).
 */
let nextPod = 1_000_000;

/** The members' slices as the benchmark last wrote them, and the changes it makes to them. */
class Churner {
  /** Slices with a write in flight: a second one would fail its resourceVersion precondition. */
  private readonly writing = new Set<string>();
  private readonly held = new Set<string>();
  private readonly names: string[];
  /** How many endpoints each slice had before the churn: a remote member's flips keep it about that size. */
  private readonly sizes: Map<string, number>;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly slices: Map<string, EndpointSlice>,
    private readonly observer: Observer,
  ) {
    this.names = [...slices.keys()];
    this.sizes = new Map([...slices].map(([name, s]) => [name, s.endpoints?.length ?? 0]));
  }

  static async load(api: KubeApi, namespace: string, observer: Observer): Promise<Churner> {
    const list = await api.list<EndpointSlice>(ENDPOINT_SLICES, namespace, {
      labelSelector: `endpointslice.kubernetes.io/managed-by=${BENCH_MANAGER}`,
    });
    return new Churner(api, namespace, new Map(list.items.map((s) => [s.metadata.name ?? '', s])), observer);
  }

  /** The slice as last written (a burst writes one slice several times). */
  current(slice: EndpointSlice): EndpointSlice {
    return this.slices.get(slice.metadata.name ?? '') ?? slice;
  }

  /** Keeps a slice out of randomSlice() for a burst of writes. */
  hold(slice: EndpointSlice): void {
    this.held.add(slice.metadata.name ?? '');
  }

  release(slice: EndpointSlice): void {
    this.held.delete(slice.metadata.name ?? '');
  }

  /**
   * A random member slice with no write in flight, drawn again while busy (a few hundred of 30,000 are);
   * undefined when RANDOM_DRAWS draws found none, on a bed so far behind that nearly every slice waits
   * for its write. Drawing until one is free would spin on the event loop that completes the writes.
   */
  randomSlice(): EndpointSlice | undefined {
    for (let draw = 0; draw < RANDOM_DRAWS; draw++) {
      const name = this.names[Math.floor(Math.random() * this.names.length)]!;
      if (!this.writing.has(name) && !this.held.has(name)) return this.slices.get(name)!;
    }
    return undefined;
  }

  /**
   * One change to one member slice: add an endpoint, remove one, or flip one's readiness. A remote
   * member's pod is flipped as Linkerd's mirror writes it: a remote pod that is not ready is dropped
   * from the mirror, and one that is ready again comes back (linkerd-mirror-real.md); a mirrored
   * endpoint that is not ready means its cluster's gateway is dead, which churn is not about.
   */
  async change(slice: EndpointSlice, kind: 'add' | 'remove' | 'flip', pick?: number): Promise<void> {
    const cluster = (slice.metadata.labels?.['mirror.linkerd.io/cluster-name'] ?? SOURCE_CLUSTERS[0]) as SourceCluster;
    const serviceName = slice.metadata.labels?.['kubernetes.io/service-name'] ?? '';
    const key = globalName(Number(/^svc(\d+)/.exec(serviceName)![1]));
    const endpoints = [...(slice.endpoints ?? [])];
    const name = slice.metadata.name ?? '';
    if (kind === 'flip' && cluster !== CLUSTER) kind = endpoints.length > this.sizes.get(name)! ? 'remove' : 'add';
    const free = endpoints.filter((e) => !this.observer.busy(e.addresses[0]!));
    if (free.length === 0 || (kind === 'remove' && endpoints.length <= 1)) kind = 'add';
    let address: string;
    let ready: boolean | undefined;
    if (kind === 'add') {
      const n = nextPod++;
      const e = endpoint(cluster, n, `x-${n}`);
      endpoints.push(e);
      address = e.addresses[0]!;
      ready = true;
    } else {
      const target = free[(pick ?? Math.floor(Math.random() * free.length)) % free.length]!;
      address = target.addresses[0]!;
      const i = endpoints.indexOf(target);
      if (kind === 'remove') {
        endpoints.splice(i, 1);
        ready = undefined;
      } else {
        ready = !(target.conditions?.ready ?? true);
        endpoints[i] = { ...target, conditions: { ready, serving: ready, terminating: false } };
      }
    }
    const change: Change = { key, slice: name, address, ready, sentAt: performance.now() };
    this.observer.track(change);
    this.writing.add(name);
    try {
      const written = await this.api.request<EndpointSlice>(
        'update',
        ENDPOINT_SLICES,
        'PUT',
        `${KubeApi.collectionPath(ENDPOINT_SLICES, this.namespace)}/${name}`,
        { body: { ...slice, endpoints } },
      );
      change.answeredAt = performance.now();
      this.slices.set(name, written);
    } finally {
      this.writing.delete(name);
    }
  }
}

const KINDS = ['add', 'remove', 'flip'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drives the pattern for --churn-seconds; returns the machine's busy cores meanwhile. */
async function drive(churner: Churner, pattern: Pattern, sizes: Sizes): Promise<number> {
  const busyBefore = machineBusySeconds();
  const started = Date.now();
  const end = started + sizes.churnSeconds * 1000;
  const inFlight: Promise<void>[] = [];
  const perTick = pattern === 'burst' ? sizes.burst : 1;
  const intervalMs = (1000 * perTick) / sizes.churnRate;
  for (let tick = 0; Date.now() < end; tick++) {
    let slice = churner.randomSlice();
    // The bed is behind: the change waits for a slice's write to finish, and the rate falls short.
    while (slice === undefined) {
      await sleep(1);
      slice = churner.randomSlice();
    }
    if (pattern === 'spread') inFlight.push(churner.change(slice, KINDS[tick % 3]!));
    else
      // A rolling restart: B endpoints of one member go not ready one after another (a remote
      // member's leave and come back, as Linkerd mirrors them).
      inFlight.push(
        (async () => {
          churner.hold(slice);
          for (let i = 0; i < perTick; i++) {
            await churner.change(churner.current(slice), 'flip', i);
            await sleep(BURST_GAP_MS);
          }
          churner.release(slice);
        })(),
      );
    const wait = started + (tick + 1) * intervalMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const cores = (machineBusySeconds() - busyBefore) / ((Date.now() - started) / 1000);
  await Promise.all(inFlight);
  return cores;
}

/**
 * The bed's capacity for one write per change, before globalsvc runs: the spread pattern at the same
 * rate, the bare relay answering every change. The relay floor of the runs with globalsvc answers one
 * change in RELAY_EVERY, which a saturated API server serves as fast as ever; this says whether the
 * bed can carry the writes a controller's answers add at all.
 */
async function capacity(bed: BenchBed, api: KubeApi, namespace: string, sizes: Sizes, log: (l: string) => void): Promise<ChurnResult> {
  await createRelaySlices(api, namespace);
  await settle(bed, log, `churn ${sizes.churnGlobals} globals, capacity`);
  const observer = new Observer(api, namespace, 1, true);
  await observer.start();
  try {
    const churner = await Churner.load(api, namespace, observer);
    const machineCores = await drive(churner, 'spread', sizes);
    await observer.drained(REFLECT_TIMEOUT_MS);
    const changes = observer.all();
    const isRelayed = (c: Change) => c.relayedAt !== undefined;
    const relayed = changes.filter(isRelayed);
    const latencyMs = percentiles(relayed.map((c) => c.relayedAt! - c.sentAt));
    const missedLate = await lookAgain(
      changes.filter((c) => !isRelayed(c)),
      isRelayed,
    );
    log(
      `churn capacity: ${changes.length} changes, the relay on each: p50 ${latencyMs.p50.toFixed(0)} ms, p99 ${latencyMs.p99.toFixed(0)} ms, ${changes.length - relayed.length} missed (${missedLate} relayed within ${LOOK_AGAIN_MS / 1000} s more); the machine busy ${machineCores.toFixed(2)} cores${observer.failures()}`,
    );
    return {
      batchPeriodMs: 0,
      pattern: 'capacity',
      changes: changes.length,
      missed: changes.length - relayed.length,
      missedLate,
      latencyMs,
      floorMs: latencyMs,
      relaySamples: relayed.length,
      oneHopMs: percentiles(changes.filter((c) => c.informedAt !== undefined).map((c) => c.informedAt! - c.sentAt)),
      writesPerChange: relayed.length / Math.max(1, changes.length),
      reconciles: 0,
      reconcileMeanMs: NaN,
      maxQueueDepth: 0,
      machineCores,
      productCores: 0,
    };
  } finally {
    observer.stop();
    await deleteRelays(api, namespace);
  }
}

/** A pattern's changes as the observer timed them beside a controller: each from its member write to the global, and the relay floor's sample. */
function timings(changes: Change[]) {
  const done = changes.filter(timed);
  const relayed = changes.filter((c) => c.relayedAt !== undefined);
  return {
    changes: changes.length,
    missed: changes.length - done.length,
    latencyMs: percentiles(done.map((c) => c.reflectedAt! - c.sentAt)),
    floorMs: percentiles(relayed.map((c) => c.relayedAt! - c.sentAt)),
    relaySamples: relayed.length,
    oneHopMs: percentiles(done.map((c) => c.informedAt! - c.sentAt + (c.answeredAt! - c.sentAt))),
  };
}

/** The bare controller of the informed floor, started in its own process (relay-controller.ts). */
function startRelayController(kubeconfig: string, namespace: string) {
  const members = `endpointslice.kubernetes.io/managed-by=${BENCH_MANAGER}`;
  // hack/bundle.mjs bundles it as it bundles globalsvc; globalsvc's heap and environment, V8's compilers as Node has them.
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'relay-controller.mjs');
  const child = spawn(process.execPath, [...HEAP_FLAGS, script, kubeconfig, namespace, members, CLUSTER], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...PROCESS_ENV },
  });
  const lines: string[] = [];
  let out = '';
  let told: (() => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const at = out.lastIndexOf('\n');
    if (at < 0) return;
    lines.push(
      ...out
        .slice(0, at)
        .split('\n')
        .filter((l) => l.startsWith('{')),
    );
    out = out.slice(at + 1);
    told?.();
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
    told?.();
  });
  const line = (n: number) =>
    new Promise<Record<string, number>>((resolve, reject) => {
      const check = () => {
        if (lines.length > n) resolve(JSON.parse(lines[n]!) as Record<string, number>);
        else if (exited !== undefined) reject(new Error(`the relay controller exited with ${exited}`));
      };
      told = check;
      check();
    });
  return {
    pid: child.pid!,
    synced: line(0),
    /** Stops it; resolves to its counts: writes, conflicts, failures. */
    stop: async () => {
      const counts = line(1);
      child.kill('SIGTERM');
      return counts;
    },
  };
}

/**
 * The informed floor of churn: the spread pattern with a bare controller in its own process where
 * globalsvc runs (relay-controller.ts: one write per change to the global's slice, at once), timed
 * as globalsvc is, beside the same relay floor. What is left between the two is what a controller
 * of its own costs on this bed: its process's share of the cores, its watch's delivery and its
 * write's round trip. Runs after globalsvc's patterns, on the slices they left.
 */
async function informed(bed: BenchBed, api: KubeApi, namespace: string, sizes: Sizes, log: (l: string) => void): Promise<ChurnResult> {
  await settle(bed, log, `churn ${sizes.churnGlobals} globals, informed floor`);
  const controller = startRelayController(bed.cluster.kubeconfig, namespace);
  const observer = new Observer(api, namespace);
  try {
    const synced = await controller.synced;
    await observer.start();
    const churner = await Churner.load(api, namespace, observer);
    const cpuBefore = cpuSeconds(controller.pid);
    const terminatedBefore = await terminatedSliceWatchers(bed);
    const drivenFrom = Date.now();
    const machineCores = await drive(churner, 'spread', sizes);
    const productCores = (cpuSeconds(controller.pid) - cpuBefore) / ((Date.now() - drivenFrom) / 1000);
    await observer.drained(REFLECT_TIMEOUT_MS);
    const changes = observer.all();
    // Timed as they stand after the 10 s: a change reflected later is missed, and counted late.
    const timely = timings(changes);
    const missedLate = await lookAgain(changes.filter((c) => !timed(c)));
    const terminatedWatchers = (await terminatedSliceWatchers(bed)) - terminatedBefore;
    const counts = await controller.stop();
    const r: ChurnResult = {
      batchPeriodMs: 0,
      pattern: 'informed',
      ...timely,
      missedLate,
      writesPerChange: (counts.writes ?? 0) / Math.max(1, changes.length),
      reconciles: 0,
      reconcileMeanMs: NaN,
      maxQueueDepth: 0,
      machineCores,
      productCores,
      terminatedWatchers,
    };
    log(
      `churn informed floor (a bare controller in its own process, ${synced.members} member slices to ${synced.globals} of globalsvc's): ${r.changes} changes, ${r.missed} missed (${r.missedLate} reflected within ${LOOK_AGAIN_MS / 1000} s more), p99 ${r.latencyMs.p99.toFixed(0)} ms (relay floor ${r.floorMs.p99.toFixed(0)} ms of ${r.relaySamples}), ${r.writesPerChange.toFixed(2)} writes/change (${counts.conflicts} conflicts, ${counts.failures} failed); ${terminatedWatchers} slice watchers closed by the API server; the machine busy ${r.machineCores.toFixed(2)} cores, the controller ${r.productCores.toFixed(2)}${observer.failures()}`,
    );
    return r;
  } finally {
    observer.stop();
    await controller.stop().catch(() => undefined);
  }
}

/**
 * Propagation under churn: member slices change at R changes per second; each change is timed
 * from the member write to the global slice reflecting it, against a bare relay in this process
 * (Observer.relay: what the bench writes on seeing the member write, seen back). Once per
 * --batch-period value.
 */
export async function churn(bed: BenchBed, namespace: string, sizes: Sizes, log: (l: string) => void): Promise<ChurnResult[]> {
  const G = sizes.churnGlobals;
  const E = sizes.endpointsPerMember;
  await ensureMembers(bed, namespace, G, E, log);
  const api = bed.cluster.admin.api;
  const results: ChurnResult[] = [await capacity(bed, api, namespace, sizes, log)];
  for (const batchPeriodMs of sizes.batchPeriods) {
    const product = await bed.startProduct(namespace, [`--batch-period=${batchPeriodMs}ms`]);
    await waitUntil(product, (s) => converged(s, G), 1_800_000);
    // The bed works through globalsvc's cold start for a while after it (kube-controller-manager
    // syncs every new global Service): churn is measured on a quiet bed, as the cold start is.
    await settle(bed, log, `churn ${G} globals`);
    const observer = new Observer(api, namespace);
    await observer.start();
    const churner = await Churner.load(api, namespace, observer);
    for (const pattern of ['spread', 'burst'] as const) {
      observer.reset();
      const before = await product.scrape();
      let maxQueueDepth = 0;
      let maxLoopLagMs = 0;
      let driving = true;
      const sampling = (async () => {
        while (driving) {
          const now = await product.scrape();
          maxQueueDepth = Math.max(maxQueueDepth, now.value('globalsvc_queue_depth'));
          maxLoopLagMs = Math.max(maxLoopLagMs, 1000 * now.value('globalsvc_nodejs_eventloop_lag_max_seconds'));
          await sleep(250);
        }
      })();
      const cpuBefore = product.cpuSeconds();
      const terminatedBefore = await terminatedSliceWatchers(bed);
      const drivenFrom = Date.now();
      const machineCores = await drive(churner, pattern, sizes);
      const productCores = (product.cpuSeconds() - cpuBefore) / ((Date.now() - drivenFrom) / 1000);
      await observer.drained(REFLECT_TIMEOUT_MS);
      driving = false;
      await sampling;
      await sleep(Math.max(200, batchPeriodMs * 2));
      const after = await product.scrape();
      const terminatedWatchers = (await terminatedSliceWatchers(bed)) - terminatedBefore;
      const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
      const writes = delta('globalsvc_api_writes_total');
      const reconciles = delta('globalsvc_reconcile_duration_seconds_count');
      const changes = observer.all();
      // Timed as they stand after the 10 s: a change reflected later is missed, and counted late.
      const timely = timings(changes);
      const missedLate = await lookAgain(changes.filter((c) => !timed(c)));
      results.push({
        batchPeriodMs,
        pattern,
        ...timely,
        missedLate,
        writesPerChange: writes / Math.max(1, changes.length),
        reconciles,
        reconcileMeanMs: (1000 * delta('globalsvc_reconcile_duration_seconds_sum')) / Math.max(1, reconciles),
        maxQueueDepth,
        machineCores,
        productCores,
        queueWaitP99Ms: histogramP99Ms(before, after, 'globalsvc_queue_wait_seconds'),
        gcSeconds: delta('globalsvc_nodejs_gc_duration_seconds_sum'),
        majorGcSeconds: delta('globalsvc_nodejs_gc_duration_seconds_sum', { kind: 'major' }),
        maxLoopLagMs,
        terminatedWatchers,
        watchRestarts: delta('globalsvc_watch_restarts_total'),
      });
      const r = results.at(-1)!;
      log(
        `churn batch ${batchPeriodMs} ms ${pattern}: ${r.changes} changes, ${r.missed} missed (${r.missedLate} reflected within ${LOOK_AGAIN_MS / 1000} s more), p99 ${r.latencyMs.p99.toFixed(0)} ms (relay floor ${r.floorMs.p99.toFixed(0)} ms of ${r.relaySamples}, one hop ${r.oneHopMs.p99.toFixed(0)} ms), ${r.writesPerChange.toFixed(2)} writes/change; ${r.reconciles} reconciles of ${r.reconcileMeanMs.toFixed(1)} ms on average, queue depth up to ${r.maxQueueDepth}, its wait p99 ≤ ${r.queueWaitP99Ms} ms; GC ${r.gcSeconds!.toFixed(2)} s (full ${r.majorGcSeconds!.toFixed(2)} s), event loop held up to ${r.maxLoopLagMs!.toFixed(0)} ms; ${r.terminatedWatchers} slice watchers closed by the API server, globalsvc's watches restarted ${r.watchRestarts} times; the machine busy ${r.machineCores.toFixed(2)} cores, globalsvc ${r.productCores.toFixed(2)}${observer.failures()}`,
      );
      for (const line of await observer.tellMissed()) log(line);
    }
    observer.stop();
    await product.stop();
  }
  results.push(await informed(bed, api, namespace, sizes, log));
  // The bare controller left globalsvc's slices as it wrote them (the members' endpoints as they are,
  // hostnames and all): globalsvc puts them back, so that what runs next on them finds them its own.
  const repair = await bed.startProduct(namespace);
  await waitUntil(repair, (s) => converged(s, G), 1_800_000);
  await settle(bed, log, `churn ${G} globals, globalsvc's slices put back`);
  await repair.stop();
  await deleteRelays(api, namespace);
  return results;
}

/**
 * The p99 of what a histogram observed between two scrapes, as the upper bound (ms) of the bucket it
 * falls in: Infinity past the last bucket, 0 when nothing was observed.
 */
function histogramP99Ms(before: Scrape, after: Scrape, name: string): number {
  const count = after.value(`${name}_count`) - before.value(`${name}_count`);
  if (count === 0) return 0;
  const bounds = [...after.text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"`, 'gm'))].map((m) => m[1]!);
  for (const le of bounds) {
    const below = after.value(`${name}_bucket`, { le }) - before.value(`${name}_bucket`, { le });
    if (below >= 0.99 * count) return le === '+Inf' ? Infinity : Math.round(1000 * Number(le) * 10) / 10;
  }
  return Infinity;
}

/**
 * Looks at the missed changes again, once a second until each is reflected or LOOK_AGAIN_MS have passed
 * (the observer keeps timing them): how many were reflected by then — late, not lost. Those still missing
 * are the ones told. A bed that cannot carry the rate delivers watch events tens of seconds late and
 * globalsvc's queue holds thousands: a fixed 10 s (before 2026-12-07) told late changes as missing.
 */
async function lookAgain(missed: Change[], done: (c: Change) => boolean = timed): Promise<number> {
  const deadline = Date.now() + LOOK_AGAIN_MS;
  while (missed.some((c) => !done(c)) && Date.now() < deadline) await sleep(1_000);
  return missed.filter(done).length;
}

/** The relays' objects go with the run: the namespace holds only the members between runs. */
async function deleteRelays(api: KubeApi, namespace: string): Promise<void> {
  for (const type of [CONFIG_MAPS, ENDPOINT_SLICES])
    await api.request('delete', type, 'DELETE', KubeApi.collectionPath(type, namespace), {
      query: { labelSelector: `${RELAY_LABEL}=true` },
    });
}
