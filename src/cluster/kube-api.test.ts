import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import { KubeApi, KubeApiError, SERVICES } from './kube-api.js';

// The client's wire behaviour against a plain HTTP server on loopback: what it sends, and how it
// reads what an API server answers (the e2e suite runs it against real API servers).

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let answer: (seen: Seen) => { status: number; headers?: Record<string, string>; body: string };
const seen: Seen[] = [];

function apiAt(port: number): KubeApi {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeApi(kc);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const port = () => (server.address() as AddressInfo).port;
const status = (code: number, reason: string, message: string) => JSON.stringify({ kind: 'Status', code, reason, message });

describe('the API client', () => {
  it('applies with the field manager, force and the apply content type, and returns the object the server answered', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ metadata: { name: 'db-global', resourceVersion: '7' } }) });
    const written = await apiAt(port()).apply<Service>(SERVICES, { metadata: { name: 'db-global', namespace: 'data' } }, 'globalsvc');
    expect(written.metadata.resourceVersion).toBe('7');
    const s = seen.at(-1)!;
    expect(s.method).toBe('PATCH');
    expect(s.url).toBe('/api/v1/namespaces/data/services/db-global?fieldManager=globalsvc&force=true');
    expect(s.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(s.headers.authorization).toBe('Bearer secret-token');
    expect(JSON.parse(s.body)).toEqual({ metadata: { name: 'db-global', namespace: 'data' } });
  });

  it("turns a refusal into an error naming verb, kind, object, the Status's reason and message, and Retry-After", async () => {
    answer = () => ({ status: 429, headers: { 'retry-after': '2' }, body: status(429, 'TooManyRequests', 'slow down') });
    const err = await apiAt(port())
      .create<Service>(SERVICES, { metadata: { name: 'db-global', namespace: 'data' } }, 'globalsvc')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ verb: 'create', kind: 'Service', target: 'data/db-global', status: 429, reason: 'TooManyRequests' });
    expect((err as KubeApiError).retryAfterMs).toBe(2000);
    expect((err as Error).message).toBe('create Service data/db-global: 429 TooManyRequests: slow down');
  });

  it('keeps a body that is not a Status as the message, with the HTTP reason phrase', async () => {
    answer = () => ({ status: 503, body: 'upstream connect error' });
    const err = (await apiAt(port())
      .get(SERVICES, 'data', 'db')
      .catch((e: unknown) => e)) as KubeApiError;
    expect([err.status, err.reason, err.retryAfterMs]).toEqual([503, 'Service Unavailable', undefined]);
    expect(err.message).toContain('upstream connect error');
  });

  it('reads a 404 on get as "there is none"', async () => {
    answer = () => ({ status: 404, body: status(404, 'NotFound', 'services "db" not found') });
    expect(await apiAt(port()).get(SERVICES, 'data', 'db')).toBeUndefined();
  });

  it('reports a server it cannot reach as ConnectionFailed, status 0', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = (await apiAt(dead)
      .list(SERVICES, undefined, {})
      .catch((e: unknown) => e)) as KubeApiError;
    expect([err.status, err.reason]).toEqual([0, 'ConnectionFailed']);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});
