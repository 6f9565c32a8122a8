import { beforeAll, expect, it } from 'vitest';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import type { StatusReport } from '../../src/status/report.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { status } from '../support/cli.js';
import { eventAbout } from '../support/events.js';
import { deployStatefulSet, deployWeb, fqdn, namespaceEverywhere } from '../support/workloads.js';
import { SERVICES } from '../../src/cluster/kube-api.js';
import { ENDPOINTS } from '../testbed/kube.js';
import { startMirror, stopMirror } from '../testbed/links.js';
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
    // Per kind of member: the Endpoints Linkerd writes for east in a viewer, and what that viewer's DNS answers of east.
    const kinds = {
      headless: {
        linkerd: ['dgdb-0-east', 'dgdb-1-east'],
        eastInDns: async (viewer: string) => {
          const dns = bed.dnsOf(viewer);
          const all = await dns.a(fqdn('dgdb-global', NS));
          const pods =
            (await dns.a(`dgdb-0-east.${fqdn('dgdb-global', NS)}`)).length + (await dns.a(`dgdb-1-east.${fqdn('dgdb-global', NS)}`)).length;
          const srv = (await dns.srv(`_pg._tcp.${fqdn('dgdb-global', NS)}`)).filter((r) => r.name.split('.')[0]!.endsWith('-east')).length;
          return { none: all.length === 1 && pods === 0 && srv === 0, all: all.length === 3 && pods === 2 && srv === 2 };
        },
      },
      gateway: {
        linkerd: ['dgweb-east'],
        eastInDns: async (viewer: string) => {
          const has = (await bed.dnsOf(viewer).a(fqdn('dgweb-global', NS))).includes(eastGateway);
          return { none: !has, all: has };
        },
      },
    };
    type Kind = keyof typeof kinds;
    const times: Record<string, number[]> = {};
    const record = (what: string, ms: number) => (times[what] ??= []).push(ms);

    /** For each kind: when Linkerd had marked all of east's Endpoints in every viewer, and when every viewer's DNS followed. */
    const measure = (since: number, dead: boolean) =>
      Promise.all(
        (Object.keys(kinds) as Kind[]).map(async (kind) => {
          const k = kinds[kind];
          const [linkerd, dns] = await Promise.all([
            Promise.all(
              VIEWERS.flatMap((v) =>
                k.linkerd.map((name) =>
                  msUntil(
                    since,
                    `Linkerd in ${v} to mark ${name} ${dead ? 'not ready' : 'ready'}`,
                    async () => (await linkerdSaysDead(bed, v, name)) === dead,
                  ),
                ),
              ),
            ).then((ms) => Math.max(...ms)),
            Promise.all(
              VIEWERS.map((v) =>
                msUntil(since, `east ${dead ? 'out of' : 'back in'} ${v}'s ${kind} answers`, async () => {
                  const seen = await k.eastInDns(v);
                  return dead ? seen.none : seen.all;
                }),
              ),
            ).then((ms) => Math.max(...ms)),
          ]);
          const way = dead ? 'down' : 'up';
          record(`${kind} ${way}: Linkerd`, linkerd);
          record(`${kind} ${way}: DNS`, dns);
          record(`${kind} ${way}: DNS after Linkerd`, dns - linkerd);
        }),
      );

    for (let round = 1; round <= ROUNDS; round++) {
      await gateway.stop();
      await measure(Date.now(), true);

      if (round === 1) {
        // Said where users look, while it lasts: an Event on the global, a metric, and status.
        const event = await eventAbout(bed.cluster('west'), NS, 'dgdb-global', 'ClusterUnreachable');
        expect(event.message).toBe(
          "cluster east's gateway does not answer its probe: its endpoints are published not ready, so dgdb-global answers without them until its gateway is back",
        );
        expect(await bed.product.metric('west', 'globalsvc_unreachable_endpoints', { source_cluster: 'east' })).toBeGreaterThanOrEqual(3);
        const report = JSON.parse((await status(bed, 'west', `--namespaces=${NS}`, '-o', 'json')).stdout) as StatusReport;
        for (const name of ['dgdb', 'dgweb'])
          expect(report.globals.find((g) => g.name === name)!.problems.map((p) => p.reason)).toContain('ClusterUnreachable');
      }

      await gateway.start();
      await measure(Date.now(), false);
    }

    const line = (k: string) => `  ${k}: p50 ${median(times[k]!)} ms, max ${Math.max(...times[k]!)} ms (${times[k]!.join(', ')})`;
    console.log(
      `[e2e 19] east's gateway stopped and started ${ROUNDS} times, seen from ${VIEWERS.join(' and ')}:\n${Object.keys(times).map(line).join('\n')}`,
    );
    // The product's own share, on top of Linkerd's detection: at most a second, both ways, both kinds.
    for (const [k, ms] of Object.entries(times))
      if (k.endsWith('after Linkerd')) for (const lag of ms) expect(lag, k).toBeLessThanOrEqual(1_000);
  });

  // Linkerd's probe worker starts believing "dead", its cluster watcher "alive", and only a change
  // is signalled: a mirror (re)started while the gateway is already dead marks its endpoints ready
  // and keeps them so until the gateway comes back and dies again (linkerd-mirror-real.md).
  it("keeps a dead cluster out when Linkerd's mirror restarts while the gateway is dead and marks it alive", async () => {
    const [west, east] = [bed.cluster('west'), bed.cluster('east')];
    const eastGateway = east.spec.gatewayAddress;
    const eastInWest = async () => {
      const dns = bed.dnsOf('west');
      return {
        // north's one pod is always there.
        pods: (await dns.a(fqdn('dgdb-global', NS))).length - 1,
        named: (await dns.a(`dgdb-0-east.${fqdn('dgdb-global', NS)}`)).length,
        web: (await dns.a(fqdn('dgweb-global', NS))).includes(eastGateway),
      };
    };
    await bed.gateway('east').stop();
    await waitFor("east out of west's answers", async () => {
      const seen = await eastInWest();
      return seen.pods === 0 && seen.named === 0 && !seen.web;
    });

    // globalsvc's own probe can be first: Linkerd's marks are what the restart is to undo.
    for (const name of ['dgdb-0-east', 'dgweb-east'])
      await waitFor(`Linkerd to mark ${name} not ready`, () => linkerdSaysDead(bed, 'west', name), 60_000, 100);
    await stopMirror(bed.procs, west, east);
    const restarted = Date.now();
    await startMirror(bed.procs, bed.mirror, west, east, eastGateway);
    // Linkerd's restarted mirror says east is alive: its Endpoints for east turn ready again.
    for (const name of ['dgdb-0-east', 'dgweb-east'])
      await waitFor(
        `Linkerd's restarted mirror to mark ${name} ready`,
        async () => !(await linkerdSaysDead(bed, 'west', name)),
        60_000,
        100,
      );
    console.log(`[e2e 19] Linkerd's mirror restarted with east's gateway dead marked east ready after ${seconds(restarted)} s`);

    // globalsvc's own probe of the Link's gateway keeps east out, for as long as the gateway is dead.
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500)))
      expect(await eastInWest()).toEqual({ pods: 0, named: 0, web: false });
    const global = await west.admin.get<KubeObject>(SERVICES, NS, 'dgdb-global');
    expect(global?.metadata.annotations?.['globalsvc.dev/gateway-down']).toBe('east');
    expect(await bed.product.metric('west', 'globalsvc_gateway_up', { source_cluster: 'east' })).toBe(0);
    const report = JSON.parse((await status(bed, 'west', `--namespaces=${NS}`, '-o', 'json')).stdout) as StatusReport;
    for (const name of ['dgdb', 'dgweb']) {
      const g = report.globals.find((x) => x.name === name)!;
      expect(g.state).toBe('published');
      expect(g.problems.map((p) => p.reason)).toContain('ClusterUnreachable');
    }

    const back = Date.now();
    await bed.gateway('east').start();
    await waitFor("east back in west's answers", async () => {
      const seen = await eastInWest();
      return seen.pods === 2 && seen.named === 1 && seen.web;
    });
    console.log(`[e2e 19] east back in west's answers ${seconds(back)} s after its gateway answered again`);
    expect(await bed.product.metric('west', 'globalsvc_gateway_up', { source_cluster: 'east' })).toBe(1);
  });
});

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
