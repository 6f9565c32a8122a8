import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ENTRYPOINT, NODE_FLAGS, PROCESS_ENV } from '../../src/cli/node-flags.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { repoRoot } from './binaries.js';
import type { Cluster } from './cluster.js';
import type { ProcessGroup } from './processes.js';
import { waitFor } from './processes.js';
import { freePort } from './ports.js';

const PRODUCT_NAMESPACE = 'globalsvc';
const SERVICE_ACCOUNT = 'globalsvc';

const manifests = (dir: string, files: string[]) =>
  files.flatMap((f) => parseAllDocuments(readFileSync(join(repoRoot, dir, f), 'utf8')).map((d) => d.toJS() as KubeObject));

/**
 * The RBAC the product ships, applied from manifests/base as it is, and bursting's from
 * manifests/burst with its Link-secret Role naming this cluster's peers (the one edit it asks for).
 */
function shippedRbac(peers: readonly string[]): KubeObject[] {
  const base = manifests('manifests/base', [
    'namespace.yaml',
    'serviceaccount.yaml',
    'clusterrole.yaml',
    'clusterrolebinding.yaml',
    'role.yaml',
    'rolebinding.yaml',
  ]);
  const burst = manifests('manifests/burst', ['clusterrole.yaml', 'peer-credentials.yaml']).map((o) => withResourceNames(o, peers));
  // Remote discovery's Link-secret Role, with the same one edit (docs/flat-networks.md).
  const remoteDiscovery = manifests('manifests/remote-discovery', ['link-credentials.yaml']).map((o) => withResourceNames(o, peers));
  return [...base, ...burst, ...remoteDiscovery];
}

/** A Role reading Link secrets, made to name exactly this cluster's peers' (the one edit the manifests ask for). */
const withResourceNames = (o: KubeObject, peers: readonly string[]): KubeObject =>
  o.kind === 'Role'
    ? ({
        ...o,
        rules: (o as KubeObject & { rules: object[] }).rules.map((r) => ({
          ...r,
          resourceNames: peers.map((p) => `cluster-credentials-${p}`),
        })),
      } as KubeObject)
    : o;

/** A TokenRequest token for ServiceAccount `namespace/name` of `cluster`, valid for a day. */
export async function serviceAccountToken(cluster: Cluster, namespace: string, name: string): Promise<string> {
  const request = await cluster.admin.api.request<{ status: { token: string } }>(
    'create',
    { kind: 'TokenRequest', apiPath: '/api/v1', plural: 'serviceaccounts' },
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } } },
  );
  return request.status.token;
}

/**
 * A kubeconfig that authenticates as the product's ServiceAccount (a TokenRequest token), so the
 * product runs with exactly the shipped permissions, never as admin.
 */
async function serviceAccountKubeconfig(cluster: Cluster, dir: string, peers: readonly string[]): Promise<string> {
  for (const obj of shippedRbac(peers)) {
    // The Link-secret Role lives beside Linkerd's links: a cluster without links (the benchmarks') has no such namespace yet.
    if (obj.metadata.namespace) await cluster.admin.ensureNamespace(obj.metadata.namespace);
    await cluster.admin.apply(obj);
  }
  return productKubeconfig(cluster, dir);
}

/** A kubeconfig in `dir` authenticating as globalsvc's ServiceAccount (globalsvc/globalsvc) of `cluster`. */
export async function productKubeconfig(cluster: Cluster, dir: string): Promise<string> {
  const token = await serviceAccountToken(cluster, PRODUCT_NAMESPACE, SERVICE_ACCOUNT);
  const admin = readFileSync(cluster.kubeconfig, 'utf8');
  const ca = /certificate-authority: (\S+)/.exec(admin)?.[1];
  const path = join(dir, `globalsvc-${cluster.name}.kubeconfig`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${cluster.name}`,
      '  cluster:',
      `    server: ${cluster.server}`,
      `    certificate-authority: ${ca}`,
      'users:',
      '- name: globalsvc',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      `- name: ${cluster.name}`,
      '  context:',
      `    cluster: ${cluster.name}`,
      '    user: globalsvc',
      `current-context: ${cluster.name}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** globalsvc as installed in one cluster. */
export interface ProductInstance {
  cluster: string;
  /** What it was installed with, as `globalsvc run` arguments. */
  args: string[];
  /** A kubeconfig that authenticates as globalsvc's ServiceAccount in that cluster. */
  kubeconfig: string;
}

/** One process of the local test bed: its ports on 127.0.0.1. */
export interface ProcessInstance extends ProductInstance {
  metricsPort: number;
  healthPort: number;
  /** An API address to use instead of the cluster's own (a fault proxy speaking plain HTTP). */
  via?: string;
}

/**
 * globalsvc in the test bed's clusters, as the scenarios drive it: host processes on the local
 * provider (ProcessProduct), the Helm chart's Deployment on the kind provider (ChartProduct). An
 * id names one installation: the cluster's name, or `<cluster>-<suffix>` for a process added with
 * addReplica. What only host processes can do (a replica added by hand, API traffic through a fault
 * proxy, the log file, the health port) throws on the kind provider.
 */
export interface Product {
  install(cluster: Cluster, extraArgs?: string[], peers?: readonly string[]): Promise<ProductInstance>;
  replicasOf(cluster: string): string[];
  instance(id: string): ProductInstance;
  /** Restarts it with other arguments than it was installed with (SIGTERM: the lease is handed over). */
  restartWith(id: string, args: string[]): Promise<void>;
  /** Starts it again after stop(), with the arguments it was installed with, and waits until it is ready. */
  start(id: string): Promise<void>;
  /** Stops it; SIGKILL is a crash. Returns the exit code, null when a signal ended it. */
  stop(id: string, signal?: NodeJS.Signals): Promise<number | null>;
  running(id: string): boolean;
  metrics(id: string): Promise<string>;
  /** Sum of a metric's samples whose labels contain every `labels` pair (over every replica). */
  metric(id: string, name: string, labels?: Record<string, string>): Promise<number>;
  addReplica(cluster: string, suffix: string): Promise<string>;
  remove(id: string): Promise<void>;
  reroute(id: string, via: string | undefined): Promise<void>;
  health(id: string, path: '/healthz' | '/readyz'): Promise<number>;
  logFile(id: string): string;
}

/** Sum of the samples of `name` in a Prometheus exposition whose labels contain every `labels` pair. */
export function sumOfSamples(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Runs the built CLI (`node dist/globalsvc.mjs run`), exactly as the container does. Each
 * process has an id: the cluster's name for its first replica, `<cluster>-<suffix>` for more.
 */
export class ProcessProduct implements Product {
  private readonly instances = new Map<string, ProcessInstance>();
  /** A memory cgroup's `cgroup.procs` to start the processes in (the benchmarks' --product-memory-limit). */
  cgroupProcs: string | undefined;

  constructor(
    private readonly procs: ProcessGroup,
    private readonly dir: string,
  ) {}

  /** The ids of a cluster's processes: its first replica's, then any added (`<cluster>-<suffix>`). */
  replicasOf(cluster: string): string[] {
    return [...this.instances.keys()].filter((id) => id === cluster || id.startsWith(`${cluster}-`));
  }

  instance(id: string): ProcessInstance {
    const i = this.instances.get(id);
    if (!i) throw new Error(`no globalsvc process ${id}`);
    return i;
  }

  /** Runs the product in `cluster` as its ServiceAccount, allowed to read the Link secrets of `peers`. */
  async install(cluster: Cluster, extraArgs: string[] = [], peers: readonly string[] = []): Promise<ProcessInstance> {
    const kubeconfig = await serviceAccountKubeconfig(cluster, this.dir, peers);
    const instance = { cluster: cluster.name, metricsPort: await freePort(), healthPort: await freePort(), kubeconfig, args: extraArgs };
    this.instances.set(cluster.name, instance);
    await this.start(cluster.name);
    return instance;
  }

  /** Another replica of an installed cluster's product, with its own ports: `<cluster>-<suffix>`. */
  async addReplica(cluster: string, suffix: string): Promise<string> {
    const first = this.instance(cluster);
    const id = `${cluster}-${suffix}`;
    this.instances.set(id, { ...first, metricsPort: await freePort(), healthPort: await freePort() });
    await this.start(id);
    return id;
  }

  /** Restarts a process (SIGTERM, so it hands its lease over) with its API traffic sent `via` an address, or straight again. */
  async reroute(id: string, via: string | undefined): Promise<void> {
    await this.stop(id);
    this.instance(id).via = via;
    await this.start(id);
  }

  /** Restarts a process (SIGTERM, handing its lease over) with other arguments than it was installed with. */
  async restartWith(id: string, args: string[]): Promise<void> {
    await this.stop(id);
    this.instance(id).args = args;
    await this.start(id);
  }

  /** Starts (or restarts) a process with the arguments it was installed with. */
  async start(id: string): Promise<void> {
    const i = this.instance(id);
    let kubeconfig = i.kubeconfig;
    if (i.via) {
      kubeconfig = join(this.dir, `globalsvc-${id}-via.kubeconfig`);
      writeFileSync(
        kubeconfig,
        readFileSync(i.kubeconfig, 'utf8')
          .replace(/server: \S+/, `server: ${i.via}`)
          .replace(/certificate-authority: \S+/, 'insecure-skip-tls-verify: true'),
      );
    }
    const command = [
      process.execPath,
      ...NODE_FLAGS,
      join(repoRoot, ENTRYPOINT),
      'run',
      `--cluster-name=${i.cluster}`,
      `--kubeconfig=${kubeconfig}`,
      `--metrics-addr=127.0.0.1:${i.metricsPort}`,
      `--health-addr=127.0.0.1:${i.healthPort}`,
      '--log-level=debug',
      ...i.args,
    ];
    // Into the memory cgroup before Node starts, so that V8 sizes its heap from the cgroup's limit.
    if (this.cgroupProcs)
      this.procs.start(`globalsvc-${id}`, '/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', this.cgroupProcs, ...command], PROCESS_ENV);
    else this.procs.start(`globalsvc-${id}`, command[0]!, command.slice(1), PROCESS_ENV);
    await waitFor(`globalsvc ${id} ready`, async () => (await fetch(`http://127.0.0.1:${i.healthPort}/readyz`)).ok, 60_000);
  }

  /** Stops a replica added with addReplica for good (SIGTERM, handing its lease over). */
  async remove(id: string): Promise<void> {
    await this.stop(id);
    this.instances.delete(id);
  }

  /** Signals one instance and waits for it to exit; SIGKILL after `graceMs` (the process manager's default). */
  async stop(id: string, signal: NodeJS.Signals = 'SIGTERM', graceMs?: number): Promise<number | null> {
    return this.procs.stop(`globalsvc-${id}`, signal, graceMs);
  }

  running(id: string): boolean {
    return this.procs.has(`globalsvc-${id}`);
  }

  /** The HTTP status of a health endpoint (`/healthz`, `/readyz`) of one instance. */
  async health(id: string, path: '/healthz' | '/readyz'): Promise<number> {
    return (await fetch(`http://127.0.0.1:${this.instance(id).healthPort}${path}`)).status;
  }

  async metrics(id: string): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.instance(id).metricsPort}/metrics`)).text();
  }

  /** Sum of a metric's samples whose labels contain every `labels` pair. */
  async metric(id: string, name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumOfSamples(await this.metrics(id), name, labels);
  }

  logFile(id: string): string {
    return this.procs.logFile(`globalsvc-${id}`);
  }
}
