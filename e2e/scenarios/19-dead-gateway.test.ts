import { beforeAll, expect, it } from 'vitest';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import type { StatusReport } from '../../src/status/report.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { status } from '../support/cli.js';
import { eventAbout } from '../support/events.js';
import { deployStatefulSet, deployWeb, fqdn, namespaceEverywhere } from '../support/workloads.js';
import { ENDPOINTS } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

// A cluster whose gateway dies leaves every global's DNS answers within Linkerd's detection time
// (Link probeSpec: period 3s, failureThreshold 3) plus at most a second, and comes back as fast.
const NS = 'dead-gateway';
const ROUNDS = 5;
const VIEWERS = ['west', 'north'];

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
}

/** Whether Linkerd's mirror in `viewer` shows `name` (an Endpoints it wrote) not ready. */
async function linkerdSaysDead(bed: TestBed, viewer: string, name: string): Promise<boolean> {
  const e = await bed.cluster(viewer).admin.get<Endpoints>(ENDPOINTS, NS, name);
  const subsets = e?.subsets ?? [];
  return subsets.some((s) => (s.notReadyAddresses ?? []).length > 0) && subsets.every((s) => (s.addresses ?? []).length === 0);
}

/** Milliseconds from `since` until `probe` holds, polled every 100 ms. */
async function msUntil(since: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  await waitFor(what, async () => (await probe()) || undefined, 60_000, 100);
  return Date.now() - since;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describeOnBed("a cluster whose gateway dies, through Linkerd's own probe", () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    // Headless members (per-pod endpoint mirrors) and gateway members (ClusterIP mirrors), in east and north.
    await deployStatefulSet(bed.cluster('east'), NS, 'dgdb', 2);
    await deployStatefulSet(bed.cluster('north'), NS, 'dgdb', 1);
    await deployWeb(bed.cluster('east'), NS, 'dgweb', 1);
    await deployWeb(bed.cluster('north'), NS, 'dgweb', 1);
    for (const viewer of VIEWERS) {
      await waitFor(
        `dgdb-global and dgweb-global in ${viewer}`,
        async () => {
          const dns = bed.dnsOf(viewer);
          return (await dns.a(fqdn('dgdb-global', NS))).length === 3 && (await dns.a(fqdn('dgweb-global', NS))).length === 2;
        },
        120_000,
      );
    }
  });

  it('leaves every global of every other cluster within the detection time plus a second, and comes back as fast', async () => {
    const gateway = bed.gateway('east');
    const eastGateway = bed.cluster('east').spec.gatewayAddress;
    const answers = async (viewer: string) => {
      const dns = bed.dnsOf(viewer);
      return {
        headless: await dns.a(fqdn('dgdb-global', NS)),
        pod: await dns.a(`dgdb-0-east.${fqdn('dgdb-global', NS)}`),
        srv: (await dns.srv(`_pg._tcp.${fqdn('dgdb-global', NS)}`)).map((r) => r.name.split('.')[0]!),
        gateway: await dns.a(fqdn('dgweb-global', NS)),
      };
    };
    const gone = async (viewer: string) => {
      const a = await answers(viewer);
      return a.headless.length === 1 && a.pod.length === 0 && !a.srv.some((n) => n.endsWith('-east')) && !a.gateway.includes(eastGateway);
    };
    const back = async (viewer: string) => {
      const a = await answers(viewer);
      return (
        a.headless.length === 3 &&
        a.pod.length === 1 &&
        a.srv.filter((n) => n.endsWith('-east')).length === 2 &&
        a.gateway.includes(eastGateway)
      );
    };
    const times: Record<string, number[]> = { detectDown: [], dnsDown: [], detectUp: [], dnsUp: [], lagDown: [], lagUp: [] };

    for (let round = 1; round <= ROUNDS; round++) {
      await gateway.stop();
      const stopped = Date.now();
      const [detected, ...dns] = await Promise.all([
        // Linkerd's own verdict, in every viewer: the per-pod and the gateway-mode Endpoints it wrote, not ready.
        Promise.all(
          VIEWERS.flatMap((v) => [
            msUntil(stopped, `Linkerd in ${v} to mark dgdb-0-east not ready`, () => linkerdSaysDead(bed, v, 'dgdb-0-east')),
            msUntil(stopped, `Linkerd in ${v} to mark dgweb-east not ready`, () => linkerdSaysDead(bed, v, 'dgweb-east')),
          ]),
        ).then((ms) => Math.max(...ms)),
        ...VIEWERS.map((v) => msUntil(stopped, `east out of ${v}'s DNS answers`, () => gone(v))),
      ]);
      times.detectDown!.push(detected);
      times.dnsDown!.push(Math.max(...dns));
      times.lagDown!.push(Math.max(...dns) - detected);

      if (round === 1) {
        // Said where users look, while it lasts: an Event on the global, a metric, and status.
        const event = await eventAbout(bed.cluster('west'), NS, 'dgdb-global', 'ClusterUnreachable');
        expect(event.message).toBe(
          "cluster east does not answer Linkerd's gateway probe: its endpoints are published not ready, so dgdb-global answers without them until its gateway is back",
        );
        expect(await bed.product.metric('west', 'globalsvc_unreachable_endpoints', { source_cluster: 'east' })).toBeGreaterThanOrEqual(3);
        const report = JSON.parse((await status(bed, 'west', `--namespaces=${NS}`, '-o', 'json')).stdout) as StatusReport;
        for (const name of ['dgdb', 'dgweb'])
          expect(report.globals.find((g) => g.name === name)!.problems.map((p) => p.reason)).toContain('ClusterUnreachable');
      }

      const started = Date.now();
      await gateway.start();
      const [detectedUp, ...dnsUp] = await Promise.all([
        Promise.all(
          VIEWERS.flatMap((v) => [
            msUntil(started, `Linkerd in ${v} to mark dgdb-0-east ready`, async () => !(await linkerdSaysDead(bed, v, 'dgdb-0-east'))),
            msUntil(started, `Linkerd in ${v} to mark dgweb-east ready`, async () => !(await linkerdSaysDead(bed, v, 'dgweb-east'))),
          ]),
        ).then((ms) => Math.max(...ms)),
        ...VIEWERS.map((v) => msUntil(started, `east back in ${v}'s DNS answers`, () => back(v))),
      ]);
      times.detectUp!.push(detectedUp);
      times.dnsUp!.push(Math.max(...dnsUp));
      times.lagUp!.push(Math.max(...dnsUp) - detectedUp);
    }

    const line = (k: string) => `${k} p50 ${median(times[k]!)} ms, max ${Math.max(...times[k]!)} ms (${times[k]!.join(', ')})`;
    console.log(
      `[e2e 19] gateway of east stopped and started ${ROUNDS} times, seen from ${VIEWERS.join(' and ')} (headless and gateway members):\n` +
        `  Linkerd marked east not ready: ${line('detectDown')}\n  east out of every DNS answer: ${line('dnsDown')}\n  after Linkerd: ${line('lagDown')}\n` +
        `  Linkerd marked east ready: ${line('detectUp')}\n  east back in every DNS answer: ${line('dnsUp')}\n  after Linkerd: ${line('lagUp')}`,
    );
    // The product's own share, on top of Linkerd's detection: at most a second, both ways.
    for (const lag of [...times.lagDown!, ...times.lagUp!]) expect(lag).toBeLessThanOrEqual(1_000);
  });
});
