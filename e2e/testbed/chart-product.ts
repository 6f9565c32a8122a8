import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { repoRoot } from './binaries.js';
import type { Cluster } from './cluster.js';
import { KindCluster } from './kind-cluster.js';
import { PODS } from './kube.js';
import { waitFor } from './processes.js';
import { productKubeconfig, sumOfSamples, type Product, type ProductInstance } from './product.js';

const run = promisify(execFile);

const CHART = join(repoRoot, 'manifests/helm/globalsvc');
const RELEASE = 'globalsvc';
const NAMESPACE = 'globalsvc';
const PODS_OF_RELEASE = `app.kubernetes.io/name=globalsvc,app.kubernetes.io/instance=${RELEASE}`;

interface Pod extends KubeObject {
  spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
  status?: { podIP?: string; containerStatuses?: { state?: { terminated?: { exitCode: number } } }[] };
}

/** The chart's values (manifests/helm/globalsvc/values.yaml): one per flag of `globalsvc run`. */
const chartValues = () => parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;

/**
 * `globalsvc run` arguments as the chart's values: each value is its flag in camelCase
 * (`--gateway-probe-addresses=...` is gatewayProbeAddresses), as the chart renders them back. An
 * argument the chart has no value for is an error, never dropped.
 */
export function valuesOfArgs(args: readonly string[], known: Record<string, unknown> = chartValues()): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const arg of args) {
    const m = /^--([a-z][a-z0-9-]*)=(.*)$/.exec(arg);
    if (!m) throw new Error(`${arg}: the chart takes flags as --name=value`);
    const key = m[1]!.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (!(key in known)) throw new Error(`${arg}: the chart has no value ${key}`);
    const raw = m[2]!;
    values[key] = typeof known[key] === 'boolean' ? raw === 'true' : raw;
  }
  return values;
}

interface Release {
  cluster: KindCluster;
  args: string[];
  peers: readonly string[];
  kubeconfig: string;
  /** 0 between stop() and start(). */
  replicas: number;
}

/** globalsvc's command line in its container (the Dockerfile's ENTRYPOINT); `[.]` spares grep's own. */
const PROCESS = 'dist/globalsvc[.]mjs';

/** Two replicas, one writer: the chart's default. */
const REPLICAS = 2;

/**
 * globalsvc on the kind provider as users deploy it: the image built from the Dockerfile
 * (hack/kind/build-product-image.sh, imported into every node's containerd), installed with the
 * Helm chart in each cluster — the Deployment it ships as, 2 replicas under leader election, its
 * ServiceAccount and RBAC — and configured only through the chart's values. Its metrics are read
 * through the API server's pod proxy; stopping it scales the Deployment to 0.
 */
export class ChartProduct implements Product {
  private readonly releases = new Map<string, Release>();

  constructor(
    private readonly helm: string,
    private readonly kubectl: string,
    /** The image's repository:tag, as the nodes hold it. */
    private readonly image: string,
    private readonly dir: string,
  ) {}

  async install(cluster: Cluster, extraArgs: string[] = [], peers: readonly string[] = []): Promise<ProductInstance> {
    if (!(cluster instanceof KindCluster)) throw new Error(`the chart is installed on the kind provider's clusters, not ${cluster.name}`);
    const release: Release = { cluster, args: extraArgs, peers, kubeconfig: '', replicas: REPLICAS };
    this.releases.set(cluster.name, release);
    await this.helmUpgrade(release);
    release.kubeconfig = await productKubeconfig(cluster, this.dir);
    return this.instance(cluster.name);
  }

  replicasOf(cluster: string): string[] {
    return this.releases.has(cluster) ? [cluster] : [];
  }

  instance(id: string): ProductInstance {
    const r = this.release(id);
    return { cluster: r.cluster.name, args: r.args, kubeconfig: r.kubeconfig };
  }

  /** `helm upgrade` with the values of `args`: the Deployment rolls its pods, each handing its lease over. */
  async restartWith(id: string, args: string[]): Promise<void> {
    const r = this.release(id);
    r.args = args;
    await this.helmUpgrade(r);
  }

  async start(id: string): Promise<void> {
    const r = this.release(id);
    r.replicas = REPLICAS;
    await this.kubectlOn(r, 'scale', 'deployment', RELEASE, `--replicas=${r.replicas}`);
    await this.kubectlOn(r, 'rollout', 'status', 'deployment', RELEASE, '--timeout=180s');
  }

  /**
   * Scales the Deployment to 0 and returns once no globalsvc process is left on the node. SIGKILL is
   * a crash: every globalsvc process on the node is SIGKILLed first (the leader's Lease is left to
   * expire), then its pods are force-deleted — a container the kubelet restarted meanwhile has no
   * time to lead. SIGTERM lets them hand their lease over and returns the exit code the kubelet
   * reported, or null when none was seen before the pods went.
   */
  async stop(id: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const r = this.release(id);
    if (signal !== 'SIGTERM' && signal !== 'SIGKILL')
      throw new Error(`a Deployment's pods are stopped with SIGTERM or SIGKILL, not ${signal}`);
    r.replicas = 0;
    if (signal === 'SIGKILL' && (await r.cluster.kill(PROCESS)) === 0)
      throw new Error(`no globalsvc process on ${r.cluster.name}'s node to kill`);
    await this.kubectlOn(r, 'scale', 'deployment', RELEASE, '--replicas=0');
    if (signal === 'SIGKILL')
      await this.kubectlOn(r, 'delete', 'pods', '-l', PODS_OF_RELEASE, '--grace-period=0', '--force', '--wait=false');
    let exitCode: number | null = null;
    await waitFor(
      `globalsvc's pods in ${r.cluster.name} gone`,
      async () => {
        const pods = await r.cluster.admin.list<Pod>(PODS, NAMESPACE, PODS_OF_RELEASE);
        for (const p of pods) {
          const terminated = p.status?.containerStatuses?.[0]?.state?.terminated;
          if (terminated) exitCode = terminated.exitCode;
        }
        return pods.length === 0 && (await this.processesOnNode(r)) === 0;
      },
      60_000,
      200,
    );
    return signal === 'SIGKILL' ? null : exitCode;
  }

  running(id: string): boolean {
    return this.release(id).replicas > 0;
  }

  /** Every replica's /metrics, through the API server's pod proxy, one after another. */
  async metrics(id: string): Promise<string> {
    const r = this.release(id);
    const pods = await r.cluster.admin.list<Pod>(PODS, NAMESPACE, PODS_OF_RELEASE);
    const out: string[] = [];
    for (const p of pods.filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp)) {
      const port = p.spec.containers[0]?.ports?.find((q) => q.name === 'metrics')?.containerPort;
      if (!port) throw new Error(`globalsvc's pod ${p.metadata.name} in ${r.cluster.name} has no "metrics" port`);
      out.push(await this.kubectlOn(r, 'get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/${p.metadata.name}:${port}/proxy/metrics`));
    }
    return out.join('\n');
  }

  async metric(id: string, name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumOfSamples(await this.metrics(id), name, labels);
  }

  addReplica(): Promise<string> {
    return this.onlyLocal('addReplica');
  }

  remove(): Promise<void> {
    return this.onlyLocal('remove');
  }

  reroute(): Promise<void> {
    return this.onlyLocal('reroute');
  }

  health(): Promise<number> {
    return this.onlyLocal('health');
  }

  logFile(): string {
    throw new Error('logFile: globalsvc runs in pods on the kind provider (kubectl logs); a host process only on the local provider');
  }

  private onlyLocal(what: string): never {
    throw new Error(`${what}: a host process of globalsvc, on the local provider only (the kind provider runs the Helm chart)`);
  }

  private release(id: string): Release {
    const r = this.releases.get(id);
    if (!r) throw new Error(`globalsvc is not installed in ${id}`);
    return r;
  }

  private async helmUpgrade(r: Release): Promise<void> {
    const [repository, tag] = this.image.split(/:(?=[^:/]+$)/) as [string, string];
    const values = {
      clusterName: r.cluster.name,
      // The image is in every node's containerd and nowhere else: never pulled.
      image: { repository, tag, pullPolicy: 'Never' },
      replicaCount: r.replicas,
      logLevel: 'debug',
      // The Role reading Link secrets names this cluster's peers (rendered only with remoteDiscovery on).
      remoteDiscoveryLinks: [...r.peers],
      ...valuesOfArgs(r.args),
    };
    const file = join(this.dir, `chart-values-${r.cluster.name}.yaml`);
    writeFileSync(file, stringify(values));
    const started = Date.now();
    await run(
      this.helm,
      [
        'upgrade',
        '--install',
        RELEASE,
        CHART,
        '-n',
        NAMESPACE,
        '--create-namespace',
        `--kubeconfig=${r.cluster.kubeconfig}`,
        '-f',
        file,
        '--wait',
        '--timeout=180s',
      ],
      { maxBuffer: 16 * 2 ** 20 },
    ).catch(async (err: Error & { stderr?: string }) => {
      throw new Error(`helm upgrade --install in ${r.cluster.name}: ${err.stderr?.trim() || err.message}\n${await this.describe(r)}`);
    });
    // helm --wait waits for the Deployment's new replicas to be ready, not for the old ones to go.
    await this.kubectlOn(r, 'rollout', 'status', 'deployment', RELEASE, '--timeout=180s');
    process.stderr.write(`test bed: globalsvc's chart in ${r.cluster.name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }

  /** The release's pods and their last events, for an install that did not come up. */
  private async describe(r: Release): Promise<string> {
    try {
      return await this.kubectlOn(r, 'describe', 'pods', '-l', PODS_OF_RELEASE);
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** globalsvc processes on the cluster's node (a kind node sees its pods' processes). */
  private async processesOnNode(r: Release): Promise<number> {
    const out = await r.cluster.exec(['sh', '-c', `grep -l '${PROCESS}' /proc/[0-9]*/cmdline 2>/dev/null | wc -l`]);
    return Number(out.trim());
  }

  private async kubectlOn(r: Release, ...args: string[]): Promise<string> {
    const { stdout } = await run(this.kubectl, [`--kubeconfig=${r.cluster.kubeconfig}`, '-n', NAMESPACE, ...args], {
      maxBuffer: 64 * 2 ** 20,
    });
    return stdout;
  }
}
