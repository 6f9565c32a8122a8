import { beforeAll, expect, it } from 'vitest';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import type { CoreEvent } from '../support/events.js';
import { CORE_EVENTS } from '../testbed/kube.js';
import { LEASES } from '../../src/cluster/leader-election.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, scaleStatefulSet, slicesOf, namespaceEverywhere, namelessMirror } from '../support/workloads.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'ha';

const published = async (bed: TestBed, viewer: string) =>
  (await slicesOf(bed.cluster(viewer), NS, 'ha-global'))
    .filter((s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev')
    .flatMap((s) => s.endpoints ?? []).length;

describeOnBed('two replicas in one cluster: one writer, and a standby that takes over', () => {
  let bed: TestBed;
  let standby: string;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'ha', 1);
    await waitFor('ha-global in west', async () => (await published(bed, 'west')) === 3, 120_000);
    standby = await bed.product.addReplica('west', 'b');
  });

  it('keeps the standby ready but silent while the leader lives', async () => {
    expect(await bed.product.metric('west', 'globalsvc_leader')).toBe(1);
    expect(await bed.product.metric(standby, 'globalsvc_leader')).toBe(0);
    expect(await bed.product.metric(standby, 'globalsvc_caches_synced')).toBe(1);
    await scaleStatefulSet(bed.cluster('east'), NS, 'ha', 2);
    await waitFor("the leader to publish east's second pod", async () => (await published(bed, 'west')) === 4, 60_000);
    expect(await bed.product.metric(standby, 'globalsvc_api_writes_total')).toBe(0);
    const lease = await bed.cluster('west').admin.get<KubeObject & { spec: { holderIdentity: string } }>(LEASES, 'globalsvc', 'globalsvc');
    expect(lease?.spec.holderIdentity).toBeTruthy();
  });

  it('takes over within the lease duration when the leader is killed, and tells every problem it knows of', async () => {
    // A problem seen on the watch path (a mirror without its remote name): the leader tells it once.
    const west = bed.cluster('west');
    await namelessMirror(west, NS, 'nameless-east', 'east');
    const tellers = async () =>
      new Set(
        (await west.admin.list<CoreEvent & KubeObject & { reportingInstance?: string }>(CORE_EVENTS, NS))
          .filter((e) => e.involvedObject.name === 'nameless-east' && e.reason === 'MissingRemoteName')
          .map((e) => e.reportingInstance),
      );
    await waitFor("the leader's MissingRemoteName Event", async () => (await tellers()).size === 1, 30_000);
    const leaderSaid = await tellers();

    expect(await bed.product.stop('west', 'SIGKILL')).toBeNull();
    const killed = Date.now();
    await waitFor('the standby to lead', async () => (await bed.product.metric(standby, 'globalsvc_leader')) === 1, 30_000, 200);
    const tookOver = Date.now() - killed;
    console.log(`leader SIGKILLed: the standby led ${(tookOver / 1000).toFixed(1)} s later (lease 15 s, retry 2 s)`);
    expect(tookOver).toBeLessThan(15_000 + 2_000 + 1_000);
    // The standby saw the same problem while it stood by, and said nothing; leading, it tells it.
    await waitFor(
      'the new leader to tell the problem again',
      async () => [...(await tellers())].some((i) => !leaderSaid.has(i)),
      30_000,
      200,
    );
    const told = Date.now() - killed;
    console.log(`leader SIGKILLed: the new leader's own MissingRemoteName Event came ${(told / 1000).toFixed(1)} s after the kill`);
    expect(told).toBeLessThan(15_000 + 2_000 + 1_000);
    await scaleStatefulSet(bed.cluster('north'), NS, 'ha', 2);
    await waitFor("the new leader to publish north's second pod", async () => (await published(bed, 'west')) === 5, 60_000);
    expect(await bed.product.metric(standby, 'globalsvc_api_writes_total')).toBeGreaterThan(0);
  });

  it('hands the lease over at once on SIGTERM', async () => {
    await bed.product.start('west'); // back as a standby behind replica b
    expect(await bed.product.metric('west', 'globalsvc_leader')).toBe(0);
    const started = Date.now();
    expect(await bed.product.stop(standby, 'SIGTERM')).toBe(0);
    await waitFor('the first replica to lead again', async () => (await bed.product.metric('west', 'globalsvc_leader')) === 1, 30_000, 200);
    const handover = Date.now() - started;
    console.log(`leader SIGTERMed: lease released, the other replica led ${(handover / 1000).toFixed(1)} s later`);
    expect(handover).toBeLessThan(5_000);
  });
});
