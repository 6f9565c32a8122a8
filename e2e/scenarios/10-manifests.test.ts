import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { OPTIONS } from '../../src/cli/options.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { repoRoot } from '../testbed/binaries.js';
import { ENTRYPOINT } from '../../src/cli/node-flags.js';
import { NAMESPACES } from '../testbed/kube.js';
import type { TestBed } from '../testbed/testbed.js';

const run = promisify(execFile);
const CHART = join(repoRoot, 'manifests/helm/globalsvc');
const BASE_KINDS = [
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'Deployment',
  'Namespace',
  'PodDisruptionBudget',
  'Role',
  'RoleBinding',
  'Service',
  'ServiceAccount',
];

interface Container {
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  image?: string;
}
type Manifest = KubeObject & {
  rules?: unknown[];
  spec?: { replicas?: number; ports?: { port: number }[]; template?: { spec: { containers: Container[] } } };
};

const parseManifests = (rendered: string) =>
  parseAllDocuments(rendered)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
const kindsOf = (objects: Manifest[]) => objects.map((o) => o.kind!).sort();
const only = (objects: Manifest[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const containerOf = (objects: Manifest[]) => only(objects, 'Deployment').spec!.template!.spec.containers[0]!;

/**
 * An object as far as the two installs must agree: without labels and label selectors (the chart adds
 * Helm's instance labels) and without the container's args, env and pull policy (the base configures by
 * environment, the chart by flags: the tests below check the chart's flags against its values).
 */
function comparable(o: Manifest): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !['labels', 'matchLabels', 'args', 'env', 'imagePullPolicy'].includes(k))
        .map(([k, x]) => [k, strip(x)]),
    );
  };
  const copy = strip(o) as Manifest;
  if (o.kind === 'Service') delete (copy.spec as { selector?: unknown }).selector;
  return copy;
}
const byKindAndName = (a: Manifest, b: Manifest) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);

/** The arguments the chart should pass: each option's value as set, else the chart's default, else the controller's. */
function expectedArgs(set: Record<string, string>, releaseNamespace: string): string[] {
  const chartDefaults: Record<string, string> = { leaderElect: 'true', leaderElectNamespace: releaseNamespace };
  return OPTIONS.flatMap((o) => {
    const value = set[o.key] ?? chartDefaults[o.key] ?? ('default' in o ? o.default : undefined);
    return value === undefined ? [] : [`${o.flag.split(' ')[0]}=${value}`];
  });
}

describeOnBed('the shipped manifests', () => {
  let bed: TestBed;
  const createdNamespaces: string[] = [];

  beforeAll(async () => {
    bed = await testBed();
  });

  afterAll(async () => {
    for (const ns of createdNamespaces) await bed.cluster('west').admin.delete(NAMESPACES, undefined, ns);
  });

  /** `kubectl apply --server-side --dry-run=server` of every object in `rendered` on west's API server. */
  async function dryRunApply(rendered: string): Promise<{ code: number | null; out: string }> {
    const apply = execFile(bed.binaries.kubectl, [
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
    return { code, out };
  }

  async function expectDryRunAccepts(rendered: string, objects: number): Promise<void> {
    const { code, out } = await dryRunApply(rendered);
    expect(out).not.toMatch(/error|invalid/i);
    expect(code).toBe(0);
    expect(out.match(/serverside-applied \(server dry run\)/g)).toHaveLength(objects);
  }

  async function kustomizeBase(): Promise<string> {
    return (await run(bed.binaries.kubectl, ['kustomize', join(repoRoot, 'manifests/base')])).stdout;
  }

  /**
   * `helm template`, with Helm's own folders inside the test bed so it reads no user configuration, and
   * with the chart's crds/ (the BurstPolicy CRD), as `helm install` installs them.
   */
  async function helmTemplate(release: string, namespace: string, set: string[]): Promise<string> {
    const home = join(bed.dir, 'helm');
    const env = { ...process.env, HELM_CACHE_HOME: `${home}/cache`, HELM_CONFIG_HOME: `${home}/config`, HELM_DATA_HOME: `${home}/data` };
    const args = ['template', release, CHART, '--namespace', namespace, '--include-crds', ...set.flatMap((s) => ['--set', s])];
    return (await run(bed.binaries.helm, args, { env })).stdout;
  }

  it('render with kustomize and pass a server-side dry-run apply on a real API server', async () => {
    const rendered = await kustomizeBase();
    expect(kindsOf(parseManifests(rendered))).toEqual(BASE_KINDS);
    await expectDryRunAccepts(rendered, BASE_KINDS.length);
  });

  it("the Helm chart with its defaults renders the kustomize base's objects and passes a server-side dry-run apply", async () => {
    const base = parseManifests(await kustomizeBase());
    const chart = parseManifests(await helmTemplate('globalsvc', 'globalsvc', ['clusterName=west', 'createNamespace=true']));

    expect(kindsOf(chart)).toEqual(BASE_KINDS);
    expect(only(chart, 'ClusterRole').rules).toEqual(only(base, 'ClusterRole').rules);
    expect(only(chart, 'Role').rules).toEqual(only(base, 'Role').rules);
    expect([...chart].sort(byKindAndName).map(comparable)).toEqual([...base].sort(byKindAndName).map(comparable));
    expect(containerOf(chart).args).toEqual(expectedArgs({ clusterName: 'west' }, 'globalsvc'));

    // Without createNamespace (helm install --create-namespace makes it), everything but the Namespace.
    const rendered = await helmTemplate('globalsvc', 'globalsvc', ['clusterName=west']);
    expect(kindsOf(parseManifests(rendered))).toEqual(BASE_KINDS.filter((k) => k !== 'Namespace'));
    await expectDryRunAccepts(rendered, BASE_KINDS.length - 1);
  });

  it("bursting's RBAC: the chart with burst on grants what manifests/burst grants, and both pass a dry-run", async () => {
    const kustomized = (await run(bed.binaries.kubectl, ['kustomize', join(repoRoot, 'manifests/burst')])).stdout;
    const burst = parseManifests(kustomized);
    const chart = parseManifests(
      await helmTemplate('globalsvc', 'globalsvc', [
        'clusterName=west',
        'burst=true',
        'prometheusUrl=http://prometheus:9090',
        'burstPeers={east}',
      ]),
    );
    const named = (objects: Manifest[], kind: string, suffix: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name!.endsWith(suffix));
    expect(named(chart, 'ClusterRole', '-burst')!.rules).toEqual(named(burst, 'ClusterRole', '-burst')!.rules);
    expect(named(chart, 'Role', '-peer-credentials')!.rules).toEqual(named(burst, 'Role', '-peer-credentials')!.rules);
    expect(named(chart, 'Role', '-peer-credentials')!.metadata.namespace).toBe('linkerd-multicluster');
    expect(containerOf(chart).args).toEqual(expect.arrayContaining(['--burst=true', '--prometheus-url=http://prometheus:9090']));
    await expectDryRunAccepts(kustomized, burst.length);
  });

  it("remote discovery's RBAC: the chart with it on grants what manifests/remote-discovery grants, and both pass a dry-run", async () => {
    const kustomized = (await run(bed.binaries.kubectl, ['kustomize', join(repoRoot, 'manifests/remote-discovery')])).stdout;
    const shipped = parseManifests(kustomized);
    const chart = parseManifests(
      await helmTemplate('globalsvc', 'globalsvc', ['clusterName=west', 'remoteDiscovery=true', 'remoteDiscoveryLinks={east}']),
    );
    const named = (objects: Manifest[], kind: string, suffix: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name!.endsWith(suffix));
    expect(named(chart, 'Role', '-link-credentials')!.rules).toEqual(named(shipped, 'Role', '-link-credentials')!.rules);
    expect(named(chart, 'Role', '-link-credentials')!.metadata.namespace).toBe('linkerd-multicluster');
    expect(containerOf(chart).args).toEqual(expect.arrayContaining(['--remote-discovery=true', '--remote-stale-after=60s']));
    // Without Links to name, no Role: never one that names no Secret (or all of them).
    const none = parseManifests(await helmTemplate('globalsvc', 'globalsvc', ['clusterName=west', 'remoteDiscovery=true']));
    expect(named(none, 'Role', '-link-credentials')).toBeUndefined();
    await expectDryRunAccepts(kustomized, shipped.length);
  });

  it('the Helm chart passes the values set as flags the controller accepts, and follows them in its objects', async () => {
    const namespace = 'helm-values';
    const set = {
      clusterName: 'east',
      namespaces: 'demo,data',
      includeLocal: 'false',
      globalSuffix: '-mc',
      maxEndpointsPerSlice: '50',
      workers: '2',
      batchPeriod: '100ms',
      resyncPeriod: '0',
      leaderElectLeaseName: 'globalsvc-east',
      leaseDuration: '30s',
      renewDeadline: '20s',
      metricsAddr: ':9191',
      healthAddr: ':8181',
      logLevel: 'debug',
    };
    const rendered = await helmTemplate('mesh', namespace, [
      ...Object.entries(set).map(([k, v]) => (k === 'namespaces' ? `${k}={${v}}` : `${k}=${v}`)),
      'replicaCount=3',
      'image.tag=dev',
      'createNamespace=true',
    ]);
    const objects = parseManifests(rendered);

    expect(kindsOf(objects)).toEqual(BASE_KINDS);
    expect(only(objects, 'Namespace').metadata.name).toBe(namespace);
    const namespaced = objects.filter(
      (o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind!),
    );
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set([namespace]));
    expect(only(objects, 'Deployment').metadata.name).toBe('mesh-globalsvc');
    expect(only(objects, 'Deployment').spec!.replicas).toBe(3);
    const container = containerOf(objects);
    expect(container.image).toBe('ghcr.io/globalsvc/globalsvc:dev');
    expect(container.args).toEqual(expectedArgs(set, namespace));
    expect(container.ports).toEqual([
      { name: 'metrics', containerPort: 9191 },
      { name: 'health', containerPort: 8181 },
    ]);
    expect(only(objects, 'Service').spec!.ports).toEqual([{ name: 'metrics', port: 9191, targetPort: 'metrics' }]);

    // The controller takes these arguments: `plan` validates them as `run` does, reads west, writes nothing.
    const plan = await run(
      process.execPath,
      [join(repoRoot, ENTRYPOINT), 'plan', ...container.args!, `--kubeconfig=${bed.cluster('west').kubeconfig}`],
      // --log-level=debug: stderr grows with what the cluster holds (the shared bed, after scenarios 01-09).
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(plan.stdout).toMatch(/global\(s\), \d+ write\(s\) planned; nothing was changed\n$/);

    // Objects in a namespace need it to exist: a dry run of the Namespace creates nothing.
    createdNamespaces.push(namespace);
    await bed.cluster('west').admin.ensureNamespace(namespace);
    await expectDryRunAccepts(rendered, BASE_KINDS.length);
  });
});
