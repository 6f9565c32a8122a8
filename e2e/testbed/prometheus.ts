import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from './ports.js';
import type { ProcessGroup } from './processes.js';
import { waitFor } from './processes.js';

/** Debian's `prometheus` (apt-get install prometheus), or GLOBALSVC_PROMETHEUS. */
export const prometheusBinary = process.env.GLOBALSVC_PROMETHEUS ?? 'prometheus';
export const prometheusAvailable = (): boolean => spawnSync(prometheusBinary, ['--version']).status === 0;

/**
 * A load target in the test process: Linkerd-proxy-shaped `request_total{direction="inbound",
 * namespace, deployment, pod}` counters (with the labels Linkerd's scrape job adds) that grow at
 * whatever rate the test sets, per Deployment.
 */
export class LoadTarget {
  private readonly counters = new Map<string, { total: number; perSecond: number; since: number }>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((_, res) => res.end(this.exposition()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** From now on, `deployment` in `namespace` receives `perSecond` inbound requests a second. */
  setRate(namespace: string, deployment: string, perSecond: number): void {
    const key = `${namespace}/${deployment}`;
    const c = this.counters.get(key) ?? { total: 0, perSecond: 0, since: Date.now() };
    this.counters.set(key, { total: this.totalOf(c), perSecond, since: Date.now() });
  }

  private totalOf(c: { total: number; perSecond: number; since: number }): number {
    return c.total + ((Date.now() - c.since) / 1000) * c.perSecond;
  }

  private exposition(): string {
    const lines = ['# TYPE request_total counter'];
    for (const [key, c] of this.counters) {
      const [namespace, deployment] = key.split('/');
      lines.push(
        `request_total{direction="inbound",namespace="${namespace}",deployment="${deployment}",pod="${deployment}-0",tls="true"} ${Math.floor(this.totalOf(c))}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A real Prometheus on loopback, scraping the load target every second; one of the test bed's processes. */
export class PrometheusServer {
  readonly url: string;

  private constructor(
    private readonly procs: ProcessGroup,
    private readonly dir: string,
    private readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(procs: ProcessGroup, bedDir: string, target: LoadTarget): Promise<PrometheusServer> {
    const dir = join(bedDir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: linkerd-proxy\n    static_configs: [{ targets: ['127.0.0.1:${target.port}'] }]\n`,
    );
    const server = new PrometheusServer(procs, dir, await freePort());
    await server.resume();
    return server;
  }

  /** Starts the process (again, on the same port and data). */
  async resume(): Promise<void> {
    this.procs.start('prometheus', prometheusBinary, [
      `--config.file=${join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
    ]);
    await waitFor('Prometheus ready', async () => (await fetch(`${this.url}/-/ready`)).ok, 60_000);
  }

  async stop(): Promise<void> {
    await this.procs.stop('prometheus');
  }
}
