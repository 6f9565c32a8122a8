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
          "cluster east does not answer Linkerd's gateway probe: its endpoints are published not ready, so dgdb-global answers without them until its gateway is back",
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
});
