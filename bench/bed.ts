import { mkdirSync } from 'node:fs';
import { ensureBinaries, testbedDir } from '../e2e/testbed/binaries.js';
import { LocalCluster } from '../e2e/testbed/cluster.js';
import { ProcessGroup, waitFor } from '../e2e/testbed/processes.js';
import { ProcessProduct } from '../e2e/testbed/product.js';
import { TestBed } from '../e2e/testbed/testbed.js';
import { memoryCgroup } from './memory-limit.js';
import { ageSeconds, cpuSeconds, memory, type Memory } from './proc.js';

const BED = 'bench';
/** The cluster whose controller is measured; the other two exist as the members' source clusters. */
export const CLUSTER = 'west';
export const REMOTE_CLUSTERS = ['east', 'north'] as const;

/** One scrape of the product's /metrics: sums of samples by name and label subset. */
export class Scrape {
  constructor(readonly text: string) {}

  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const line of this.text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }
}

export interface ProductRun {
  pid: number;
  scrape(): Promise<Scrape>;
  ageSeconds(): number;
  cpuSeconds(): number;
  memory(): Memory;
  stop(): Promise<void>;
}

/** How long a stopped globalsvc may take to exit before it is killed. */
const PRODUCT_STOP_GRACE_MS = 120_000;

/**
 * The benchmarks' test bed: one real cluster (kube-apiserver, etcd, kube-controller-manager,
 * kube-scheduler, kwok, as in e2e) in which globalsvc runs as the built CLI under its shipped RBAC.
 * The members' other clusters are not started: their mirrors are written here directly, with
 * Linkerd's labels, which is all the controller of this cluster ever sees of them.
 */
export class BenchBed {
  /** NODE_OPTIONS for the product's process (e.g. V8 heap flags), empty for Node's defaults. */
  productNodeOptions = '';
  /** More flags for every globalsvc the bench starts (--product-args). */
  productArgs: string[] = [];
  /** The memory limit (MiB) the kernel holds the product's process to, as a Pod's limit would; none when undefined. */
  productMemoryLimitMiB: number | undefined;

  private constructor(
    readonly cluster: LocalCluster,
    readonly procs: ProcessGroup,
    private readonly product: ProcessProduct,
  ) {}

  static async up(log: (line: string) => void): Promise<BenchBed> {
    const binaries = ensureBinaries();
    TestBed.cleanLeftovers(BED, binaries);
    const dir = testbedDir(BED);
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    const cluster = await LocalCluster.create(
      {
        name: CLUSTER,
        podCidr: '10.1.0.0/16',
        gatewayAddress: '192.0.2.1',
        // The settle between runs waits for kube-controller-manager's queues (cold.ts); two of its
        // controllers kept them full for many minutes after each 10,000-global run:
        // - its client is held to 20 requests a second by default, and for each deleted global Service
        //   (a floor run's, 10,000 at a time) the Endpoints controller deletes the Endpoints of that
        //   name, one request each (a 404 for a Service without a selector): over 8 minutes;
        // - the EndpointSlice mirroring controller syncs every new Service without a selector, a global
        //   or a floor's, by listing its namespace's slices (the mirrored ones it would delete): about
        //   10 a second beside 40,000 slices, a core for 17 minutes per 10,000 Services. The bench writes
        //   the members' slices itself (fixtures.ts), so that controller has nothing to mirror here.
        extraArgs: ['kube-controller-manager=kube-api-qps=200', 'kube-controller-manager=kube-api-burst=400'],
        withoutControllers: ['endpointslice-mirroring-controller'],
      },
      `gs-${BED}-${CLUSTER}`,
      dir,
      binaries,
    );
    const procs = new ProcessGroup(dir);
    const bed = new BenchBed(cluster, procs, new ProcessProduct(procs, dir));
    const kill = () => bed.killNow();
    process.once('exit', kill);
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        kill();
        process.exit(130);
      });
    log(`bench: cluster ${CLUSTER} up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`);
    return bed;
  }

  /** Starts globalsvc watching `namespace` only (or a comma-separated list), so that each measurement sees its own objects. */
  async startProduct(namespace: string, args: string[] = []): Promise<ProductRun> {
    const saved = process.env.NODE_OPTIONS;
    if (this.productNodeOptions) process.env.NODE_OPTIONS = this.productNodeOptions;
    this.product.cgroupProcs =
      this.productMemoryLimitMiB === undefined ? undefined : memoryCgroup(`globalsvc-bench-${BED}`, this.productMemoryLimitMiB);
    const instance = await this.product
      .install(this.cluster, [`--namespaces=${namespace}`, '--log-level=info', ...this.productArgs, ...args])
      .finally(() => (saved === undefined ? delete process.env.NODE_OPTIONS : (process.env.NODE_OPTIONS = saved)));
    const pid = this.procs.pid(`globalsvc-${CLUSTER}`)!;
    return {
      pid,
      scrape: async () => new Scrape(await (await fetch(`http://127.0.0.1:${instance.metricsPort}/metrics`)).text()),
      ageSeconds: () => ageSeconds(pid),
      cpuSeconds: () => cpuSeconds(pid),
      memory: () => memory(pid),
      // A CPU profile (--product-node-options "--cpu-prof ...") is written as the process exits: for a
      // run of several minutes that took longer than the test bed's 10 s, and SIGKILL lost it.
      stop: async () => void (await this.product.stop(CLUSTER, 'SIGTERM', PRODUCT_STOP_GRACE_MS)),
    };
  }

  killNow(): void {
    this.procs.killAllNow();
    try {
      TestBed.cleanLeftovers(BED, undefined, false);
    } catch {
      // nothing left to clean
    }
  }

  async down(): Promise<void> {
    await this.procs.stopAll();
    await this.cluster.delete();
    await waitFor('cluster processes gone', () => true);
  }
}
