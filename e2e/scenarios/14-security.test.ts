import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import type { TestBed } from '../testbed/testbed.js';

const run = promisify(execFile);

describeOnBed('least privilege and secret hygiene of the running product', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
  });

  /** `kubectl auth can-i` as the product's ServiceAccount: yes or no. */
  const can = async (cluster: string, ...args: string[]) => {
    const kubeconfig = bed.product.instance(cluster).kubeconfig;
    const answer = await run(bed.binaries.kubectl, ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args]).then(
      (r) => r.stdout,
      (e: { stdout: string }) => e.stdout,
    );
    return answer.trim();
  };

  it("reads no Secret but its peers' Link secrets, by name, nor writes what it does not manage", async () => {
    for (const verb of ['get', 'list', 'watch']) expect(await can('west', verb, 'secrets', '--all-namespaces')).toBe('no');
    expect(await can('west', 'get', 'secrets', '-n', 'globalsvc')).toBe('no');
    // Bursting reaches its peers with the kubeconfigs of their Link secrets: those, and only those.
    for (const peer of ['east', 'north'])
      expect(await can('west', 'get', `secrets/cluster-credentials-${peer}`, '-n', 'linkerd-multicluster')).toBe('yes');
    expect(await can('west', 'get', 'secrets/cluster-credentials-west', '-n', 'linkerd-multicluster')).toBe('no');
    expect(await can('west', 'get', 'secrets/some-other-secret', '-n', 'linkerd-multicluster')).toBe('no');
    for (const verb of ['list', 'watch']) expect(await can('west', verb, 'secrets', '-n', 'linkerd-multicluster')).toBe('no');
    for (const what of ['pods', 'deployments.apps', 'statefulsets.apps', 'endpoints', 'configmaps'])
      expect(await can('west', 'create', what, '--all-namespaces')).toBe('no');
    // What it needs, for contrast: the shipped role is not simply empty.
    expect(await can('west', 'update', 'endpointslices.discovery.k8s.io', '--all-namespaces')).toBe('yes');
  });

  it('never writes its token into its logs, even at debug level after every scenario', () => {
    const logs = dirname(bed.product.logFile('west'));
    const files = readdirSync(logs).filter((f) => f.startsWith('globalsvc-'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const cluster of ['west', 'east', 'north']) {
      const token = /token: (\S+)/.exec(readFileSync(bed.product.instance(cluster).kubeconfig, 'utf8'))![1]!;
      for (const f of files) expect(readFileSync(join(logs, f), 'utf8').includes(token), `${cluster}'s token in ${f}`).toBe(false);
    }
  });
});
