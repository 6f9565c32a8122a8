import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prometheus } from '../../src/burst/prometheus.js';
import { DEFAULT_RPS_QUERY, renderQuery } from '../../src/burst/query.js';
import { freePort } from '../testbed/ports.js';
import { waitFor } from '../testbed/processes.js';

// The default query and the client against a real Prometheus, which scrapes counters shaped like a
// Linkerd proxy's (with the labels Linkerd's scrape job adds). Needs no cluster: it runs where a
// `prometheus` binary is (Debian's package: apt-get install prometheus; or GLOBALSVC_PROMETHEUS),
// and says it is skipped elsewhere.
const binary = process.env.GLOBALSVC_PROMETHEUS ?? 'prometheus';
const available = spawnSync(binary, ['--version']).status === 0;
if (!available) process.stderr.write(`e2e: no ${binary} binary: the Prometheus default-query check is skipped\n`);

const started = Date.now();
/** Inbound to shop/web: 40/s on one pod, 10/s on the other; outbound traffic and another deployment beside it. */
function proxyMetrics(): string {
  const s = (Date.now() - started) / 1000;
  const series = (labels: string, perSecond: number, base = 0) => `request_total{${labels}} ${Math.floor(base + s * perSecond)}`;
  return [
    '# TYPE request_total counter',
    series('direction="inbound",namespace="shop",deployment="web",pod="web-1",tls="true"', 40),
    series('direction="inbound",namespace="shop",deployment="web",pod="web-2",tls="true"', 10),
    series('direction="outbound",namespace="shop",deployment="web",pod="web-1",tls="true"', 99),
    series('direction="inbound",namespace="shop",deployment="web-canary",pod="web-canary-1",tls="true"', 1000),
    series('direction="inbound",namespace="shop",deployment="idle",pod="idle-1",tls="true"', 0, 7),
    '',
  ].join('\n');
}

describe.skipIf(!available)('the default burst query on a real Prometheus', () => {
  let dir: string;
  let exporter: Server;
  let prometheus: ChildProcess;
  let client: Prometheus;
  const target = { namespace: 'shop', deployments: ['web'], labels: {}, window: '5s' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'globalsvc-prometheus-'));
    exporter = createServer((_, res) => res.end(proxyMetrics()));
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    const exporterPort = (exporter.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: linkerd-proxy\n    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]\n`,
    );
    const port = await freePort();
    prometheus = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    client = new Prometheus(`http://127.0.0.1:${port}`, { timeoutMs: 5000 });
    // Five seconds of samples make a 5s rate.
    await waitFor('Prometheus to have 5s of samples', async () => {
      const reading = await client.read('count_over_time(request_total{deployment="web",pod="web-1",direction="inbound"}[6s])', new Date());
      return reading.ok && reading.value >= 5;
    });
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await new Promise<void>((resolve) => exporter?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the inbound requests per second of exactly the target Deployment, summed over its pods', async () => {
    const query = renderQuery(DEFAULT_RPS_QUERY, target);
    const reading = await client.read(query, new Date());
    expect(reading.ok, JSON.stringify(reading)).toBe(true);
    // 40/s + 10/s inbound; not the outbound 99/s, not web-canary's 1000/s (=~ is anchored).
    expect((reading as { value: number }).value).toBeGreaterThan(40);
    expect((reading as { value: number }).value).toBeLessThan(60);
  });

  it('reports no data, NaN, several series and a bad query as readings with their reasons', async () => {
    const at = new Date();
    const missing = await client.read(renderQuery(DEFAULT_RPS_QUERY, { ...target, deployments: ['gone'] }), at);
    expect(missing).toMatchObject({ ok: false, reason: 'NoData' });
    const idle = renderQuery(DEFAULT_RPS_QUERY, { ...target, deployments: ['idle'] });
    expect(await client.read(`${idle} / ${idle}`, at)).toMatchObject({ ok: false, reason: 'NotANumber' });
    expect(await client.read('rate(request_total{direction="inbound"}[5s])', at)).toMatchObject({ ok: false, reason: 'ManySeries' });
    expect(await client.read('sum(rate(request_total[5s])', at)).toMatchObject({
      ok: false,
      reason: 'QueryError',
      message: expect.stringMatching(/^bad_data: .*parse error/),
    });
  });
});
