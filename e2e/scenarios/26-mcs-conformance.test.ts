import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnBed, testBed } from '../support/bed.js';
import { withMcsApi } from '../support/mcs.js';
import { quietMesh } from '../support/mesh.js';
import type { TestBed } from '../testbed/testbed.js';

/** The exporting cluster first: the suite makes its hello Service and ServiceExport in the first context. */
const CLUSTERS = ['west', 'east', 'north'];

/**
 * The specs of sigs.k8s.io/mcs-api's conformance suite (ded161af6) that need no pod exec and no
 * pod-to-pod traffic: service_import.go and endpoint_slice.go. Spec 17 ("Connectivity to a service
 * that is not exported") carries no Connectivity label but execs nc, and passes falsely where exec
 * fails (kwok): it is skipped by name.
 */
const LABEL_FILTER = '!DNS && !Connectivity';
const SKIP = 'Connectivity to a service that is not exported';

/** The specs globalsvc meets on the bed (docs/mcs-api.md, the conformance table): exactly these pass, all 16. */
const MET = [
  'An IP should be allocated for a ClusterSetIP ServiceImport for each IP family',
  "Exporting a ClusterIP service should create a ServiceImport of type ClusterSetIP in the service's namespace in each cluster. Unexporting should delete the ServiceImport",
  "The SessionAffinity for a ClusterSetIP ServiceImport should match the exported service's SessionAffinity",
  "The InternalTrafficPolicy for a ClusterSetIP ServiceImport should match the exported service's InternalTrafficPolicy",
  "The TrafficDistribution for a ClusterSetIP ServiceImport should match the exported service's TrafficDistribution",
  'The ports for a ClusterSetIP ServiceImport should match those of the exported service',
  'should expose the union of the constituent service ports and raise a conflict',
  'should apply the conflict resolution policy and report a Conflict condition on each ServiceExport (ports)',
  'A service exported on two clusters with conflicting headlessness should apply the conflict resolution policy and report a Conflict condition on the ServiceExport',
  "Exporting a service should create an MCS EndpointSlice in the service's namespace in each cluster with the required MCS labels. Unexporting should delete the EndpointSlice.",
  "A ServiceImport should only exist as long as there's at least one exporting cluster",
  'Exporting an ExternalName service should set ServiceExport Valid condition to False',
  "Exporting a headless service should create a ServiceImport of type Headless in the service's namespace in each cluster. Unexporting should delete the ServiceImport",
  'No clusterset IP should be allocated for a Headless ServiceImport',
  'Only labels and annotations specified as exported in the ServiceExport should be propagated to the ServiceImport',
  'should apply the conflict resolution policy and report a Conflict condition on each ServiceExport (labels)',
];

interface SpecReport {
  LeafNodeType: string;
  LeafNodeText: string;
  ContainerHierarchyTexts: string[] | null;
  State: string;
  RunTime: number;
  Failure?: { Message: string };
}

/** A spec's name in MET: its leaf text, and for the two leaves the suite uses twice, what tells them apart. */
function specName(s: SpecReport): string {
  const containers = (s.ContainerHierarchyTexts ?? []).join(' ');
  if (s.LeafNodeText.startsWith('should apply the conflict resolution policy'))
    return `${s.LeafNodeText} (${containers.includes('annotations and labels') ? 'labels' : 'ports'})`;
  return s.LeafNodeText;
}

describeOnBed("sigs.k8s.io/mcs-api's conformance suite: the specs that need no pod exec", () => {
  let bed: TestBed;
  let restore: () => Promise<void>;

  beforeAll(async () => {
    bed = await testBed();
    // The suite's two-cluster specs give an export 5 s to reach the other cluster: run on a mesh of a
    // user's size, not on the mirrors every earlier scenario left (e2e/support/mesh.ts).
    const taken = await quietMesh(bed);
    console.log(`mcs-conformance: namespaces earlier scenarios left, taken away first: ${taken.join(' ')}`);
    restore = await withMcsApi(bed, CLUSTERS);
  });

  afterAll(async () => {
    await restore();
  });

  it(
    'passes every spec globalsvc says it meets, and those only',
    async () => {
      const kubeconfigs = CLUSTERS.map((c) => bed.cluster(c).kubeconfig);
      const contexts = kubeconfigs.map((k) => /current-context: (\S+)/.exec(readFileSync(k, 'utf8'))![1]!);
      /** One run of the suite, its specs narrowed by `focus` (a regexp of leaf texts) when given. */
      const run = async (focus?: string): Promise<SpecReport[]> => {
        const dir = mkdtempSync(join(tmpdir(), 'mcs-conformance-'));
        const args = [
          `-contexts=${contexts.join(',')}`,
          `-ginkgo.label-filter=${LABEL_FILTER}`,
          `-ginkgo.skip=${SKIP}`,
          ...(focus ? [`-ginkgo.focus=${focus}`] : []),
          `-ginkgo.json-report=${join(dir, 'report.json')}`,
          '-ginkgo.no-color',
          '-organization=globalsvc',
          '-project=globalsvc',
          '-url=docs/mcs-api.md',
        ];
        const started = Date.now();
        // The suite fails (exit 1) while any spec fails: the report says which.
        const output = await new Promise<string>((resolve) =>
          execFile(
            bed.binaries.mcsConformance,
            args,
            { cwd: dir, env: { ...process.env, KUBECONFIG: kubeconfigs.join(':') }, maxBuffer: 64 << 20, timeout: 20 * 60_000 },
            (_err, stdout, stderr) => resolve(`${stdout}${stderr}`),
          ),
        );
        const reports = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { SpecReports: SpecReport[] }[];
        const specs = reports.flatMap((r) => r.SpecReports).filter((s) => s.LeafNodeType === 'It' && s.State !== 'skipped');
        expect(specs.length, output.slice(-4000)).toBeGreaterThan(0);
        for (const s of specs)
          console.log(
            `mcs-conformance: ${s.State.padEnd(6)} ${(s.RunTime / 1e9).toFixed(1).padStart(5)} s  ${specName(s)}${
              s.State === 'passed'
                ? ''
                : ` -- ${(s.Failure?.Message ?? '')
                    .split('\n')
                    .filter((l) => l.trim() !== '')
                    .slice(0, 2)
                    .join(' ')
                    .trim()}`
            }`,
          );
        console.log(`mcs-conformance: ${specs.length} specs in ${((Date.now() - started) / 1000).toFixed(0)} s; report in ${dir}`);
        return specs;
      };
      const specs = await run();
      expect(specs.length).toBe(16);
      // The two-cluster specs give an export 5 to 20 s to reach the other cluster through Linkerd's
      // mirror, whose client writes at 5 requests a second and whose periodic repair of every mirror
      // holds events back meanwhile (quietMesh keeps that repair short). A spec globalsvc meets that
      // failed runs once more, alone, and both outcomes are printed; a spec that fails twice fails the test.
      const failedMet = specs.filter((s) => s.State !== 'passed' && MET.includes(specName(s)));
      const again =
        failedMet.length > 0 ? await run(failedMet.map((s) => s.LeafNodeText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')) : [];
      const passed = new Set([...specs, ...again].filter((s) => s.State === 'passed').map(specName));
      expect([...passed].sort()).toEqual([...MET].sort());
    },
    25 * 60_000,
  );
});
