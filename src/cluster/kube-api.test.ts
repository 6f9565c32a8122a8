import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import { ENDPOINT_SLICES, KubeApi, KubeApiError, SERVICES } from './kube-api.js';

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

  it('replaces an object whole with PUT, its resourceVersion in the body as the precondition, and reads a stale one as a conflict', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ metadata: { name: 'db-global-east-0', resourceVersion: '8' } }) });
    const api = apiAt(port());
    const slice = { metadata: { name: 'db-global-east-0', namespace: 'data', resourceVersion: '7' } };
    expect((await api.update(ENDPOINT_SLICES, slice, 'globalsvc')).metadata.resourceVersion).toBe('8');
    const s = seen.at(-1)!;
    expect(s.method).toBe('PUT');
    expect(s.url).toBe('/apis/discovery.k8s.io/v1/namespaces/data/endpointslices/db-global-east-0?fieldManager=globalsvc');
    expect(s.headers['content-type']).toBe('application/json');
    expect(JSON.parse(s.body)).toEqual(slice);
    answer = () => ({ status: 409, body: status(409, 'Conflict', 'the object has been modified') });
    const err = await api.update(ENDPOINT_SLICES, slice, 'globalsvc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(409);
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

describe('a watch', () => {
  /** A watch endpoint that writes what `stream` sends, as it sends it; the last request's URL and headers kept. */
  let stream: (res: ServerResponse) => void;
  let watchServer: Server;
  let asked: IncomingMessage | undefined;
  beforeAll(async () => {
    watchServer = createServer((req, res) => {
      asked = req;
      stream(res);
    });
    await new Promise<void>((r) => watchServer.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => watchServer.close(() => r())));

  /** Watches Services in `data` until done: the events seen and what done was called with (once). */
  const watched = (observe?: (verb: string, kind: string, status: number | 'error') => void) =>
    new Promise<{ events: [string, unknown][]; done: unknown[]; ending: unknown }>((resolve) => {
      const kc = apiAt((watchServer.address() as AddressInfo).port).config;
      const events: [string, unknown][] = [];
      const done: unknown[] = [];
      void new KubeApi(kc, observe).watch(
        SERVICES,
        'data',
        { resourceVersion: '42', labelSelector: 'app=db' },
        {
          event: (type, object) => events.push([type, object]),
          done: (err, ending) => {
            done.push(err);
            // A second call would land here after the resolve: wait a moment for it.
            setTimeout(() => resolve({ events, done, ending }), 50);
          },
        },
      );
    });
  const line = (type: string, object: object) => `${JSON.stringify({ type, object })}\n`;

  it('asks from the version with bookmarks and the selector, and hands on each event, however the lines fall in chunks', async () => {
    const one = line('ADDED', { metadata: { name: 'db', resourceVersion: '43' }, spec: { note: 'ünïcödé ✓' } });
    const two = line('BOOKMARK', { metadata: { resourceVersion: '44' } });
    const three = line('DELETED', { metadata: { name: 'db', resourceVersion: '45' } });
    const bytes = Buffer.from(one + two + three);
    stream = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Cut inside a line, inside a multi-byte character, and two lines in one chunk.
      const cuts = [5, one.indexOf('ü') + 1, bytes.indexOf('BOOKMARK'), bytes.length];
      let from = 0;
      const next = () => {
        const to = cuts.shift();
        if (to === undefined) return res.end();
        res.write(bytes.subarray(from, to));
        from = to;
        setTimeout(next, 5);
      };
      next();
    };
    const seenStatus: (number | 'error')[] = [];
    const { events, done, ending } = await watched((_v, _k, s) => seenStatus.push(s));
    expect(asked!.url).toBe(
      '/api/v1/namespaces/data/services?watch=true&resourceVersion=42&allowWatchBookmarks=true&labelSelector=app%3Ddb',
    );
    expect(asked!.headers.authorization).toBe('Bearer secret-token');
    expect(events).toEqual([
      ['ADDED', { metadata: { name: 'db', resourceVersion: '43' }, spec: { note: 'ünïcödé ✓' } }],
      ['BOOKMARK', { metadata: { resourceVersion: '44' } }],
      ['DELETED', { metadata: { name: 'db', resourceVersion: '45' } }],
    ]);
    // Ended by the server: an ordinary end, counted as a 200.
    expect(done).toEqual([null]);
    expect(ending).toBe('server');
    expect(seenStatus).toEqual([200]);
  });

  it('ends with the Status of an ERROR event (410 Gone reads as gone), and hands on nothing after it', async () => {
    stream = (res) => {
      res.writeHead(200);
      res.write(line('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 42 (90)' }));
      res.write(line('ADDED', { metadata: { name: 'late' } }));
    };
    const { events, done } = await watched();
    expect(events).toEqual([]);
    expect(done).toHaveLength(1);
    expect(done[0]).toBeInstanceOf(KubeApiError);
    expect(done[0]).toMatchObject({ verb: 'watch', status: 410, reason: 'Expired', gone: true });
  });

  it('ends with the refusal when the API server will not watch, and with an error on a line that is not JSON', async () => {
    stream = (res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(status(403, 'Forbidden', 'services is forbidden: User "u" cannot watch'));
    };
    const refused = await watched();
    expect(refused.done[0]).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect((refused.done[0] as Error).message).toContain('cannot watch');

    stream = (res) => {
      res.writeHead(200);
      res.write(line('ADDED', { metadata: { name: 'a' } }));
      res.write('<html>proxy error</html>\n');
    };
    const garbled = await watched();
    expect(garbled.events).toHaveLength(1);
    expect(garbled.done[0]).toMatchObject({ status: 0, reason: 'BadEvent' });
    expect((garbled.done[0] as Error).message).toContain('<html>proxy error</html>');
  });

  it('stops when aborted: done once, with nothing, and the server sees the request gone', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    stream = (res) => {
      res.writeHead(200);
      res.write(line('ADDED', { metadata: { name: 'a' } }));
      res.on('close', closed);
    };
    const kc = apiAt((watchServer.address() as AddressInfo).port).config;
    const done: unknown[] = [];
    const endings: unknown[] = [];
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => (first = r));
    const controller = await new KubeApi(kc).watch(
      SERVICES,
      undefined,
      { resourceVersion: '1' },
      { event: () => first(), done: (e, how) => (done.push(e), endings.push(how)) },
    );
    await gotFirst;
    controller.abort();
    await serverSawClose;
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toEqual([null]);
    expect(endings).toEqual(['stopped']);
  });
});
