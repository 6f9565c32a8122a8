import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { BurstPolicyStatus } from '../../src/burst/status.js';
import { BURST_POLICIES, SERVICES } from '../../src/cluster/kube-api.js';
import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { eventAbout } from '../support/events.js';
import { WORKLOAD_IMAGE, namespaceEverywhere } from '../support/workloads.js';
import { repoRoot } from '../testbed/binaries.js';
import type { Cluster } from '../testbed/cluster.js';
import { CONFIG_MAPS, CRDS, DEPLOYMENTS, HTTP_ROUTES, NAMESPACES, NODES, TRAFFIC_SPLITS } from '../testbed/kube.js';
import { crd } from '../testbed/links.js';
import { waitFor } from '../testbed/processes.js';
import { LoadTarget, PrometheusServer, prometheusAvailable } from '../testbed/prometheus.js';
import type { TestBed } from '../testbed/testbed.js';

// Bursting end to end: globalsvc in west (as its ServiceAccount, with the shipped RBAC) reads a
// real Prometheus that scrapes Linkerd-shaped counters this test drives, replicates Deployments
// into east and north through their Link secrets, and splits traffic with HTTPRoutes that the real
// Gateway API CRD validates (or SMI TrafficSplits, against a CRD written from the SMI spec). Timings are seconds so that the file runs in a couple of minutes.
const run = promisify(execFile);
const NS = 'burst-e2e';
const HOME_LABEL = 'burst.e2e/home';
const BURST_CRD = parse(readFileSync(join(repoRoot, 'manifests/crds/globalsvc.dev_burstpolicies.yaml'), 'utf8')) as KubeObject;
const ROUTE_CRD = crd('gateway-api-v1.2.1-httproutes.yaml');
const SPLIT_CRD = crd('smi-trafficsplit-v1alpha2.yaml');
const OURS = 'app.kubernetes.io/managed-by=globalsvc';

type Policy = KubeObject & { spec: Record<string, unknown>; status?: BurstPolicyStatus };
interface Deployment extends KubeObject {
  spec: { replicas: number };
  status?: { readyReplicas?: number };
}
interface Route extends KubeObject {
  spec: { parentRefs: unknown[]; rules: { backendRefs: { name: string; port: number; weight: number }[] }[] };
}
interface TrafficSplit extends KubeObject {
  spec: { service: string; backends: { service: string; weight: number }[] };
}

const hasPrometheus = prometheusAvailable();
if (!hasPrometheus) process.stderr.write('e2e: no prometheus binary: the bursting scenario is skipped\n');

(hasPrometheus ? describeOnBed : describe.skip)('bursting a Deployment into peers, and back', () => {
  let bed: TestBed;
  let west: Cluster;
  let load: LoadTarget;
  let prometheus: PrometheusServer;
  let installedArgs: string[];
  const timeline: string[] = [];
  const started = Date.now();
  let watching: NodeJS.Timeout | undefined;
  const lastPhase = new Map<string, string>();

  const policy = (name: string, peers: string[], extra: Record<string, unknown> = {}): Policy => ({
    apiVersion: 'globalsvc.dev/v1alpha1',
    kind: 'BurstPolicy',
    metadata: { name, namespace: NS },
    spec: {
      target: { name },
      metric: { window: '5s', interval: '1s' },
      burstValue: 50,
      reconcileValue: 10,
      throttleDelay: '3s',
      peers,
      readinessDeadline: '45s',
      cooldown: '5s',
      ...extra,
    },
  });

  /** A Deployment of two pods with its Service and ConfigMap; `home` pins its pods to west's nodes. */
  async function deploy(name: string, home = false): Promise<void> {
    await west.admin.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-config`, namespace: NS },
      data: { MODE: 'burst' },
    });
    await west.admin.apply<Service>(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS, labels: { app: name } },
        spec: { selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
      },
      SERVICES,
    );
    await west.admin.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS, labels: { app: name } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...(home && { nodeSelector: { [HOME_LABEL]: 'west' } }),
            containers: [{ name: 'app', image: WORKLOAD_IMAGE, envFrom: [{ configMapRef: { name: `${name}-config` } }] }],
          },
        },
      },
    } as KubeObject);
    await waitFor(`${name} ready in west`, async () => {
      const d = await west.admin.get<Deployment>(DEPLOYMENTS, NS, name);
      return d?.status?.readyReplicas === 2;
    });
  }

  const statusOf = async (name: string) => (await west.admin.get<Policy>(BURST_POLICIES, NS, name))?.status;
  const phaseIs = (name: string, phase: string, timeoutMs = 90_000) =>
    waitFor(`${name} ${phase}`, async () => (await statusOf(name))?.phase === phase, timeoutMs, 250);
  const condition = (status: BurstPolicyStatus | undefined, type: string) => status?.conditions.find((c) => c.type === type);
  /** Everything carrying our managed-by label in the test namespace of `cluster`. */
  const oursIn = async (cluster: Cluster) => {
    const found: string[] = [];
    for (const type of [DEPLOYMENTS, SERVICES, CONFIG_MAPS])
      for (const o of await cluster.admin.list(type, NS, OURS)) found.push(`${type.kind}/${o.metadata.name}`);
    return found.sort();
  };
  const routes = () => west.admin.list<Route>(HTTP_ROUTES, NS);
  /**
   * What west's globalsvc asked of every API (its own, its peers'), by verb; watches aside (each is
   * held open, reopened every 30 s), and the leader election's Lease renewals.
   */
  const requests = async (): Promise<Record<string, number>> => {
    const byVerb: Record<string, number> = {};
    const count = (labels: Record<string, string>) => bed.product.metric('west', 'globalsvc_api_requests_total', labels);
    for (const verb of ['get', 'list', 'create', 'apply', 'update', 'delete'])
      byVerb[verb] = (await count({ verb })) - (await count({ verb, kind: 'Lease' }));
    return byVerb;
  };
  const since = (before: Record<string, number>, after: Record<string, number>) => {
    const delta = Object.fromEntries(Object.entries(after).map(([verb, n]) => [verb, n - (before[verb] ?? 0)]));
    const reads = delta.get! + delta.list!;
    return { reads, writes: Object.values(delta).reduce((a, b) => a + b, 0) - reads, delta };
  };
  /** Requests over `ms` of a steady phase, with one pass a second (the policies' metric interval). */
  const steady = async (what: string, ms: number) => {
    const before = await requests();
    await new Promise((r) => setTimeout(r, ms));
    const { reads, writes, delta } = since(before, await requests());
    console.log(`[e2e 17] ${what}, ${ms / 1000} s (about ${ms / 1000} passes): ${reads} reads, ${writes} writes ${JSON.stringify(delta)}`);
    expect(reads, `${what}: a pass reads everything from the caches`).toBe(0);
  };
  let beforeBurst: Record<string, number> = {};
  let burstStarted = 0;
  const trafficSplits = () => west.admin.list<TrafficSplit>(TRAFFIC_SPLITS, NS);

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    west = bed.cluster('west');
    for (const c of [BURST_CRD, ROUTE_CRD, SPLIT_CRD]) await west.admin.apply(c, CRDS);
    await waitFor('the BurstPolicy, HTTPRoute and TrafficSplit CRDs served in west', async () => {
      await west.admin.list(BURST_POLICIES, NS);
      await west.admin.list(HTTP_ROUTES, NS);
      await west.admin.list(TRAFFIC_SPLITS, NS);
      return true;
    });
    // Where the target of "never ready" may run: west's nodes only; east and north have no such node.
    for (const node of await west.admin.list(NODES))
      await west.admin.patchMerge(NODES, undefined, node.metadata.name!, { metadata: { labels: { [HOME_LABEL]: 'west' } } });
    for (const c of bed.clusters.values()) await c.admin.ensureNamespace(NS);
    load = new LoadTarget();
    await load.start();
    prometheus = await PrometheusServer.start(bed.procs, bed.dir, load);
    installedArgs = [...bed.product.instance('west').args];
    await bed.product.restartWith('west', [...installedArgs, '--burst=true', `--prometheus-url=${prometheus.url}`]);
    watching = setInterval(() => {
      void west.admin.list<Policy>(BURST_POLICIES, NS).then(
        (policies) => {
          for (const p of policies) {
            const s = p.status;
            const line = `${s?.phase ?? '-'} metric=${s?.metric?.value?.toFixed(1) ?? '-'} replicated=${s?.replicated?.length ?? 0}`;
            if (lastPhase.get(p.metadata.name!) === s?.phase) continue;
            lastPhase.set(p.metadata.name!, s?.phase ?? '-');
            timeline.push(`+${((Date.now() - started) / 1000).toFixed(1)}s ${p.metadata.name}: ${line}`);
          }
        },
        () => undefined,
      );
    }, 250);
  });

  afterAll(async () => {
    if (watching) clearInterval(watching);
    process.stderr.write(`bursting timeline (status.phase as polled every 250 ms):\n  ${timeline.join('\n  ')}\n`);
    if (!bed) return;
    for (const p of await west.admin.list(BURST_POLICIES, NS).catch(() => []))
      await west.admin.delete(BURST_POLICIES, NS, p.metadata.name!);
    await waitFor('every policy withdrawn', async () => (await west.admin.list(BURST_POLICIES, NS)).length === 0).catch(() => undefined);
    if (installedArgs) await bed.product.restartWith('west', installedArgs);
    await prometheus?.stop();
    await load?.stop();
    for (const c of bed.clusters.values()) await c.admin.delete(NAMESPACES, undefined, NS);
    await west.admin.delete(CRDS, undefined, 'burstpolicies.globalsvc.dev');
    await west.admin.delete(CRDS, undefined, 'httproutes.gateway.networking.k8s.io');
    await west.admin.delete(CRDS, undefined, 'trafficsplits.split.smi-spec.io');
  });

  it('bursts under load: a ready replica in the peer, its mirror here, and an HTTPRoute splitting traffic', async () => {
    await deploy('web');
    await west.admin.apply(policy('web', ['east']), BURST_POLICIES);
    await phaseIs('web', 'Idle', 30_000);
    await steady('steady Idle', 5_000);
    beforeBurst = await requests();
    burstStarted = Date.now();
    load.setRate(NS, 'web', 200);
    await phaseIs('web', 'Burst');
    await steady('steady Burst', 5_000);

    const east = bed.cluster('east');
    expect(await oursIn(east)).toEqual(['ConfigMap/web-config', 'Deployment/web', 'Service/web']);
    const replica = (await east.admin.get<Deployment>(DEPLOYMENTS, NS, 'web'))!;
    expect(replica.metadata.labels).toMatchObject({
      'globalsvc.dev/replica-of': `west.${NS}.web`,
      'app.kubernetes.io/managed-by': 'globalsvc',
    });
    expect(replica.metadata.annotations?.['globalsvc.dev/replica-of']).toBe(`west/${NS}/web`);
    expect(replica.status?.readyReplicas).toBe(2);
    const local = (await west.admin.get<Service>(SERVICES, NS, 'web'))!;
    const exported = (await east.admin.get<Service>(SERVICES, NS, 'web'))!;
    expect(exported.metadata.labels?.['mirror.linkerd.io/exported']).toBe('true');
    expect(exported.spec?.clusterIP).not.toBe(local.spec?.clusterIP);
    expect(await west.admin.get(SERVICES, NS, 'web-east'), 'the mirror of the replica').toBeDefined();

    const [route, ...more] = await routes();
    expect(more).toEqual([]);
    expect(route!.metadata.name).toBe('web-burst-8080');
    expect(route!.spec.parentRefs).toEqual([{ group: '', kind: 'Service', name: 'web', port: 8080 }]);
    // ReadyReplicas: two pods here, two there.
    expect(route!.spec.rules[0]!.backendRefs.map((b) => [b.name, b.port, b.weight])).toEqual([
      ['web', 8080, 2],
      ['web-east', 8080, 2],
    ]);
    const status = await statusOf('web');
    expect(condition(status, 'ReplicaReady')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(status?.replicated?.map((r) => `${r.cluster}/${r.kind}/${r.name}`).sort()).toEqual([
      'east/ConfigMap/web-config',
      'east/Deployment/web',
      'east/Service/web',
    ]);
  });

  it('changes nothing while Prometheus is down, and says so in MetricAvailable', async () => {
    await prometheus.stop();
    await waitFor(
      'MetricAvailable False',
      async () => condition(await statusOf('web'), 'MetricAvailable')?.reason === 'PrometheusUnreachable',
    );
    // Longer than throttleDelay: had it counted as low load, the burst would be scaling back by now.
    load.setRate(NS, 'web', 0);
    await new Promise((r) => setTimeout(r, 6_000));
    const status = await statusOf('web');
    expect(status?.phase).toBe('Burst');
    expect(condition(status, 'MetricAvailable')).toMatchObject({ status: 'False', reason: 'PrometheusUnreachable' });
    expect(await routes()).toHaveLength(1);
    expect(await oursIn(bed.cluster('east'))).toHaveLength(3);
    load.setRate(NS, 'web', 200);
    await prometheus.resume();
    await waitFor('MetricAvailable True', async () => condition(await statusOf('web'), 'MetricAvailable')?.status === 'True');
  });

  it('scales back when the load falls: weights home, the route gone, then the replica and its mirror', async () => {
    load.setRate(NS, 'web', 0);
    // Through ScalingBack, which may last less than a poll: the peer's watch shows the replica gone at once.
    await eventAbout(west, NS, 'web', 'ScalingBack');
    await phaseIs('web', 'Idle');
    const { reads, writes, delta } = since(beforeBurst, await requests());
    console.log(
      `[e2e 17] one burst and scale-back of web (${((Date.now() - burstStarted) / 1000).toFixed(1)} s, the Prometheus outage included): ${reads} reads, ${writes} writes ${JSON.stringify(delta)}`,
    );
    // Read as it comes back to Idle: the cooldown is 5 s, and Linkerd may take longer to drop the mirror.
    expect(condition(await statusOf('web'), 'CoolingDown')).toMatchObject({ status: 'True' });
    expect(await routes()).toEqual([]);
    expect(await oursIn(bed.cluster('east'))).toEqual([]);
    await waitFor('the mirror web-east gone', async () => (await west.admin.get(SERVICES, NS, 'web-east')) === undefined);
    const status = await statusOf('web');
    expect(status?.replicated ?? []).toEqual([]);
    const { stdout } = await run(bed.binaries.kubectl, [
      '--kubeconfig',
      west.kubeconfig,
      '-n',
      NS,
      'get',
      'burstpolicy',
      'web',
      '-o',
      'yaml',
    ]);
    process.stderr.write(`kubectl get burstpolicy web -o yaml, after the scale-back:\n${stdout}\n`);
  });

  it('rolls a replica that never becomes ready back to nothing and reports Failed', async () => {
    // The target runs on west's nodes only (a nodeSelector on a label only they carry), and the replica
    // copies its pod template faithfully: in east no node matches, so its pods stay Pending.
    await deploy('stuck', true);
    await west.admin.apply(policy('stuck', ['east'], { readinessDeadline: '8s', cooldown: '10m' }), BURST_POLICIES);
    load.setRate(NS, 'stuck', 200);
    await phaseIs('stuck', 'Bursting');
    await waitFor('the replica created in east', async () => (await oursIn(bed.cluster('east'))).includes('Deployment/stuck'));
    await phaseIs('stuck', 'Failed', 60_000);
    // Nothing left anywhere: the replica in east, and (once Linkerd drops them) its mirrors in west and
    // north with the globals made for them.
    for (const c of ['east', 'north'])
      await waitFor(`nothing of ours left in ${c}`, async () => (await oursIn(bed.cluster(c))).length === 0);
    await waitFor('the mirror stuck-east gone from west', async () => (await west.admin.get(SERVICES, NS, 'stuck-east')) === undefined);
    const status = await statusOf('stuck');
    expect(condition(status, 'ReplicaReady')).toMatchObject({ status: 'False', reason: 'ReadinessDeadlineExceeded' });
    expect(condition(status, 'CoolingDown')).toMatchObject({ status: 'True' });
    expect(await routes()).toEqual([]);
    load.setRate(NS, 'stuck', 0);
  });

  it('leaves no orphans when a policy is edited to another peer, then deleted, mid-burst', async () => {
    const [east, north] = [bed.cluster('east'), bed.cluster('north')];
    await deploy('api');
    await west.admin.apply(policy('api', ['east']), BURST_POLICIES);
    load.setRate(NS, 'api', 200);
    await phaseIs('api', 'Burst');
    expect(await oursIn(east)).toEqual(['ConfigMap/api-config', 'Deployment/api', 'Service/api']);

    await west.admin.patchMerge(BURST_POLICIES, NS, 'api', { spec: { peers: ['north'] } });
    await waitFor('the replica moved to north, ready, and the route with it', async () => {
      const backends = (await routes())[0]?.spec.rules[0]?.backendRefs.map((b) => b.name);
      const replica = await north.admin.get<Deployment>(DEPLOYMENTS, NS, 'api');
      return (await oursIn(east)).length === 0 && replica?.status?.readyReplicas === 2 && backends?.join() === 'api,api-north';
    });

    await west.admin.delete(BURST_POLICIES, NS, 'api');
    await waitFor('the policy gone', async () => (await west.admin.get(BURST_POLICIES, NS, 'api')) === undefined);
    expect(await routes()).toEqual([]);
    expect(await oursIn(north)).toEqual([]);
    expect(await oursIn(east)).toEqual([]);
    load.setRate(NS, 'api', 0);
  });

  it('splits with an SMI TrafficSplit when the policy asks for it, writes no HTTPRoute, and removes it on scale-back', async () => {
    await deploy('cart');
    await west.admin.apply(policy('cart', ['east'], { traffic: { api: 'TrafficSplit' } }), BURST_POLICIES);
    load.setRate(NS, 'cart', 200);
    await phaseIs('cart', 'Burst');

    const owner = (await west.admin.get<Policy>(BURST_POLICIES, NS, 'cart'))!;
    // The phase is recorded before it is acted on: the split follows within the pass.
    const [split, ...more] = await waitFor('the TrafficSplit of cart', async () => {
      const splits = await trafficSplits();
      return splits.length > 0 ? splits : undefined;
    });
    expect(more).toEqual([]);
    expect(split!.metadata.name).toBe('cart-burst');
    expect(split!.metadata.labels).toMatchObject({
      'globalsvc.dev/burst-policy': `west.${NS}.cart`,
      'app.kubernetes.io/managed-by': 'globalsvc',
    });
    expect(split!.metadata.ownerReferences).toEqual([
      { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', name: 'cart', uid: owner.metadata.uid, controller: true },
    ]);
    // ReadyReplicas: two pods here, two there; the apex is the local Service and its own backend.
    expect(split!.spec).toEqual({
      service: 'cart',
      backends: [
        { service: 'cart', weight: 2 },
        { service: 'cart-east', weight: 2 },
      ],
    });
    expect(await routes(), 'no HTTPRoute for a TrafficSplit policy').toEqual([]);

    load.setRate(NS, 'cart', 0);
    await phaseIs('cart', 'Idle');
    expect(await trafficSplits()).toEqual([]);
    expect(await routes()).toEqual([]);
    expect(await oursIn(bed.cluster('east'))).toEqual([]);
  });
});
