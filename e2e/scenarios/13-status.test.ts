import { chmodSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { GlobalStatus, StatusReport } from '../../src/status/report.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { exec, status } from '../support/cli.js';
import { deployStatefulSet, getService, slicesOf, squatterService, namespaceEverywhere } from '../support/workloads.js';
import { repoRoot } from '../testbed/binaries.js';
import { PLUGIN_ENTRYPOINT } from '../../src/cli/node-flags.js';
import { waitFor } from '../testbed/processes.js';
import type { TestBed } from '../testbed/testbed.js';

const NS = 'status';
const SQUAT = 'status-squat';
const REPLICAS: Record<string, number> = { west: 2, east: 3, north: 1 };
const TOTAL = Object.values(REPLICAS).reduce((a, b) => a + b, 0);

/** The member rows a viewer should see for pg: its own Service, and a mirror of each other cluster. */
function expectedPg(viewer: string): GlobalStatus {
  const count = (n: number) => ({ ready: n, total: n });
  return {
    namespace: NS,
    name: 'pg',
    global: 'pg-global',
    state: 'published',
    endpoints: { members: count(TOTAL), published: count(TOTAL) },
    members: Object.entries(REPLICAS)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, n]) => ({
        cluster,
        origin: cluster === viewer ? 'local' : 'mirror',
        service: cluster === viewer ? 'pg' : `pg-${cluster}`,
        state: 'member',
        endpoints: count(n),
        published: count(n),
      })),
    pendingWrites: [],
    problems: [],
  };
}

describeOnBed('globalsvc status', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    for (const [cluster, replicas] of Object.entries(REPLICAS)) await deployStatefulSet(bed.cluster(cluster), NS, 'pg', replicas);
    // In west, someone else's Service already has the name east's cache would get as a global.
    const west = bed.cluster('west');
    await squatterService(west, SQUAT, 'cache-global');
    await deployStatefulSet(bed.cluster('east'), SQUAT, 'cache', 1);

    for (const viewer of bed.clusters.keys()) {
      await waitFor(
        `pg-global in ${viewer} to hold ${TOTAL} ready endpoints`,
        async () => {
          const eps = (await slicesOf(bed.cluster(viewer), NS, 'pg-global')).flatMap((s) => s.endpoints ?? []);
          return eps.length === TOTAL && eps.every((e) => e.conditions?.ready);
        },
        180_000,
        1_000,
      );
    }
    await waitFor("east's cache mirrored into west", async () => (await getService(west, SQUAT, 'cache-east')) !== undefined, 120_000);
  });

  it('shows, as JSON in every cluster, each cluster’s member of a StatefulSet exported from three, with its endpoints, and exits 0', async () => {
    for (const viewer of bed.clusters.keys()) {
      // The controller may still be writing a last pod condition: status agrees once it has.
      const settled = await waitFor(
        `globalsvc status in ${viewer} to exit 0`,
        async () => {
          const r = await status(bed, viewer, `--namespaces=${NS}`, '-o', 'json');
          if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stdout}${r.stderr}`);
          return r;
        },
        60_000,
        1_000,
      );
      const report = JSON.parse(settled.stdout) as StatusReport;
      expect(report).toMatchObject({ schema: 'globalsvc.dev/status/v1', cluster: viewer, namespaces: [NS], problems: [] });
      expect(report.summary).toEqual({ globals: 1, problems: 0 });
      expect(report.globals).toEqual([expectedPg(viewer)]);
    }
  });

  it('prints the same as a table', async () => {
    const { code, stdout } = await status(bed, 'west', `--namespaces=${NS}`);
    expect(code).toBe(0);
    expect(stdout.split('\n').map((l) => l.trim())).toEqual(
      expect.arrayContaining([
        `${NS}/pg → pg-global: published`,
        expect.stringMatching(/^east\s+mirror\s+pg-east\s+member\s+3\/3\s+3\/3$/),
        expect.stringMatching(/^north\s+mirror\s+pg-north\s+member\s+1\/1\s+1\/1$/),
        expect.stringMatching(/^west\s+local\s+pg\s+member\s+2\/2\s+2\/2$/),
        expect.stringMatching(/^total\s+6\/6\s+6\/6$/),
        `cluster west, namespaces ${NS}: 1 global(s), 0 problem(s) (endpoints are ready/total)`,
      ]),
    );
  });

  it('reports a user-owned <name>-global as a collision and exits 1', async () => {
    const json = await status(bed, 'west', `--namespaces=${NS},${SQUAT}`, '-o', 'json');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.summary).toEqual({ globals: 2, problems: 1 });
    expect(report.globals.find((g) => g.name === 'pg')?.state).toBe('published');
    expect(report.globals.find((g) => g.name === 'cache')).toMatchObject({
      namespace: SQUAT,
      global: 'cache-global',
      state: 'blocked',
      members: [{ cluster: 'east', origin: 'mirror', service: 'cache-east', state: 'member', endpoints: { ready: 1, total: 1 } }],
      problems: [
        {
          reason: 'GlobalNameTaken',
          object: { kind: 'Service', namespace: SQUAT, name: 'cache-global' },
          message: expect.stringMatching(/exists and is not managed by globalsvc/),
        },
      ],
    });

    const table = await status(bed, 'west', `--namespaces=${NS},${SQUAT}`);
    console.log(`globalsvc status in west:\n${table.stdout}`);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(new RegExp(`^${SQUAT}/cache → cache-global: blocked$`, 'm'));
    expect(table.stdout).toMatch(/^ {2}! GlobalNameTaken: Service status-squat\/cache-global exists/m);
  });

  it('runs as the kubectl plugin: `kubectl globalsvc status` with kubectl-globalsvc on PATH', async () => {
    const plugin = join(repoRoot, PLUGIN_ENTRYPOINT);
    chmodSync(plugin, 0o755);
    const bin = mkdtempSync(join(tmpdir(), 'kubectl-plugins-'));
    symlinkSync(plugin, join(bin, 'kubectl-globalsvc'));
    try {
      const env = { ...process.env, PATH: [bin, dirname(process.execPath), process.env.PATH].join(':') };
      const args = ['globalsvc', 'status', '--cluster-name=east', `--kubeconfig=${bed.cluster('east').kubeconfig}`, '-n', NS, '-o', 'json'];
      const { code, stdout, stderr } = await exec(bed.binaries.kubectl, args, env);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as StatusReport).globals).toEqual([expectedPg('east')]);

      const usage = await exec(bed.binaries.kubectl, ['globalsvc', 'status', '-o', 'yaml'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/Allowed choices are table, json/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
