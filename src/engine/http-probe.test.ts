import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProbe } from './gateway-prober.js';

// The probe itself, against a real HTTP server on loopback: only a 200 in time is alive.
describe('httpProbe', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ready') res.writeHead(200).end('ok');
      else if (req.url === '/moved') res.writeHead(302, { location: '/ready' }).end();
      else if (req.url === '/hang')
        return; // never answers
      else res.writeHead(503).end('not ready');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is alive on a 200, with its query string sent', async () => {
    expect(await httpProbe(`${base}/ready`, 1_000)).toBe(true);
    expect(await httpProbe(`${base}/ready?probe=1`, 1_000)).toBe(false); // another path to the server
  });

  it('is dead on any other status, a redirect included (not followed)', async () => {
    expect(await httpProbe(`${base}/not-ready`, 1_000)).toBe(false);
    expect(await httpProbe(`${base}/moved`, 1_000)).toBe(false);
  });

  it('is dead when nothing answers in time, or nothing listens', async () => {
    expect(await httpProbe(`${base}/hang`, 200)).toBe(false);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await httpProbe(`http://127.0.0.1:${port}/ready`, 1_000)).toBe(false);
  });
});
