import { getGlobalDispatcher } from 'undici';
import type { GatewayProbeSpec } from '../domain/links.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** One probe: resolves true when the gateway answered 200 in time. */
export type ProbeFn = (url: string, timeoutMs: number) => Promise<boolean>;

/**
 * GET through undici's dispatcher, as the API client's requests (redirects are not followed: a 3xx is
 * not a 200). Not `fetch`: Node's fetch is its own copy of undici, loaded at the first call (4.6 MiB
 * of RSS for a second HTTP client, Node 24).
 */
export const httpProbe: ProbeFn = async (url, timeoutMs) => {
  try {
    const target = new URL(url);
    const res = await getGlobalDispatcher().request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: 'GET',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
};

const DOWN_PERIOD_MS = 1_000;

const urlOf = (address: string, spec: GatewayProbeSpec) =>
  `http://${address.includes(':') ? `[${address}]` : address}:${spec.port}${spec.path.startsWith('/') ? spec.path : `/${spec.path}`}`;

interface Worker {
  spec: GatewayProbeSpec;
  timer: NodeJS.Timeout | undefined;
  failures: number;
  /** undefined until the first verdict: a prober that starts while the gateway is dead finds it dead. */
  up: boolean | undefined;
  stopped: boolean;
}

/**
 * globalsvc's own probe of every linked cluster's gateway, as Linkerd's probe worker does it (the
 * Link's probeSpec: GET <gateway>:<port><path> every period with 10% jitter, failureThreshold
 * failures in a row mark it dead, one success alive), and a dead one every second. Unlike
 * Linkerd's, it has no belief before its first answers: Linkerd's mirror restarted while the gateway is dead never marks it dead
 * (linkerd-mirror-real.md), and this probe is the global's second opinion.
 */
export class GatewayProber {
  private readonly workers = new Map<string, Worker>();

  constructor(
    /** Called when a cluster's verdict changes. */
    private readonly onChange: (cluster: string, up: boolean) => void,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly probe: ProbeFn = httpProbe,
    private readonly random: () => number = Math.random,
  ) {}

  /** Clusters whose gateway fails its probe now. */
  down(): Set<string> {
    return new Set([...this.workers].filter(([, w]) => w.up === false).map(([c]) => c));
  }

  /** The probes wanted now, by cluster: new ones start, changed ones restart, missing ones stop. */
  update(specs: ReadonlyMap<string, GatewayProbeSpec>): void {
    for (const [cluster, worker] of this.workers)
      if (!specs.has(cluster) || JSON.stringify(specs.get(cluster)) !== JSON.stringify(worker.spec)) this.remove(cluster);
    for (const [cluster, spec] of specs) if (!this.workers.has(cluster)) this.add(cluster, spec);
  }

  stop(): void {
    for (const cluster of [...this.workers.keys()]) this.remove(cluster);
  }

  private add(cluster: string, spec: GatewayProbeSpec): void {
    const worker: Worker = { spec, timer: undefined, failures: 0, up: undefined, stopped: false };
    this.workers.set(cluster, worker);
    this.log.info({ cluster, gateway: spec.addresses, port: spec.port, path: spec.path, periodMs: spec.periodMs }, 'probing gateway');
    this.schedule(cluster, worker);
  }

  private remove(cluster: string): void {
    const worker = this.workers.get(cluster)!;
    worker.stopped = true;
    clearTimeout(worker.timer);
    this.workers.delete(cluster);
    this.metrics.gatewayUp.remove({ source_cluster: cluster });
    // Without a probe there is no verdict: a dead gateway no longer overrides Linkerd's.
    if (worker.up === false) this.onChange(cluster, true);
  }

  private schedule(cluster: string, worker: Worker): void {
    // A dead gateway is probed every second (at most its period): globalsvc must never hold a
    // cluster out of the globals for longer than Linkerd's probe, which ticks on its own schedule.
    const period = worker.up === false ? Math.min(worker.spec.periodMs, DOWN_PERIOD_MS) : worker.spec.periodMs;
    const jitter = period * 0.1 * (this.random() * 2 - 1);
    worker.timer = setTimeout(() => void this.tick(cluster, worker), Math.max(0, period + jitter));
    worker.timer.unref();
  }

  private async tick(cluster: string, worker: Worker): Promise<void> {
    const { spec } = worker;
    // Any of the gateway's addresses answering is the gateway answering (Linkerd probes them behind one Service).
    const answers = await Promise.all(spec.addresses.map((a) => this.probe(urlOf(a, spec), spec.timeoutMs)));
    if (worker.stopped) return;
    const ok = answers.some(Boolean);
    this.metrics.gatewayProbes.inc({ source_cluster: cluster, result: ok ? 'success' : 'failure' });
    worker.failures = ok ? 0 : worker.failures + 1;
    const verdict = ok ? true : worker.failures >= spec.failureThreshold ? false : worker.up;
    if (verdict !== undefined) this.metrics.gatewayUp.set({ source_cluster: cluster }, verdict ? 1 : 0);
    if (verdict !== worker.up) {
      const before = worker.up;
      worker.up = verdict;
      if (verdict === false)
        this.log.warn({ cluster, failures: worker.failures }, 'gateway fails its probe: its endpoints are published not ready');
      else if (before === false) this.log.info({ cluster }, 'gateway answers its probe again');
      // The first verdict "up" changes nothing published: only a change from or to "down" does.
      if (verdict === false || before === false) this.onChange(cluster, verdict!);
    }
    this.schedule(cluster, worker);
  }
}
