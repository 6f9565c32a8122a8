// The least a Node controller can hold its cache in (the raw memory floor of bench/floors.ts): the
// bare informer's work with Node's own https and JSON.parse, no library. Lists (pages of 500) and
// watches the Services and EndpointSlices of one namespace, or of each of a comma-separated list,
// into Maps; prints {"objects","syncMs"} once all are listed.
//   node dist/bench/raw-informer.js <kubeconfig> <namespace>[,<namespace>...]
// The kubeconfig is the test bed's: a server, and the CA, client certificate and key as file paths.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

const [kubeconfig, namespaces] = process.argv.slice(2);
const text = readFileSync(kubeconfig!, 'utf8');
const field = (name: string) => {
  const value = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  if (!value) throw new Error(`${kubeconfig}: no ${name} (the raw informer reads the test bed's kubeconfig only)`);
  return value;
};
const server = new URL(field('server'));
const agent = new Agent({
  keepAlive: true,
  ca: readFileSync(field('certificate-authority')),
  cert: readFileSync(field('client-certificate')),
  key: readFileSync(field('client-key')),
});
const started = Date.now();

interface Item {
  metadata: { name: string; resourceVersion: string };
}

function get(path: string, onResponse: (res: import('node:http').IncomingMessage) => void): void {
  request({ host: server.hostname, port: server.port, path, agent, headers: { Accept: 'application/json' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
    onResponse(res);
  }).end();
}

const getJson = <T>(path: string) =>
  new Promise<T>((resolve) =>
    get(path, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as T));
    }),
  );

async function inform(collection: string): Promise<Map<string, Item>> {
  const store = new Map<string, Item>();
  const list = async (): Promise<string> => {
    for (let token = ''; ;) {
      const page = await getJson<{ items: Item[]; metadata: { resourceVersion: string; continue?: string } }>(
        `${collection}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      for (const o of page.items) store.set(o.metadata.name, o);
      token = page.metadata.continue ?? '';
      if (!token) return page.metadata.resourceVersion;
    }
  };
  const resourceVersion = await list();
  get(`${collection}?watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`, (res) => {
    let line = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const lines = (line + chunk).split('\n');
      line = lines.pop()!;
      for (const l of lines) {
        if (!l) continue;
        const { type, object } = JSON.parse(l) as { type: string; object: Item };
        if (type === 'DELETED') store.delete(object.metadata.name);
        else if (type === 'ADDED' || type === 'MODIFIED') store.set(object.metadata.name, object);
      }
    });
  });
  return store;
}

const stores = await Promise.all(
  namespaces!
    .split(',')
    .flatMap((ns) => [inform(`/api/v1/namespaces/${ns}/services`), inform(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`)]),
);
process.stdout.write(`${JSON.stringify({ objects: stores.reduce((n, s) => n + s.size, 0), syncMs: Date.now() - started })}\n`);
setInterval(() => {}, 60_000);
