import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EndpointSlice } from '../../src/domain/k8s-types.js';
import { ENDPOINT_SLICES } from '../../src/cluster/kube-api.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { deployStatefulSet, scaleStatefulSet, slicesOf, namespaceEverywhere } from '../support/workloads.js';
import { repoRoot } from '../testbed/binaries.js';
import { ENTRYPOINT } from '../../src/cli/node-flags.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const run = promisify(execFile);
const NS = 'cli';
const cli = (...args: string[]) => run(process.execPath, [join(repoRoot, ENTRYPOINT), ...args], { maxBuffer: 16 * 1024 * 1024 });

const ours = (slices: EndpointSlice[]) =>
  slices.filter((s) => s.metadata.labels!['endpointslice.kubernetes.io/managed-by'] === 'globalsvc.dev');
const fingerprint = (slices: EndpointSlice[]) =>
  JSON.stringify(
    ours(slices)
      .map((s) => [s.metadata.name, s.metadata.labels, s.endpoints, s.ports])
      .sort(),
  );

describeOnBed('owned slices restored; the plan and version commands', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'kv', 2);
    // Settled: 3 clusters × 2 pods, each ready and named <pod>-<cluster>.
    await waitFor(
      'kv-global in west to hold 6 ready pods',
      async () => {
        const eps = ours(await slicesOf(bed.cluster('west'), NS, 'kv-global')).flatMap((s) => s.endpoints ?? []);
        return eps.length === 6 && eps.every((e) => e.conditions?.ready && e.hostname);
      },
      120_000,
    );
  });

  it('restores an owned slice that someone else deleted or edited', async () => {
    const west = bed.cluster('west');
    const want = fingerprint(await slicesOf(west, NS, 'kv-global'));
    const [a, b] = ours(await slicesOf(west, NS, 'kv-global'));
    await west.admin.delete(ENDPOINT_SLICES, NS, a!.metadata.name!);
    await west.admin.patchMerge(ENDPOINT_SLICES, NS, b!.metadata.name!, {
      endpoints: [{ addresses: ['10.200.0.1'], conditions: { ready: true } }],
    });
    const started = Date.now();
    await waitFor('kv-global slices restored', async () => fingerprint(await slicesOf(west, NS, 'kv-global')) === want, 60_000);
    console.log(`restored a deleted and an edited slice in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('wins a fight with a second writer without a write storm, and holds once it stops', async () => {
    const west = bed.cluster('west');
    const want = fingerprint(await slicesOf(west, NS, 'kv-global'));
    const target = ours(await slicesOf(west, NS, 'kv-global'))[0]!.metadata.name!;
    const writes = () => bed.product.metric('west', 'globalsvc_api_writes_total', { kind: 'EndpointSlice' });
    const before = await writes();
    // Another controller keeps putting its own endpoint into our slice, ten times, every 300 ms.
    for (let i = 0; i < 10; i++) {
      await west.admin.patchMerge(ENDPOINT_SLICES, NS, target, {
        endpoints: [{ addresses: [`10.200.1.${i + 1}`], conditions: { ready: true } }],
      });
      await new Promise((r) => setTimeout(r, 300));
    }
    const stopped = Date.now();
    await waitFor('kv-global slices ours again', async () => fingerprint(await slicesOf(west, NS, 'kv-global')) === want, 60_000);
    const restoredAfter = Date.now() - stopped;
    await new Promise((r) => setTimeout(r, 3_000));
    const spent = (await writes()) - before;
    console.log(
      `fault: a second writer edited an owned slice 10 times; restored ${(restoredAfter / 1000).toFixed(1)} s after its last edit, with ${spent} slice writes`,
    );
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(10);
    expect(fingerprint(await slicesOf(west, NS, 'kv-global'))).toBe(want);
  });

  it('globalsvc plan prints what a reconcile would write and changes nothing', async () => {
    const west = bed.cluster('west');
    const kubeconfig = bed.product.instance('west').kubeconfig;
    const upToDate = await cli('plan', '--cluster-name=west', `--kubeconfig=${kubeconfig}`, `--namespaces=${NS}`);
    expect(upToDate.stdout).toContain(`${NS}/kv → kv-global: up to date`);
    expect(upToDate.stdout).not.toContain('data/db');
    expect(upToDate.stdout).toMatch(/1 global\(s\), 0 write\(s\) planned; nothing was changed/);

    await bed.product.stop('west');
    await scaleStatefulSet(bed.cluster('east'), NS, 'kv', 3);
    await waitFor(
      "east's third pod mirrored into west",
      async () => (await slicesOf(west, NS, 'kv-east')).flatMap((s) => s.endpoints ?? []).length === 3,
      60_000,
    );
    const before = fingerprint(await slicesOf(west, NS, 'kv-global'));
    const pending = await cli('plan', '--cluster-name=west', `--kubeconfig=${kubeconfig}`, `--namespaces=${NS}`);
    expect(pending.stdout).toMatch(new RegExp(`update EndpointSlice ${NS}/kv-global-east-`));
    expect(fingerprint(await slicesOf(west, NS, 'kv-global'))).toBe(before);
    const json = JSON.parse(
      (await cli('plan', '--cluster-name=west', `--kubeconfig=${kubeconfig}`, `--namespaces=${NS}`, '-o', 'json')).stdout,
    ) as { key: string; writes: unknown[] }[];
    expect(json.find((p) => p.key === `${NS}/kv`)?.writes).toHaveLength(1);

    await bed.product.start('west');
    await waitFor(
      'west to apply it',
      async () => ours(await slicesOf(west, NS, 'kv-global')).flatMap((s) => s.endpoints ?? []).length === 7,
      60_000,
    );
  });

  it('globalsvc plan reads the cluster through the kubeconfig context it is given, and names one that does not exist', async () => {
    const kubeconfig = bed.product.instance('west').kubeconfig;
    const context = (parse(await readFile(kubeconfig, 'utf8')) as { 'current-context': string })['current-context'];
    const args = ['plan', '--cluster-name=west', `--kubeconfig=${kubeconfig}`, `--namespaces=${NS}`];
    expect((await cli(...args, `--context=${context}`)).stdout).toContain(`${NS}/kv → kv-global`);
    const err = await cli(...args, '--context=nowhere').catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('the kubeconfig has no context "nowhere"');
  });

  it('globalsvc version prints the version', async () => {
    expect((await cli('version')).stdout).toMatch(/^globalsvc \d+\.\d+\.\d+\n$/);
  });

  it('globalsvc run refuses a bad configuration with a clear error', async () => {
    const err = await cli('run', '--cluster-name=West_1', '--max-endpoints-per-slice=5000').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/--cluster-name: must be a DNS label[\s\S]*--max-endpoints-per-slice/);
  });
});
