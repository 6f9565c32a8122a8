import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** Linkerd's gateway answers its probe on the proxy's admin port; `linkerd multicluster link` writes it into the Link. */
export const PROBE_PORT = 4191;
export const PROBE_PATH = '/ready';

/** A cluster's gateway as the bed's links probe it: stop it and that cluster is dead to the others. */
export interface Gateway {
  readonly cluster: string;
  /** Where the links' mirrors and globalsvc probe it (`-probe-service`, `--gateway-probe-addresses`). */
  readonly address: string;
  readonly up: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What stands for a cluster's Linkerd gateway on the local test bed: the endpoint its links' service
 * mirrors probe (`-probe-service=<address>`, Link probeSpec `/ready` on 4191), an HTTP server on
 * a loopback address of its own. Stopping it is the gateway dying: the probe is refused, and after
 * the Link's failureThreshold the mirrors mark that cluster's endpoints not ready.
 */
export class GatewayProbe implements Gateway {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly cluster: string,
    /** A 127.0.0.0/8 address: no traffic leaves the machine. */
    readonly address: string,
  ) {}

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      res.writeHead(req.url === PROBE_PATH ? 200 : 404, { 'content-type': 'text/plain' }).end(req.url === PROBE_PATH ? 'ready\n' : '');
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`gateway probe of ${this.cluster} on ${this.address}:${PROBE_PORT}: ${err.message}`)));
      server.listen(PROBE_PORT, this.address, resolve);
    });
    this.server = server;
  }

  /** The gateway dies: the listener closes and open connections are cut, so the next probe is refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
