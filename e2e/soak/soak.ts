// The chaos soak (docs/soak.md): churn at a steady rate and a fault now and then, drawn from a
// seeded schedule, on the 3-cluster test bed with Linkerd's own mirror; the oracle (oracle.ts)
// checks every global in every cluster every few seconds. A difference that outlives the
// convergence bound is a violation.
import { readFileSync } from 'node:fs';
import { SERVICES } from '../../src/cluster/kube-api.js';
import { FaultProxy } from '../testbed/fault-proxy.js';
import { DEPLOYMENTS, NAMESPACES, PODS, STATEFUL_SETS } from '../testbed/kube.js';
import { link, startMirror, stopMirror, unlink } from '../testbed/links.js';
import type { TestBed } from '../testbed/testbed.js';
import { deployStatefulSet, deployWeb, scaleStatefulSet, type Pod } from '../support/workloads.js';
import { DnsCanary } from './canary.js';
import { MirrorWedges } from './mirror-wedge.js';
import { differencesIn, evidenceOf, expectedIn, type Difference } from './oracle.js';
import { Random } from './random.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly seed: number;
  /** Changes per second. */
  readonly rate: number;
  readonly checkPeriodMs?: number;
  /** Convergence bound outside faults: the batch period + 10 s. */
  readonly boundMs?: number;
  /** While a fault is active, and this long after it heals, differences are allowed. */
  readonly afterHealMs?: number;
  readonly log?: (line: string) => void;
}

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Violation {
  seed: number;
  atSeconds: number;
  cluster: string;
  global: string;
  expected: string;
  seen: string;
  lastedSeconds: number;
  lastFaults: string[];
  lastChanges: string[];
  /** What the cluster held for that global when the violation was found (oracle.ts evidenceOf). */
  evidence: string[];
}

export interface SoakReport {
  seed: number;
  durationSeconds: number;
  rate: number;
  mirror: string;
  changes: Record<string, number>;
  changesRefused: number;
  faults: Record<string, number>;
  checks: number;
  viewersUnchecked: number;
  /** Per cluster, the rounds its CoreDNS lagged (canary.ts): its A answer was read from the global's slices. */
  coreDnsLagRounds: Record<string, number>;
  violations: Violation[];
  timeToCorrectAfterChangeMs: Distribution;
  timeToCorrectAfterHealMs: Distribution;
  differenceLifetimeMs: Distribution;
  apiWritesPerChange: number;
  rssMiB: Record<string, { start: number; end: number; max: number }>;
  unexpectedRestarts: number;
  /**
   * Times a Linkerd mirror won its lease back in the process that lost it and froze until it
   * exited (mirror-wedge.ts). Not excused: the oracle reads Linkerd's objects, frozen or not.
   */
  mirrorWedges: { mirror: string; atSeconds: number; lastedSeconds: number }[];
  notTried: string[];
}

const NAMESPACES_USED = ['soak-a', 'soak-b'];
/**
 * StatefulSets behind headless exports (per-pod names), Deployments behind ClusterIP exports (a
 * gateway address per cluster), and a StatefulSet whose pods' labels need rewriting in north
 * (`<hostname>-north` is 64 characters; 63 in west and east).
 */
const NAMES = ['db0', 'db1', 'db2', 'db3', 'db4'];
const WEBS = ['web0', 'web1'];
const LONG = 'db-named-at-a-length-so-that-pod-labels-in-north-are-cut';
const WORKLOADS = [...NAMES, ...WEBS, LONG];
const isWeb = (name: string) => WEBS.includes(name);
const FAULTS = [
  'apiserver-kill',
  'etcd-kill',
  'control-plane-stop',
  'mirror-kill',
  'leader-kill',
  'gateway-down',
  'watch-410',
  'api-errors',
  'slow-answers',
  'watches-cut',
] as const;
/** The cluster whose globalsvc instances reach their API server through the fault proxy. */
const PROXIED = 'east';
type FaultKind = (typeof FAULTS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A request to a cluster in a fault may hang: the soak does not wait for it longer than this. */
const within = <T>(ms: number, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export async function soak(bed: TestBed, o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // One stream per loop, forked per change, fault and round (random.ts): a replay draws the same.
  const schedule = new Random(o.seed);
  const [CHURN, CHAOS, ORACLE] = [0, 1, 2];
  let changeCount = 0;
  let faultCount = 0;
  const checkPeriod = o.checkPeriodMs ?? 5_000;
  const bound = o.boundMs ?? 10_050;
  const afterHeal = o.afterHealMs ?? 20_000;
  const clusters = [...bed.clusters.keys()];
  const started = Date.now();
  const since = () => ((Date.now() - started) / 1000).toFixed(1);

  const changes: Record<string, number> = {};
  let refused = 0;
  const faults: Record<string, number> = {};
  const recentChanges: string[] = [];
  const recentFaults: string[] = [];
  const remember = (list: string[], line: string) => {
    list.push(`+${since()}s ${line}`);
    if (list.length > 8) list.shift();
  };

  // What the soak knows of the world it drives: which gateways it stopped, which links and
  // namespaces it took away, which instances it killed.
  const gatewaysDown = new Set<string>();
  const unlinked = new Set<string>();
  const namespacesGone = new Set<string>();
  const killed = new Set<string>();
  let faultActive: string | undefined;
  let healedAt = 0;
  let heals: { at: number; open: Set<string> }[] = [];

  log(`soak: seed ${o.seed}, ${o.durationMs / 1000} s, ${o.rate} changes/s, mirror ${bed.mirror.command}`);
  // A standby per cluster, so that killing a leader is a failover, as in production.
  for (const c of clusters) await bed.product.addReplica(c, 'standby');
  // East's globalsvc (both instances) talk to its API server through the fault proxy, which
  // answers 409, 429 and 500 as the API server does, or cuts every open watch, when told to.
  const proxied = bed.cluster(PROXIED);
  const proxy = await FaultProxy.start(proxied.server, /certificate-authority: (\S+)/.exec(readFileSync(proxied.kubeconfig, 'utf8'))![1]!);
  for (const id of [PROXIED, `${PROXIED}-standby`]) await bed.product.reroute(id, proxy.url);
  for (const c of clusters) for (const ns of NAMESPACES_USED) await bed.cluster(c).admin.ensureNamespace(ns);
  for (const c of clusters) {
    for (const name of [...NAMES.slice(0, 2), LONG]) await deployStatefulSet(bed.cluster(c), 'soak-a', name, 2, { port: 5432 });
    await deployWeb(bed.cluster(c), 'soak-a', WEBS[0]!, 2);
  }

  const instances = () => clusters.flatMap((c) => [c, `${c}-standby`]);
  const rss = new Map<string, { start: number; end: number; max: number }>();
  const sampleRss = () => {
    for (const id of instances()) {
      const mib = rssMiB(bed.procs.pid(`globalsvc-${id}`));
      if (mib === undefined) continue;
      const r = rss.get(id) ?? { start: mib, end: mib, max: mib };
      rss.set(id, { start: r.start, end: mib, max: Math.max(r.max, mib) });
    }
  };
  const writes = new Map<string, number>();
  let writesTotal = 0;
  const sampleWrites = async () => {
    for (const id of instances()) {
      if (!bed.product.running(id)) continue;
      const n = await bed.product.metric(id, 'globalsvc_api_writes_total').catch(() => undefined);
      if (n === undefined) continue;
      const before = writes.get(id) ?? 0;
      writesTotal += n >= before ? n - before : n;
      writes.set(id, n);
    }
  };

  // ---- churn
  async function change(): Promise<void> {
    const random = schedule.fork(CHURN, changeCount++);
    const cluster = random.pick(clusters);
    const admin = bed.cluster(cluster).admin;
    const ns = random.pick(NAMESPACES_USED);
    const name = random.pick(WORKLOADS);
    const workload = isWeb(name) ? DEPLOYMENTS : STATEFUL_SETS;
    const kind = random.weighted<string>([
      ['scale', 36],
      ['create', 15],
      ['delete', 8],
      ['export', 10],
      ['unexport', 6],
      ['port', 6],
      ['ready', 8],
      ['unlink', 1],
      ['namespace', 1],
    ]);
    const what = `${kind} ${cluster} ${ns}/${name}`;
    try {
      if (namespacesGone.has(`${cluster}/${ns}`) && kind !== 'namespace') throw new Error('namespace being recreated');
      switch (kind) {
        case 'create':
          await within(
            5_000,
            isWeb(name)
              ? deployWeb(bed.cluster(cluster), ns, name, random.int(1, 3))
              : deployStatefulSet(bed.cluster(cluster), ns, name, random.int(1, 3), { port: 5432 }),
          );
          break;
        case 'scale': {
          if (!(await within(5_000, admin.get(workload, ns, name)))) throw new Error(`no such ${workload.kind}`);
          const replicas = random.weighted([
            [0, 1],
            [1, 2],
            [2, 2],
            [3, 2],
            [4, 1],
          ]);
          await within(
            5_000,
            isWeb(name)
              ? admin.patchMerge(DEPLOYMENTS, ns, name, { spec: { replicas } })
              : scaleStatefulSet(bed.cluster(cluster), ns, name, replicas),
          );
          break;
        }
        case 'delete':
          await within(5_000, admin.delete(workload, ns, name));
          await within(5_000, admin.delete(SERVICES, ns, name));
          break;
        case 'ready': {
          // A running pod turns not ready, or ready again, as a failing readiness probe would have it
          // (kwok leaves a running pod's conditions to whoever writes them).
          const pods = (await within(5_000, admin.list<Pod>(PODS, ns, `app=${name}`))).filter((p) => p.status?.phase === 'Running');
          if (pods.length === 0) throw new Error('no running pod');
          const pod = random.pick(pods);
          const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True';
          const conditions = (pod.status?.conditions ?? []).map((c) =>
            c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: ready ? 'True' : 'False' } : c,
          );
          await within(
            5_000,
            admin.api.request('update', PODS, 'PATCH', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/status`, {
              body: { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions } },
              contentType: 'application/merge-patch+json',
            }),
          );
          break;
        }
        case 'export':
        case 'unexport':
          if (!(await within(5_000, admin.get(SERVICES, ns, name)))) throw new Error('no such Service');
          await within(
            5_000,
            admin.patchMerge(SERVICES, ns, name, {
              metadata: { labels: { 'mirror.linkerd.io/exported': kind === 'export' ? 'true' : null } },
            }),
          );
          break;
        case 'port': {
          if (!(await within(5_000, admin.get(SERVICES, ns, name)))) throw new Error('no such Service');
          const ports = isWeb(name)
            ? [{ name: 'http', protocol: 'TCP', port: random.pick([80, 8080, 8081]), targetPort: 8080 }]
            : [{ name: 'pg', protocol: 'TCP', port: random.pick([5432, 5433, 6432]) }];
          await within(5_000, admin.patchMerge(SERVICES, ns, name, { spec: { ports } }));
          break;
        }
        case 'unlink': {
          const target = random.pick(clusters.filter((c) => c !== cluster));
          const pair = `${cluster}->${target}`;
          if (unlinked.has(pair) || unlinked.size > 0) throw new Error('a link is away already');
          unlinked.add(pair);
          const back = random.int(20_000, 60_000);
          // Linked again later whatever happens now: an unlink cut short by a fault is finished by the link.
          const unlinking = within(20_000, unlink(bed.procs, bed.cluster(cluster), bed.cluster(target)));
          remember(recentChanges, `unlink ${pair} (back in ${back / 1000} s)`);
          setTimeout(() => {
            // Linked again like `linkerd multicluster link` would be: retried while its cluster is away.
            const relink = async () => {
              for (let attempt = 1; ; attempt++)
                try {
                  await stopMirror(bed.procs, bed.cluster(cluster), bed.cluster(target));
                  await link(bed.procs, bed.mirror, bed.cluster(cluster), bed.cluster(target), bed.gateway(target).address);
                  return;
                } catch (err) {
                  if (attempt >= 60) throw err;
                  await sleep(5_000);
                }
            };
            void relink()
              .then(() => remember(recentChanges, `link ${pair}`))
              .catch((err: unknown) => log(`soak: +${since()}s linking ${pair} again failed: ${String(err)}`))
              .finally(() => unlinked.delete(pair));
          }, back);
          await unlinking;
          break;
        }
        case 'namespace': {
          const key = `${cluster}/${ns}`;
          if (namespacesGone.size > 0) throw new Error('a namespace is away already');
          namespacesGone.add(key);
          await within(5_000, admin.delete(NAMESPACES, undefined, ns));
          const back = random.int(20_000, 60_000);
          setTimeout(() => {
            const recreate = async () => {
              // Its deletion finishes first (the namespace controller empties it).
              for (let i = 0; i < 60 && (await admin.get(NAMESPACES, undefined, ns).catch(() => 'unknown')); i++) await sleep(1_000);
              await admin.ensureNamespace(ns);
              remember(recentChanges, `namespace ${key} back`);
            };
            void recreate()
              .catch((err: unknown) => log(`soak: +${since()}s recreating ${key} failed: ${String(err)}`))
              .finally(() => namespacesGone.delete(key));
          }, back);
          break;
        }
      }
      changes[kind] = (changes[kind] ?? 0) + 1;
      if (kind !== 'unlink') remember(recentChanges, what);
      pendingChanges.push({ at: Date.now(), subject: `${ns}/${name}` });
    } catch {
      refused++;
    }
  }

  // ---- faults
  async function fault(kind: FaultKind, healMs: number, random: Random): Promise<void> {
    const cluster = kind === 'api-errors' || kind === 'slow-answers' || kind === 'watches-cut' ? PROXIED : random.pick(clusters);
    const peer = random.pick(clusters.filter((c) => c !== cluster));
    faultActive = `${kind} ${cluster}${kind === 'mirror-kill' ? `->${peer}` : ''} for ${(healMs / 1000).toFixed(0)} s`;
    remember(recentFaults, faultActive);
    faults[kind] = (faults[kind] ?? 0) + 1;
    log(`soak: +${since()}s fault ${faultActive}`);
    const local = bed.local(cluster);
    try {
      switch (kind) {
        case 'apiserver-kill':
          await local.restartComponent('kube-apiserver', healMs);
          break;
        case 'etcd-kill':
          await local.restartComponent('etcd', healMs);
          break;
        case 'control-plane-stop':
          await local.kwokctl('stop', 'cluster');
          await sleep(healMs);
          await local.kwokctl('start', 'cluster');
          // As e2e 11 does: else kube-controller-manager marks its nodes and pods NotReady about 200 s
          // later, under a later fault or a later test (LocalCluster.handNodeLeasesOver).
          await local.handNodeLeasesOver();
          break;
        case 'mirror-kill':
          if (unlinked.has(`${cluster}->${peer}`)) break;
          await stopMirror(bed.procs, bed.cluster(cluster), bed.cluster(peer));
          await sleep(healMs);
          // Unless an unlink and link in the meantime started it again.
          if (bed.procs.pid(`service-mirror-${cluster}-${peer}`) === undefined)
            await startMirror(bed.procs, bed.mirror, bed.cluster(cluster), bed.cluster(peer), bed.gateway(peer).address);
          break;
        case 'leader-kill': {
          let leader: string | undefined;
          for (const id of [cluster, `${cluster}-standby`])
            if (bed.product.running(id) && (await bed.product.metric(id, 'globalsvc_leader').catch(() => 0)) === 1) leader = id;
          if (!leader) break;
          killed.add(leader);
          await bed.product.stop(leader, 'SIGKILL');
          await sleep(healMs);
          await bed.product.start(leader);
          killed.delete(leader);
          break;
        }
        case 'gateway-down':
          gatewaysDown.add(cluster);
          await bed.gateway(cluster).stop();
          await sleep(healMs);
          await bed.gateway(cluster).start();
          gatewaysDown.delete(cluster);
          break;
        case 'watch-410':
          await local.compactEtcd();
          await sleep(healMs);
          break;
        case 'api-errors': {
          const status = random.pick([409, 429, 500] as const);
          proxy.inject({ verb: 'write', status, times: random.int(3, 30) });
          proxy.inject({ verb: 'list', status: status === 409 ? 500 : status, times: random.int(1, 5) });
          faultActive += `: ${status}s`;
          await sleep(healMs);
          proxy.clear();
          break;
        }
        case 'slow-answers': {
          const ms = random.int(500, 5_000);
          proxy.slow(ms);
          faultActive += `: ${ms} ms each`;
          await sleep(healMs);
          proxy.clear();
          break;
        }
        case 'watches-cut':
          proxy.expireWatches();
          await sleep(healMs);
          break;
      }
    } finally {
      // Healed whatever happened: a fault that failed half-way must not leave the oracle blind.
      log(`soak: +${since()}s healed ${faultActive}`);
      faultActive = undefined;
      healedAt = Date.now();
      heals.push({ at: healedAt, open: new Set(open.keys()) });
    }
  }

  // ---- the oracle's rounds
  const open = new Map<string, { first: number; diff: Difference; duringFault: boolean }>();
  const violations: Violation[] = [];
  const violated = new Set<string>();
  const lifetimes: number[] = [];
  const afterChange: number[] = [];
  const afterHealTimes: number[] = [];
  const pendingChanges: { at: number; subject: string }[] = [];
  let checks = 0;
  let unchecked = 0;
  const dnsLagRounds: Record<string, number> = {};
  const dnsLagging = new Set<string>();
  const canary = new DnsCanary(bed);
  await canary.install();
  let unexpectedRestarts = 0;
  const wedges = new MirrorWedges();
  const stopWatchingMirrors = bed.procs.onLine((name, line) => {
    const before = wedges.all.length;
    wedges.observe(name, line, Date.now());
    if (wedges.all.length > before) log(`soak: +${since()}s ${name} won its lease back in the same process: wedged until it restarts`);
  });

  const evidenceFor = async (d: Difference): Promise<string[]> => {
    const [namespace, name] = d.subject.split('/');
    if (!namespace || !name) return [];
    return within(10_000, evidenceOf(bed, d.viewer, namespace, name)).catch((err: unknown) => [`unreadable: ${String(err)}`]);
  };

  async function check(): Promise<void> {
    const now = Date.now();
    const seen = new Map<string, Difference>();
    const checked = new Set<string>();
    const random = schedule.fork(ORACLE, checks);
    for (const viewer of clusters) {
      try {
        const dnsFresh = await within(5_000, canary.fresh(viewer)).catch(() => undefined);
        if (dnsFresh === false) dnsLagRounds[viewer] = (dnsLagRounds[viewer] ?? 0) + 1;
        if (dnsFresh !== undefined && dnsFresh !== !dnsLagging.has(viewer)) {
          if (dnsFresh) dnsLagging.delete(viewer);
          else dnsLagging.add(viewer);
          log(`soak: +${since()}s CoreDNS of ${viewer} ${dnsFresh ? 'caught up' : 'lags (its A answers are read from the slices)'}`);
        }
        const expected = await within(15_000, expectedIn(bed, viewer, NAMESPACES_USED, new Set(gatewaysDown)));
        for (const d of await within(30_000, differencesIn(bed, viewer, expected, random, dnsFresh))) seen.set(`${d.id} ${d.expected}`, d);
        checked.add(viewer);
      } catch {
        unchecked++;
      }
    }
    checks++;
    for (const [id, d] of seen)
      if (!open.has(id))
        open.set(id, {
          first: now,
          diff: d,
          duringFault: faultActive !== undefined || now - healedAt < afterHeal,
        });
    for (const [id, w] of open) {
      if (!checked.has(w.diff.viewer)) continue;
      if (!seen.has(id)) {
        lifetimes.push(now - w.first);
        open.delete(id);
        continue;
      }
      const allowedUntil = Math.max(w.first + bound, faultActive !== undefined ? Infinity : healedAt + afterHeal);
      if (now > allowedUntil && !violated.has(id)) {
        violated.add(id);
        const v: Violation = {
          seed: o.seed,
          atSeconds: Math.round((now - started) / 1000),
          cluster: w.diff.viewer,
          global: w.diff.subject,
          expected: w.diff.expected,
          seen: seen.get(id)!.seen,
          lastedSeconds: Math.round((now - w.first) / 1000),
          lastFaults: [...recentFaults],
          lastChanges: [...recentChanges],
          evidence: await evidenceFor(w.diff),
        };
        violations.push(v);
        log(`soak: VIOLATION ${JSON.stringify(v)}`);
      }
    }
    // Time to correct: a change once its global is right everywhere checked, a heal once what was
    // wrong when it healed is right.
    const wrongSubjects = new Set([...open.values()].map((x) => x.diff.subject));
    for (let i = pendingChanges.length - 1; i >= 0; i--) {
      const c = pendingChanges[i]!;
      if (c.at > now || wrongSubjects.has(c.subject) || checked.size < clusters.length) continue;
      afterChange.push(now - c.at);
      pendingChanges.splice(i, 1);
    }
    heals = heals.filter((h) => {
      if (h.at > now || [...h.open].some((id) => open.has(id)) || checked.size < clusters.length) return true;
      afterHealTimes.push(now - h.at);
      return false;
    });
    // globalsvc instances that stopped without the soak stopping them.
    for (const id of instances())
      if (!killed.has(id) && !bed.product.running(id)) {
        unexpectedRestarts++;
        log(`soak: +${since()}s globalsvc ${id} was not running: started again`);
        await bed.product.start(id).catch(() => undefined);
      }
    sampleRss();
    await sampleWrites();
  }

  // ---- the run
  const end = started + o.durationMs;
  let stopping = false;
  const churn = (async () => {
    const every = 1000 / o.rate;
    let next = Date.now();
    while (!stopping) {
      await change();
      next += every;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else next = Date.now();
    }
  })();
  const chaos = (async () => {
    while (!stopping) {
      const random = schedule.fork(CHAOS, faultCount++);
      const pause = random.int(30_000, 120_000);
      const until = Date.now() + pause;
      while (!stopping && Date.now() < until) await sleep(500);
      if (stopping || Date.now() + 35_000 > end) break;
      await fault(random.pick(FAULTS), random.int(2_000, 30_000), random).catch((err: unknown) =>
        log(`soak: fault failed: ${String(err)}`),
      );
    }
  })();
  const oracle = (async () => {
    while (!stopping) {
      const round = Date.now();
      await check();
      await sleep(Math.max(0, checkPeriod - (Date.now() - round)));
    }
  })();
  while (Date.now() < end) await sleep(1_000);
  stopping = true;
  await Promise.all([churn, chaos]);
  await oracle;
  for (const id of [PROXIED, `${PROXIED}-standby`]) await bed.product.reroute(id, undefined);

  await proxy.stop();
  // The last word: the churn stopped, every fault healed; whatever is still wrong gets the bound to settle.
  const settle = Date.now() + bound + checkPeriod;
  while (Date.now() < settle) {
    await check();
    await sleep(checkPeriod);
  }
  stopWatchingMirrors();
  // The bed as the soak found it: one replica per cluster (a later scenario restarts that one).
  for (const c of clusters) await bed.product.remove(`${c}-standby`);

  return {
    seed: o.seed,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    rate: o.rate,
    mirror: bed.mirror.command,
    changes,
    changesRefused: refused,
    faults,
    checks,
    viewersUnchecked: unchecked,
    coreDnsLagRounds: dnsLagRounds,
    violations,
    timeToCorrectAfterChangeMs: distribution(afterChange),
    timeToCorrectAfterHealMs: distribution(afterHealTimes),
    differenceLifetimeMs: distribution(lifetimes),
    apiWritesPerChange:
      Object.values(changes).reduce((a, b) => a + b, 0) > 0 ? writesTotal / Object.values(changes).reduce((a, b) => a + b, 0) : 0,
    rssMiB: Object.fromEntries(rss),
    unexpectedRestarts,
    mirrorWedges: wedges.all.map((w) => ({
      mirror: w.mirror,
      atSeconds: Math.round((w.from - started) / 1000),
      lastedSeconds: Math.round(((w.to ?? Date.now()) - w.from) / 1000),
    })),
    notTried: [
      'IPv6 and dual-stack members (the test bed is IPv4)',
      'hostname collisions between clusters (a hashed label for each of the pair)',
    ],
  };
}
