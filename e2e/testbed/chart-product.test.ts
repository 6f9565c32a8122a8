import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { binaryPaths, ensureBinaries, repoRoot } from './binaries.js';
import { valuesOfArgs } from './chart-product.js';

/** The Deployment's container args that `helm template` renders from `values`. */
function renderedArgs(values: Record<string, unknown>): string[] {
  ensureBinaries();
  const file = join(mkdtempSync(join(tmpdir(), 'chart-values-')), 'values.yaml');
  writeFileSync(file, stringify(values));
  const out = execFileSync(
    binaryPaths().helm,
    ['template', 'globalsvc', join(repoRoot, 'manifests/helm/globalsvc'), '-n', 'globalsvc', '-f', file],
    {
      encoding: 'utf8',
    },
  );
  const deployment = parseAllDocuments(out)
    .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: { args: string[] }[] } } } })
    .find((o) => o?.kind === 'Deployment');
  return deployment!.spec!.template.spec.containers[0]!.args;
}

// The kind provider configures globalsvc's chart with the arguments the local provider gives its
// processes (e2e/testbed/chart-product.ts): they must come back out of the chart as they went in.
describe("the kind provider's chart values", () => {
  it('render back every flag they were made from', () => {
    const args = [
      '--leader-elect=true',
      '--gateway-probe-addresses=west=172.18.0.2,east=172.18.0.3,north=172.18.0.4',
      '--remote-discovery=true',
      '--remote-stale-after=10s',
      '--batch-period=20ms',
      '--include-local=false',
    ];
    const rendered = renderedArgs({ clusterName: 'west', remoteDiscoveryLinks: ['east', 'north'], ...valuesOfArgs(args) });
    for (const arg of args) expect(rendered).toContain(arg);
    expect(rendered).toContain('--cluster-name=west');
  });

  it('refuse a flag the chart has no value for, and one not written --name=value', () => {
    expect(() => valuesOfArgs(['--no-such-flag=1'])).toThrow('the chart has no value noSuchFlag');
    expect(() => valuesOfArgs(['--leader-elect'])).toThrow('--name=value');
  });

  it('turn a boolean flag into a boolean value, so that "false" is not a true string', () => {
    expect(valuesOfArgs(['--include-local=false', '--leader-elect=true'])).toEqual({ includeLocal: false, leaderElect: true });
  });
});
