import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { testBed } from '../support/bed.js';
import { repoRoot } from '../testbed/binaries.js';
import type { TestBed } from '../testbed/testbed.js';

const run = promisify(execFile);

describe('the shipped manifests', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
  });

  it('render with kustomize and pass a server-side dry-run apply on a real API server', async () => {
    const kubectl = bed.binaries.kubectl;
    const { stdout: rendered } = await run(kubectl, ['kustomize', join(repoRoot, 'manifests/base')]);
    const kinds = [...rendered.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    expect(kinds).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Namespace',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const apply = execFile(kubectl, [
      '--kubeconfig',
      bed.cluster('west').kubeconfig,
      'apply',
      '--server-side',
      '--dry-run=server',
      '--field-manager=e2e',
      '-f',
      '-',
    ]);
    apply.stdin!.end(rendered);
    let out = '';
    apply.stdout!.on('data', (d) => (out += String(d)));
    apply.stderr!.on('data', (d) => (out += String(d)));
    const code = await new Promise<number | null>((resolve) => apply.once('exit', resolve));
    expect(out).not.toMatch(/error|invalid/i);
    expect(code).toBe(0);
    expect(out.match(/serverside-applied \(server dry run\)/g)).toHaveLength(kinds.length);
  });
});
