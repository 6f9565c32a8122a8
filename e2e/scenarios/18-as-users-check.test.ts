import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { ENDPOINT_SLICES, KubeApiError, SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject, Service } from '../../src/domain/k8s-types.js';
import type { StatusReport } from '../../src/status/report.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { status } from '../support/cli.js';
import { eventAbout } from '../support/events.js';
import {
  WORKLOAD_IMAGE,
  deployStatefulSet,
  fqdn,
  getService,
  scaleStatefulSet,
  slicesOf,
  sorted,
  namespaceEverywhere,
} from '../support/workloads.js';
import type { ResourceType } from '../../src/cluster/kube-api.js';
import { PODS } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

// What a new user checks of a global (issue 11): the SRV names a database joins through, what a
// global may hold, a fix that takes effect at once, and pods Linkerd cannot mirror.
const NS = 'as-users-check';

const POLICIES: ResourceType = {
  kind: 'ValidatingAdmissionPolicy',
  apiPath: '/apis/admissionregistration.k8s.io/v1',
  plural: 'validatingadmissionpolicies',
};
const POLICY_BINDINGS: ResourceType = {
  kind: 'ValidatingAdmissionPolicyBinding',
  apiPath: '/apis/admissionregistration.k8s.io/v1',
  plural: 'validatingadmissionpolicybindings',
};

const ours = (slices: EndpointSlice[]) =>
  slices.filter((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev');
const readyIn = (slices: EndpointSlice[]) => ours(slices).flatMap((s) => s.endpoints ?? []).length;

/** The latest "reconcile failed; retrying" line of a key in a product's log: when it was written and when the retry is due. */
function lastRetry(bed: TestBed, id: string, key: string): { attempt: number; at: number; dueAt: number } | undefined {
  let last: { attempt: number; at: number; dueAt: number } | undefined;
  for (const line of readFileSync(bed.product.logFile(id), 'utf8').split('\n')) {
    if (!line.includes('reconcile failed; retrying') || !line.includes(`"key":"${key}"`)) continue;
    const entry = JSON.parse(line) as { time: string; attempt: number; retryInMs: number };
    const at = Date.parse(entry.time);
    last = { attempt: entry.attempt, at, dueAt: at + entry.retryInMs };
  }
  return last;
}

describeOnBed('what a user checks of a global', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    // One port, 5432: "postgres" in west, "pg" in east, unnamed in north.
    await deployStatefulSet(bed.cluster('west'), NS, 'srvdb', 2, { portName: 'postgres' });
    await deployStatefulSet(bed.cluster('east'), NS, 'srvdb', 1);
    await deployStatefulSet(bed.cluster('north'), NS, 'srvdb', 1, { portName: '' });
  });

  it("lists every pod of every cluster under the SRV name of the global's port, whatever each cluster calls it", async () => {
    const want = ['srvdb-0-east', 'srvdb-0-north', 'srvdb-0-west', 'srvdb-1-west'];
    for (const viewer of ['west', 'east', 'north']) {
      const dns = bed.dnsOf(viewer);
      const global = fqdn('srvdb-global', NS);
      const targets = async () => sorted((await dns.srv(`_pg._tcp.${global}`)).map((r) => r.name.split('.')[0]!));
      await waitFor(`_pg._tcp.srvdb-global in ${viewer} lists all 4 pods`, async () => (await targets()).length === 4, 120_000);
      expect(await targets()).toEqual(want);
      // east's name is the global's in every cluster (east sorts first); no SRV name answers for the others.
      expect(await dns.srv(`_postgres._tcp.${global}`)).toEqual([]);
      expect((await getService(bed.cluster(viewer), NS, 'srvdb-global'))?.spec?.ports?.map((p) => p.name)).toEqual(['pg']);
      const names = new Set(
        ours(await slicesOf(bed.cluster(viewer), NS, 'srvdb-global')).flatMap((s) => (s.ports ?? []).map((p) => p.name)),
      );
      expect([...names]).toEqual(['pg']);
      console.log(`[e2e 18] ${viewer}: SRV _pg._tcp.srvdb-global -> ${(await targets()).join(' ')}; _postgres._tcp -> none`);
    }
  });

  it('publishes only what CoreDNS can answer for, and says on the member what it leaves out', async () => {
    const west = bed.cluster('west');
    await deployStatefulSet(bed.cluster('east'), NS, 'ext', 1);
    // In west, ext has no selector: a team wrote its slices by hand, one with a DNS name, one without ports.
    await west.admin.apply<Service>(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ext', namespace: NS },
        spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
      },
      SERVICES,
    );
    const slice = (name: string, addressType: string, address: string, ports: EndpointSlice['ports']) =>
      west.admin.apply<EndpointSlice>(
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name,
            namespace: NS,
            labels: { 'kubernetes.io/service-name': 'ext', 'endpointslice.kubernetes.io/managed-by': 'team' },
          },
          addressType,
          ports,
          endpoints: [{ addresses: [address], conditions: { ready: true } }],
        },
        ENDPOINT_SLICES,
      );
    const pg = [{ name: 'pg', protocol: 'TCP', port: 5432 }];
    await slice('ext-fqdn', 'FQDN', 'db.example.internal', pg);
    await slice('ext-noports', 'IPv4', '10.99.0.1', []);
    await slice('ext-ip', 'IPv4', '10.99.0.2', pg);

    const global = fqdn('ext-global', NS);
    const dns = bed.dnsOf('west');
    await waitFor('ext-global in west answers east and 10.99.0.2', async () => (await dns.a(global)).length === 2, 120_000);
    expect(await dns.a(global)).toContain('10.99.0.2');
    expect(await dns.a(global)).not.toContain('10.99.0.1');
    expect(await dns.answerTypesOfA(global)).toEqual(['A', 'A']); // no CNAME beside the A records
    expect(await dns.srv(`_pg._tcp.${global}`)).toHaveLength(2);
    console.log(
      `[e2e 18] west: A ext-global -> ${(await dns.a(global)).join(' ')} (answer types ${(await dns.answerTypesOfA(global)).join(', ')})`,
    );

    const fqdnEvent = await eventAbout(west, NS, 'ext', 'UnsupportedAddressType');
    expect(fqdnEvent.type).toBe('Warning');
    expect(fqdnEvent.message).toMatch(/1 endpoint\(s\) of member as-users-check\/ext \(cluster west\).*addressType FQDN/);
    const portsEvent = await eventAbout(west, NS, 'ext', 'NoGlobalPort');
    for (const e of [fqdnEvent, portsEvent]) console.log(`[e2e 18] west's Event on ${NS}/ext: ${e.type} ${e.reason}: ${e.message}`);
    expect(portsEvent.message).toMatch(/1 endpoint\(s\) of member as-users-check\/ext .*left out/);
    expect(await bed.product.metric('west', 'globalsvc_left_out_endpoints', { reason: 'UnsupportedAddressType' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(await bed.product.metric('west', 'globalsvc_left_out_endpoints', { reason: 'NoGlobalPort' })).toBeGreaterThanOrEqual(1);

    const report = await status(bed, 'west', `--namespaces=${NS}`, '-o', 'json');
    expect(report.code).toBe(1); // problems
    const ext = (JSON.parse(report.stdout) as StatusReport).globals.find((g) => g.name === 'ext')!;
    expect(ext.problems.map((p) => [p.reason, p.object.name])).toEqual(
      expect.arrayContaining([
        ['UnsupportedAddressType', 'ext'],
        ['NoGlobalPort', 'ext'],
      ]),
    );
  });

  it('reconciles a global as soon as its members change once a refused write is fixed, not when its retry backoff ends', async () => {
    const west = bed.cluster('west');
    const east = bed.cluster('east');
    // Stands in for an admission webhook or a quota: the API server refuses stuck-global's slices.
    await west.admin.apply(
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'refuse-stuck-slices' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: ['discovery.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['endpointslices'] },
            ],
          },
          validations: [
            {
              expression:
                "!has(object.metadata.labels) || !('globalsvc.dev/global-of' in object.metadata.labels) || object.metadata.labels['globalsvc.dev/global-of'] != 'stuck'",
              message: 'slices of stuck-global are refused by policy',
            },
          ],
        },
      } as KubeObject,
      POLICIES,
    );
    await west.admin.apply(
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: 'refuse-stuck-slices' },
        spec: { policyName: 'refuse-stuck-slices', validationActions: ['Deny'] },
      } as KubeObject,
      POLICY_BINDINGS,
    );
    // A dry-run create of such a slice goes through admission: the policy is in force once it is refused.
    const refused = async () => {
      const probe = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'probe', namespace: NS, labels: { 'globalsvc.dev/global-of': 'stuck' } },
        addressType: 'IPv4',
        endpoints: [],
      };
      try {
        await west.admin.api.request('create', ENDPOINT_SLICES, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
          body: probe,
          query: { dryRun: 'All' },
        });
        return false;
      } catch (err) {
        if (err instanceof KubeApiError && err.status !== 403 && err.status !== 422) throw err;
        return true;
      }
    };
    await waitFor('the API server to refuse stuck-global slices', refused);
    await deployStatefulSet(east, NS, 'stuck', 1);
    // Failures in a row back off 0.2, 0.4, 0.8 ... s: wait until the next try is at least 30 s away,
    // time enough for Linkerd's mirror, slow while it is busy (18 s once in a full run), to bring the change.
    const retry = await waitFor(
      `a retry of ${NS}/stuck in west at least 30 s away`,
      () => {
        const r = lastRetry(bed, 'west', `${NS}/stuck`);
        return r && r.dueAt - r.at >= 30_000 ? r : undefined;
      },
      180_000,
    );

    await west.admin.delete(POLICY_BINDINGS, undefined, 'refuse-stuck-slices'); // the cause is fixed
    await waitFor('the API server to accept stuck-global slices again', async () => await refused().then((r) => !r));
    const changed = Date.now();
    await scaleStatefulSet(east, NS, 'stuck', 2); // and then the members change
    await waitFor(
      "Linkerd's mirror of east's second pod in west",
      async () => (await getService(west, NS, 'stuck-1-east')) !== undefined,
      60_000,
      100,
    );
    const mirrored = Date.now();
    await waitFor(
      'stuck-global in west with both of east pods',
      async () => readyIn(await slicesOf(west, NS, 'stuck-global')) === 2,
      60_000,
    );
    const converged = Date.now();
    console.log(
      `[e2e 18] a fresh change after the fix converged in ${converged - changed} ms (${converged - mirrored} ms after Linkerd mirrored it); the pending retry (attempt ${retry.attempt}) was due ${retry.dueAt - changed} ms after the change`,
    );
    expect(converged).toBeLessThan(retry.dueAt);
    await west.admin.delete(POLICIES, undefined, 'refuse-stuck-slices');
  });

  it('names each exported pod that Linkerd cannot mirror, the name it would need and what to do', async () => {
    const east = bed.cluster('east');
    // 59 characters: its endpoint mirror "<hostname>-east" would be 64, one more than a Service name may have.
    const hostname = 'ledger-reconciliation-worker-for-emea-payments-settlement-0';
    await deployStatefulSet(east, NS, 'ledger', 1);
    await east.admin.apply(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'ledger-extra', namespace: NS, labels: { app: 'ledger' } },
        spec: {
          hostname,
          subdomain: 'ledger',
          containers: [{ name: 'db', image: WORKLOAD_IMAGE, ports: [{ name: 'pg', containerPort: 5432 }] }],
        },
      } as KubeObject,
      PODS,
    );

    const event = await eventAbout(east, NS, 'ledger', 'UnmirrorableHostname');
    console.log(`[e2e 18] east's Event on ${NS}/ledger: ${event.type} ${event.reason}: ${event.message}`);
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`${hostname} (needs "${hostname}-east", 64 characters)`);
    expect(event.message).toMatch(/at most 58 characters/);
    expect(event.message).not.toContain('ledger-0 (');
    expect(await bed.product.metric('east', 'globalsvc_left_out_endpoints', { reason: 'UnmirrorableHostname' })).toBeGreaterThanOrEqual(1);

    const report = JSON.parse((await status(bed, 'east', `--namespaces=${NS}`, '-o', 'json')).stdout) as StatusReport;
    const ledger = report.globals.find((g) => g.name === 'ledger')!;
    expect(ledger.problems).toEqual([
      expect.objectContaining({ reason: 'UnmirrorableHostname', object: { kind: 'Service', namespace: NS, name: 'ledger' } }),
    ]);
    // What the user would otherwise have had to find out: west's global has no such pod (no name could hold it).
    const hostnames = ours(await slicesOf(bed.cluster('west'), NS, 'ledger-global')).flatMap((s) =>
      (s.endpoints ?? []).map((e) => e.hostname),
    );
    expect(hostnames.filter((h) => h?.startsWith('ledger-reconciliation'))).toEqual([]);
  });
});
