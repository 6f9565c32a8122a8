// A bare informer (the memory floor of bench/floors.ts): list and watch the Services and
// EndpointSlices of one namespace, or of each of a comma-separated list, into Maps; prints
// {"objects","syncMs"} once all are listed.
//   node dist/bench/bare-informer.js <kubeconfig> <namespace>[,<namespace>...]
import { KubeConfig } from '@kubernetes/client-node';
import { ENDPOINT_SLICES, KubeApi, SERVICES, type ResourceType } from '../src/cluster/kube-api.js';
import type { KubeObject } from '../src/domain/k8s-types.js';

const [kubeconfig, namespaces] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig!);
const api = new KubeApi(config, undefined, 'globalsvc-bench-informer');
const started = Date.now();

async function inform(type: ResourceType, namespace: string): Promise<Map<string, KubeObject>> {
  const store = new Map<string, KubeObject>();
  const list = async (): Promise<string> => {
    for (let token: string | undefined; ;) {
      const page = await api.list(type, namespace, { limit: 500, continue: token });
      for (const o of page.items) store.set(o.metadata.name ?? '', o);
      token = page.continue;
      if (!token) return page.resourceVersion;
    }
  };
  const resourceVersion = await list();
  await api.watch(
    type,
    namespace,
    { resourceVersion },
    {
      event: (phase, o) => {
        if (phase === 'DELETED') store.delete(o.metadata.name ?? '');
        else if (phase !== 'BOOKMARK' && phase !== 'ERROR') store.set(o.metadata.name ?? '', o);
      },
      done: () => {},
    },
  );
  return store;
}

const stores = await Promise.all(namespaces!.split(',').flatMap((ns) => [inform(SERVICES, ns), inform(ENDPOINT_SLICES, ns)]));
process.stdout.write(`${JSON.stringify({ objects: stores.reduce((n, s) => n + s.size, 0), syncMs: Date.now() - started })}\n`);
setInterval(() => {}, 60_000);
