import { createServer, type Server } from 'node:http';
import { parseAddress, type Address } from '../shared.js';
import type { Metrics } from './metrics.js';

export interface Probes {
  /** The process works (its event loop answers). */
  healthy: () => boolean;
  /** Caches are synced: decisions made now are made from the whole picture. */
  ready: () => boolean;
}

async function listen(server: Server, address: Address): Promise<Address> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  return { host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port };
}

/** Serves `/metrics` (Prometheus text) on one address and `/healthz`, `/readyz` on another. */
export async function startHttpServers(metricsSource: Metrics, probes: Probes, metricsAddr: string, healthAddr: string) {
  const metrics = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metricsSource
      .render()
      .then((body) => res.writeHead(200, { 'Content-Type': metricsSource.registry.contentType }).end(body))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  const health = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const ok = path === '/healthz' ? probes.healthy() : path === '/readyz' ? probes.ready() : undefined;
    if (ok === undefined) return void res.writeHead(404).end();
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  const metricsBound = await listen(metrics, parseAddress(metricsAddr));
  const healthBound = await listen(health, parseAddress(healthAddr));
  return {
    metricsPort: metricsBound.port,
    healthPort: healthBound.port,
    close: async () => {
      await Promise.all([metrics, health].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
