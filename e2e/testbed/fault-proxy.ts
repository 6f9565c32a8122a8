import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';

/** Which requests a fault applies to: a verb class and, optionally, the path's resource. */
export interface FaultMatch {
  /** 'write' is POST, PUT, PATCH and DELETE; 'watch' is a GET with watch=true. */
  verb: 'write' | 'watch' | 'list';
  /** A substring of the request path, e.g. '/endpointslices'. */
  path?: string;
}

/** Answer with this status instead of forwarding, `times` times. */
export interface StatusFault extends FaultMatch {
  status: 409 | 429 | 500;
  times: number;
}

const REASONS = { 409: 'Conflict', 429: 'TooManyRequests', 500: 'InternalError' } as const;

/**
 * A fault-injecting reverse proxy in front of a real kube-apiserver, on loopback: the product's
 * kubeconfig points here (plain HTTP, its own bearer token passed through), and a test can make
 * the API answer 409, 429 or 500 as the real one does, answer slowly, cut every open watch, or resume the next
 * watches from a resourceVersion the API server has long forgotten, so that the real API server
 * itself answers 410 Gone.
 */
export class FaultProxy {
  private readonly faults: StatusFault[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private staleWatches = 0;
  /** Every request but a watch waits this long before it is forwarded: a slow API server. */
  private delayMs = 0;
  /** Every write that reached the proxy: when, where, and the status injected (undefined: forwarded). */
  readonly writes: { at: number; path: string; injected?: number }[] = [];
  /** What was injected, by status (410 counts the watches sent back with a forgotten version). */
  readonly injected: Record<number, number> = { 409: 0, 410: 0, 429: 0, 500: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: string, caFile: string): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('fault proxy: no port');
    const proxy = new FaultProxy(server, address.port);
    const ca = readFileSync(caFile);
    const target = new URL(upstream);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res, target, ca));
    server.on('connection', (s: Socket) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  inject(fault: StatusFault): void {
    this.faults.push({ ...fault });
  }

  /** Forgets the faults not yet spent, and answers at full speed again. */
  clear(): void {
    this.faults.length = 0;
    this.delayMs = 0;
  }

  /** Holds every request but watches `ms` before forwarding it, until cleared. */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Faults not yet spent. */
  pending(): number {
    return this.faults.reduce((n, f) => n + f.times, 0);
  }

  /** Ends every open watch; as many of the watches that follow resume from resourceVersion 1. */
  /** Watches open through the proxy now. */
  get openWatches(): number {
    return this.watches.size;
  }

  expireWatches(): void {
    this.staleWatches += this.watches.size;
    for (const res of this.watches) res.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, target: URL, ca: Buffer): void {
    const url = new URL(req.url ?? '/', target);
    const isWatch = req.method === 'GET' && url.searchParams.get('watch') === 'true';
    const verb = req.method === 'GET' ? (isWatch ? 'watch' : 'list') : 'write';
    const fault = this.faults.find((f) => f.times > 0 && f.verb === verb && (f.path === undefined || url.pathname.includes(f.path)));
    if (verb === 'write') this.writes.push({ at: Date.now(), path: url.pathname, injected: fault?.status });
    if (fault) {
      fault.times--;
      this.injected[fault.status]!++;
      req.resume();
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (fault.status === 429) headers['Retry-After'] = '1';
      res.writeHead(fault.status, headers);
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: `injected by the test's fault proxy: ${REASONS[fault.status]}`,
          reason: REASONS[fault.status],
          code: fault.status,
        }),
      );
      return;
    }
    if (isWatch && this.staleWatches > 0 && url.searchParams.has('resourceVersion')) {
      this.staleWatches--;
      this.injected[410]!++;
      url.searchParams.set('resourceVersion', '1');
    }
    // Tracked from the request on: the API server may hold a watch's headers back until its first event.
    if (isWatch) {
      this.watches.add(res);
      res.on('close', () => this.watches.delete(res));
    }
    const forward = () => {
      const upstream = httpsRequest(url, { method: req.method, headers: { ...req.headers, host: target.host }, ca }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    };
    if (this.delayMs > 0 && !isWatch) {
      req.pause();
      setTimeout(forward, this.delayMs);
    } else forward();
  }
}
