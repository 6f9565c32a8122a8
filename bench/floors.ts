import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import PQueue from 'p-queue';
import { ENDPOINT_SLICES, SERVICES } from '../src/cluster/kube-api.js';
import type { EndpointSlice, Service } from '../src/domain/k8s-types.js';
import { globalServiceLabels, globalSliceLabels } from '../src/domain/desired.js';
import type { Admin } from '../e2e/testbed/kube.js';
import { HEAP_FLAGS, PROCESS_ENV } from '../src/cli/node-flags.js';
import { cpuSeconds, memory, type Memory } from './proc.js';
import { SOURCE_CLUSTERS, endpoint } from './fixtures.js';

// Floors: what the same work costs a minimal client in the same run, so that a figure is read as
// a ratio to what this machine, right now, can do at all.

/** The controller's default the floors copy: endpoints per slice. */
export const MAX_PER_SLICE = 100;

/**
 * The requests in flight the cold-start floor is measured at. The fastest is the floor: the bare
 * client at its best on this machine, not at the controller's concurrency.
 */
export const FLOOR_IN_FLIGHT = [4, 8, 16, 32] as const;

/** Labels the floor's objects by run, so that the run can be cleared from the members' namespace. */
const FLOOR_RUN = 'bench.globalsvc.dev/floor-run';

/**
 * The objects globalsvc writes for G globals, as it writes them (a headless Service labelled ours, then
 * each cluster's slices labelled ours and owned by it, so the API server and the garbage collector
 * do the same work for them), created by a bare client with `inFlight` requests at once (a
 * global's slices once its Service is there). Returns ms. clearFloor deletes them again.
 *
 * Written into the namespace that holds the members, as globalsvc's are: kube-controller-manager's
 * EndpointSlice mirroring controller syncs every Service without a selector (a global is one) and
 * lists its namespace's EndpointSlices at each sync, so a Service costs KCM in proportion to the
 * slices beside it. In a namespace of its own the floor's Services cost a fraction of globalsvc's
 * (at 5,000 globals KCM spent 2.4 CPU s in the floor's run and 33.6 s in globalsvc's, beside
 * 30,000 member slices), and the ratio charged that to globalsvc.
 */
export async function writeFloor(
  admin: Admin,
  namespace: string,
  run: string,
  globals: number,
  perMember: number,
  inFlight: number,
): Promise<number> {
  await admin.ensureNamespace(namespace);
  const requests = new PQueue({ concurrency: inFlight });
  const started = Date.now();
  for (let g = 0; g < globals; g++) {
    void requests.add(async () => {
      const key = { namespace, name: `f${run}x${g}` };
      const name = `${key.name}-global`;
      const service = await admin.create<Service>(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace, labels: { ...globalServiceLabels(key), [FLOOR_RUN]: run } },
          spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] },
        },
        SERVICES,
      );
      const owner = { apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid!, controller: true, blockOwnerDeletion: true };
      const slices: EndpointSlice[] = [];
      for (const cluster of SOURCE_CLUSTERS)
        for (let first = 0; first < perMember; first += MAX_PER_SLICE)
          slices.push({
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              name: `${name}-${cluster}-${first}`,
              namespace,
              labels: { ...globalSliceLabels(key, name, cluster), [FLOOR_RUN]: run },
              ownerReferences: [owner],
            },
            addressType: 'IPv4',
            ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
            endpoints: Array.from({ length: Math.min(MAX_PER_SLICE, perMember - first) }, (_, i) =>
              endpoint(cluster, g * perMember + first + i, `pod-${first + i}-${cluster}`),
            ),
          });
      for (const slice of slices) void requests.add(() => admin.create(slice, ENDPOINT_SLICES));
    });
  }
  await requests.onIdle();
  return Date.now() - started;
}

/** Deletes a floor run's objects, slices first (no work left for the garbage collector), 32 requests at a time. */
export async function clearFloor(admin: Admin, namespace: string, run: string): Promise<void> {
  const selector = `${FLOOR_RUN}=${run}`;
  const deletes = new PQueue({ concurrency: 32 });
  for (const type of [ENDPOINT_SLICES, SERVICES]) {
    for (const object of await admin.list(type, namespace, selector))
      void deletes.add(() => admin.delete(type, namespace, object.metadata.name!));
    await deletes.onIdle();
  }
}

/** The write floor at each of FLOOR_IN_FLIGHT, one after the other beside the members; the fastest is the best. */
export async function bestWriteFloor(
  admin: Admin,
  namespace: string,
  globals: number,
  perMember: number,
  /** Resolves when the bed is quiet enough for the next run. */
  settle: () => Promise<void> = async () => {},
): Promise<{ ms: number; inFlight: number; byInFlight: Record<number, number> }> {
  const byInFlight: Record<number, number> = {};
  for (const n of FLOOR_IN_FLIGHT) {
    await settle();
    byInFlight[n] = await writeFloor(admin, namespace, String(n), globals, perMember, n);
    await clearFloor(admin, namespace, String(n));
  }
  const [inFlight, ms] = Object.entries(byInFlight).reduce((a, b) => (b[1] < a[1] ? b : a));
  return { ms, inFlight: Number(inFlight), byInFlight };
}

export interface InformerFloor extends Memory {
  objects: number;
  syncMs: number;
  cpuSeconds: number;
}

/**
 * A bare informer in its own Node process: lists (pages of 500) and watches the namespace's
 * Services and EndpointSlices into two Maps, nothing else, with globalsvc's V8 flags and
 * environment. `client`: globalsvc's own client stack (client-node's KubeConfig and Watch, undici),
 * bundled as globalsvc is; `raw`: Node's https and JSON.parse alone, the least any Node controller
 * caching the same objects needs. Its memory once synced is that floor.
 */
export async function informerFloor(
  kubeconfig: string,
  namespace: string,
  kind: InformerKind = 'client',
  holdMs = 3_000,
): Promise<InformerFloor> {
  const informer = startInformer(kubeconfig, namespace, kind);
  try {
    const synced = await informer.synced;
    // Let it settle as the controller is measured settled: a few seconds watching.
    await new Promise((r) => setTimeout(r, holdMs));
    return { ...synced, ...memory(informer.child.pid!), cpuSeconds: cpuSeconds(informer.child.pid!) };
  } finally {
    informer.child.kill('SIGKILL');
  }
}

/**
 * The write floor of a controller, which must know the world before it writes: a bare informer
 * (its own Node process, as informerFloor's) lists and watches the namespace, and once it has
 * synced the bare client writes what writeFloor writes, at `inFlight`. What it adds to the write
 * floor is what no controller can skip: a process start, the initial lists, and the API server
 * serving the watch each write's echo. Returns ms from the informer's start to the last write's answer.
 */
export async function informedWriteFloor(
  kubeconfig: string,
  admin: Admin,
  namespace: string,
  globals: number,
  perMember: number,
  inFlight: number,
): Promise<number> {
  const started = Date.now();
  const informer = startInformer(kubeconfig, namespace);
  try {
    await informer.synced;
    await writeFloor(admin, namespace, 'informed', globals, perMember, inFlight);
    return Date.now() - started;
  } finally {
    informer.child.kill('SIGKILL');
    await clearFloor(admin, namespace, 'informed');
  }
}

export type InformerKind = 'client' | 'raw';

function startInformer(kubeconfig: string, namespace: string, kind: InformerKind = 'client') {
  // hack/bundle.mjs bundles the client-stack informer as it bundles globalsvc; the raw one imports only Node's modules.
  const script = join(fileURLToPath(new URL('.', import.meta.url)), kind === 'client' ? 'bare-informer.mjs' : 'raw-informer.js');
  // globalsvc's heap, and V8's compilers as Node has them: the bare client at its best.
  const child = spawn(process.execPath, [...HEAP_FLAGS, script, kubeconfig, namespace], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...PROCESS_ENV },
  });
  const synced = new Promise<{ objects: number; syncMs: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { objects: number; syncMs: number });
    });
    child.once('exit', (code) => reject(new Error(`bare informer exited with ${code} before it synced`)));
  });
  return { child, synced };
}
