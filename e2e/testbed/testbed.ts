import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './binaries.js';
import { binaryPaths, ensureBinaries, repoRoot, serviceMirrorCommand, testbedDir } from './binaries.js';
import { ENTRYPOINT } from '../../src/cli/node-flags.js';
import { LocalCluster, type Cluster, type ClusterSpec } from './cluster.js';
import { ClusterDns } from './dns.js';
import { ChartProduct } from './chart-product.js';
import { GatewayProbe, type Gateway } from './gateway.js';
import { KindCluster } from './kind-cluster.js';
import { PodGateway } from './kind-gateway.js';
import { installLinkCrd, installMcsCrds, link, type MirrorCommand } from './links.js';
import { MemorySampler } from './memory.js';
import { ProcessGroup } from './processes.js';
import { freePort } from './ports.js';
import { ProcessProduct, type Product } from './product.js';
import { e2eProvider, type Provider } from './provider.js';

export const DEFAULT_CLUSTERS: ClusterSpec[] = [
  { name: 'west', podCidr: '10.1.0.0/16', gatewayAddress: '192.0.2.1' },
  { name: 'east', podCidr: '10.2.0.0/16', gatewayAddress: '192.0.2.2' },
  { name: 'north', podCidr: '10.3.0.0/16', gatewayAddress: '192.0.2.3' },
];

export interface TestBedOptions {
  /** Names the test bed's folder and its kwok clusters (gs-<name>-<cluster>). */
  name: string;
  clusters?: ClusterSpec[];
  /** Where the clusters come from (default: local binaries). */
  provider?: Provider;
  /** Arguments added to every product process. */
  productArgs?: string[];
  log?: (line: string) => void;
}

const kwokName = (bed: string, cluster: string) => `gs-${bed}-${cluster}`;

/** globalsvc's image on the kind provider, built by the e2e global setup (hack/kind/build-product-image.sh). */
function kindProductImage(): string {
  const image = process.env.E2E_PRODUCT_IMAGE;
  if (!image)
    throw new Error("E2E_PRODUCT_IMAGE is not set: the e2e global setup builds globalsvc's image (hack/kind/build-product-image.sh)");
  return image;
}

/**
 * N clusters on 127.0.0.1, each with CoreDNS, every one linked to every other by a real Linkerd
 * service mirror, and globalsvc running in each as its own ServiceAccount.
 */
export class TestBed {
  readonly clusters = new Map<string, Cluster>();
  readonly dns = new Map<string, ClusterDns>();
  /** Each cluster's gateway, as its links' mirrors probe it: stop one and that cluster is dead to the others. */
  readonly gateways = new Map<string, Gateway>();
  readonly procs: ProcessGroup;
  readonly product: Product;
  readonly memory: MemorySampler;
  readonly timings: Record<string, number> = {};
  readonly mirror: MirrorCommand;

  private constructor(
    readonly options: TestBedOptions,
    readonly dir: string,
    readonly binaries: Binaries,
  ) {
    this.procs = new ProcessGroup(dir);
    this.mirror = serviceMirrorCommand(binaries);
    // On the kind provider globalsvc runs as users deploy it: the Helm chart, in each cluster's pods.
    this.product =
      options.provider === 'kind'
        ? new ChartProduct(binaries.helm, binaries.kubectl, kindProductImage(), dir)
        : new ProcessProduct(this.procs, dir);
    this.memory = new MemorySampler([dir, binaries.coredns, binaries.serviceMirror, join(repoRoot, ENTRYPOINT)], 2_000, (peak) =>
      writeFileSync(join(dir, 'stats.json'), JSON.stringify({ peakMemoryBytes: peak, timings: this.timings })),
    );
  }

  cluster(name: string): Cluster {
    const c = this.clusters.get(name);
    if (!c) throw new Error(`no cluster ${name} in the test bed`);
    return c;
  }

  /** A cluster of the local provider, whose processes a test can stop, kill and restart. */
  local(name: string): LocalCluster {
    const c = this.cluster(name);
    if (!(c instanceof LocalCluster)) throw new Error(`cluster ${name} is not made of local processes`);
    return c;
  }

  gateway(name: string): Gateway {
    const g = this.gateways.get(name);
    if (!g) throw new Error(`no gateway for cluster ${name}`);
    return g;
  }

  dnsOf(name: string): ClusterDns {
    const d = this.dns.get(name);
    if (!d) throw new Error(`no DNS for cluster ${name}`);
    return d;
  }

  /**
   * Removes what an earlier or interrupted run of the same test bed left: processes and clusters,
   * and with `removeLogs` its logs too (kept after a run, for reading).
   */
  static cleanLeftovers(name: string, binaries = binaryPaths(), removeLogs = true): void {
    if (e2eProvider() === 'kind') KindCluster.removeAll(name);
    const dir = testbedDir(name);
    if (!existsSync(dir)) return;
    ProcessGroup.killLeftovers(dir);
    if (existsSync(join(dir, 'clusters'))) {
      for (const c of execFileSync(binaries.kwokctl, ['get', 'clusters'], { env: LocalCluster.kwokEnv(dir), encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)) {
        try {
          execFileSync(binaries.kwokctl, ['--name', c.trim(), 'delete', 'cluster'], { env: LocalCluster.kwokEnv(dir), stdio: 'ignore' });
        } catch {
          // deleted meanwhile by the test process's own exit handler
        }
      }
    }
    if (removeLogs) rmSync(dir, { recursive: true, force: true });
  }

  static async up(options: TestBedOptions): Promise<TestBed> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const binaries = ensureBinaries();
    TestBed.cleanLeftovers(options.name, binaries);
    const dir = testbedDir(options.name);
    mkdirSync(dir, { recursive: true });
    const bed = new TestBed(options, dir, binaries);
    bed.installExitHandlers();
    const specs = options.clusters ?? DEFAULT_CLUSTERS;
    const time = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
      const started = Date.now();
      const result = await f();
      bed.timings[what] = Date.now() - started;
      log(`test bed: ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    };

    await time(`${specs.length} clusters`, async () => {
      if (options.provider === 'kind') {
        const image = process.env.E2E_KIND_IMAGE;
        if (!image) throw new Error('E2E_KIND_IMAGE is not set: the e2e global setup builds the node image (hack/kind/build-images.sh)');
        KindCluster.createNetwork(options.name);
        const nodes = await Promise.all(specs.map((s) => KindCluster.create(s, dir, image, options.name)));
        for (const n of nodes) bed.clusters.set(n.name, n);
        // A flat pod network between the clusters: each node routes every other cluster's pod range
        // to that cluster's node, on the bed's own Docker network.
        for (const from of nodes)
          for (const to of nodes) if (from !== to) await from.exec(['ip', 'route', 'replace', to.spec.podCidr, 'via', to.nodeAddress]);
        await time("globalsvc's image into every node", () => Promise.all(nodes.map((n) => n.importImage(kindProductImage()))));
        return;
      }
      // One after another: concurrent kwokctl creations in one work dir wait on each other for
      // minutes and can end with a cluster whose serving certificate its kubeconfig does not trust.
      for (const s of specs) bed.clusters.set(s.name, await LocalCluster.create(s, kwokName(options.name, s.name), dir, binaries));
    });
    await time('CoreDNS, Link and MCS CRDs', async () => {
      for (const c of bed.clusters.values()) {
        await installLinkCrd(c);
        await installMcsCrds(c);
        bed.dns.set(c.name, await ClusterDns.start(bed.procs, dir, binaries.coredns, c.name, c.kubeconfig, await freePort()));
      }
    });
    log(`test bed: service mirrors are Linkerd's own (${binaries.serviceMirror})`);
    await time('links and service mirrors', async () => {
      // 127.0.0.11, .12, ...: loopback addresses of their own, so one gateway can die alone. On the
      // kind provider a pod on each node's network: globalsvc's pods probe it too.
      for (const [i, c] of [...bed.clusters.values()].entries()) {
        const gateway = c instanceof KindCluster ? new PodGateway(c) : new GatewayProbe(c.name, `127.0.0.${11 + i}`);
        await gateway.start();
        bed.gateways.set(c.name, gateway);
      }
      for (const source of bed.clusters.values())
        for (const target of bed.clusters.values())
          if (source !== target) await link(bed.procs, bed.mirror, source, target, bed.gateway(target.name).address);
    });
    await time('globalsvc in every cluster', async () => {
      // As the manifests run it: with leader election (a single replica leads at once).
      const names = [...bed.clusters.keys()];
      // Endpoints cannot hold a loopback address, so the Links name TEST-NET gateways; the gateway's
      // probe answers on loopback, which Linkerd's mirrors get as -probe-service and globalsvc so.
      const probeAt = `--gateway-probe-addresses=${[...bed.gateways].map(([c, g]) => `${c}=${g.address}`).join(',')}`;
      const install = (c: Cluster) =>
        bed.product.install(
          c,
          ['--leader-elect=true', probeAt, ...(options.productArgs ?? [])],
          names.filter((n) => n !== c.name),
        );
      // The chart's installs wait on each cluster's own pods: all at once.
      if (options.provider === 'kind') await Promise.all([...bed.clusters.values()].map(install));
      else for (const c of bed.clusters.values()) await install(c);
    });
    return bed;
  }

  private exitHandler = () => this.killNow();

  private installExitHandlers(): void {
    process.once('exit', this.exitHandler);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.killNow();
        process.exit(130);
      });
    }
  }

  /** Synchronous teardown for exit paths: kill every process, delete every cluster. */
  killNow(): void {
    this.procs.killAllNow();
    for (const g of this.gateways.values()) void g.stop();
    for (const c of this.clusters.values()) c.keepLogs(join(this.dir, 'logs'));
    if (this.options.provider === 'kind') KindCluster.removeAll(this.options.name);
    for (const c of this.clusters.values()) {
      if (!(c instanceof LocalCluster)) continue;
      try {
        execFileSync(this.binaries.kwokctl, ['--name', c.kwokName, 'delete', 'cluster'], {
          env: LocalCluster.kwokEnv(this.dir),
          stdio: 'ignore',
        });
      } catch {
        // best effort on the way out
      }
    }
    this.clusters.clear();
  }

  async down(): Promise<void> {
    this.memory.stop();
    await this.procs.stopAll();
    await Promise.all([...this.gateways.values()].map((g) => g.stop()));
    for (const c of this.clusters.values()) c.keepLogs(join(this.dir, 'logs'));
    await Promise.all([...this.clusters.values()].map((c) => c.delete()));
    this.clusters.clear();
    process.removeListener('exit', this.exitHandler);
  }
}
