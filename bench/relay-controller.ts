// The churn benchmark's informed floor (bench/churn.ts): the least a controller in a process of its
// own does for a member change, on globalsvc's client stack. It informs the namespace's member
// slices and globalsvc's slices (left by the runs before it, globalsvc stopped) and, on each member
// change, updates the global's slice of that member's cluster to the member's endpoints as they are
// now: one write, at once, no batch, no queue, no planning. One write per slice is in flight at a
// time; a change that comes meanwhile is written when it returns, from the member as it is then.
// Prints {"synced":true,...} once both are listed, and {"writes","conflicts","failures"} on SIGTERM.
//   node dist/bench/relay-controller.mjs <kubeconfig> <namespace> <the members' label selector> <the local cluster>
import { KubeConfig } from '@kubernetes/client-node';
import { ENDPOINT_SLICES, KubeApi, KubeApiError } from '../src/cluster/kube-api.js';
import { watchResource } from '../src/cluster/watch-stream.js';
import type { EndpointSlice, KubeObject } from '../src/domain/k8s-types.js';
import { discovery, linkerd, ours } from '../src/domain/labels.js';

const [kubeconfig, namespace, memberSelector, localCluster] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig!);
const api = new KubeApi(config, undefined, 'globalsvc-bench-relay-controller');

/**
 * By `<global>/<cluster>` (svc<g>/east): the member slice (one per member in the bench's fixtures),
 * and globalsvc's slice of that cluster's endpoints in the global, as last seen or written.
 */
const members = new Map<string, EndpointSlice>();
const globals = new Map<string, EndpointSlice>();
/** Slices with a write in flight, and those whose member changed again meanwhile. */
const writing = new Set<string>();
const dirty = new Set<string>();
const counts = { writes: 0, conflicts: 0, failures: 0 };
let synced = false;

/** A member's slice: svc<g> for the local member svc<g> and the mirrors svc<g>-<cluster>; its cluster from Linkerd's label. */
const memberKey = (slice: EndpointSlice) => {
  const global = /^svc\d+/.exec(slice.metadata.labels?.[discovery.serviceName] ?? '')?.[0];
  return global && `${global}/${slice.metadata.labels?.[linkerd.clusterName] ?? localCluster}`;
};
const globalKey = (slice: EndpointSlice) => `${slice.metadata.labels?.[ours.globalOf]}/${slice.metadata.labels?.[discovery.sourceCluster]}`;
const newer = (a: KubeObject, b: KubeObject | undefined) =>
  b === undefined || Number(a.metadata.resourceVersion) >= Number(b.metadata.resourceVersion);

async function write(key: string): Promise<void> {
  const current = globals.get(key);
  if (!current) return;
  writing.add(key);
  try {
    const endpoints = members.get(key)?.endpoints ?? [];
    counts.writes++;
    const written = await api.update<EndpointSlice>(ENDPOINT_SLICES, { ...current, endpoints }, 'globalsvc-bench-relay-controller');
    if (newer(written, globals.get(key))) globals.set(key, written);
  } catch (err) {
    // A conflict: the slice changed under us (its watch brings the new one); write again from it.
    if (err instanceof KubeApiError && err.status === 409) {
      counts.conflicts++;
      const fresh = await api.get<EndpointSlice>(ENDPOINT_SLICES, namespace!, current.metadata.name ?? '').catch(() => undefined);
      if (fresh) globals.set(key, fresh);
      dirty.add(key);
    } else counts.failures++;
  } finally {
    writing.delete(key);
  }
  if (dirty.delete(key)) void write(key);
}

function onMember(type: string, slice: EndpointSlice): void {
  const key = memberKey(slice);
  if (key === undefined) return;
  if (type === 'deleted') members.delete(key);
  else members.set(key, slice);
  if (!synced) return;
  if (writing.has(key)) dirty.add(key);
  else void write(key);
}

function onGlobal(type: string, slice: EndpointSlice): void {
  const key = globalKey(slice);
  if (type === 'deleted') globals.delete(key);
  else if (newer(slice, globals.get(key))) globals.set(key, slice);
}

const inform = (selector: string, handle: (type: string, slice: EndpointSlice) => void) =>
  new Promise<void>((listed) => {
    watchResource<EndpointSlice>(api, ENDPOINT_SLICES, namespace, { labelSelector: selector }).subscribe((e) => {
      if (e.type !== 'relisted') return handle(e.type, e.object);
      for (const o of e.items) handle('added', o);
      listed();
    });
  });

await inform(`${discovery.managedBy}=${ours.sliceManager}`, onGlobal);
await inform(memberSelector!, onMember);
synced = true;
process.stdout.write(`${JSON.stringify({ synced: true, globals: globals.size, members: members.size })}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
});
