// A first measurement of the engine (the full benchmark suite is its own issue): G globals whose
// mirrors from two clusters, with E endpoints each, already exist when globalsvc starts; wall time
// until every global is converged, API writes, peak RSS. Floor: a bare client creating the same
// number of objects globalsvc must create, with the same concurrency, in the same run.
//   node dist/bench/cold-start.js [G] [E] [extra globalsvc flags...]
import { mkdirSync, readFileSync } from 'node:fs';
import PQueue from 'p-queue';
import type { EndpointSlice, KubeObject, Service } from '../src/domain/k8s-types.js';
import { ENDPOINT_SLICES } from '../src/cluster/kube-api.js';
import { ensureBinaries, testbedDir } from '../e2e/testbed/binaries.js';
import { LocalCluster } from '../e2e/testbed/cluster.js';
import { ProcessGroup, waitFor } from '../e2e/testbed/processes.js';
import { ENDPOINTS } from '../e2e/testbed/kube.js';
import { Product } from '../e2e/testbed/product.js';
import { TestBed } from '../e2e/testbed/testbed.js';

const G = Number(process.argv[2] ?? 1000);
const E = Number(process.argv[3] ?? 4);
const WORKERS = 4;
const NS = 'bench';

const binaries = ensureBinaries();
TestBed.cleanLeftovers('bench', binaries);
const dir = testbedDir('bench');
mkdirSync(dir, { recursive: true });
const cluster = await LocalCluster.create(
  { name: 'west', podCidr: '10.1.0.0/16', gatewayAddress: '192.0.2.1' },
  'gs-bench-west',
  dir,
  binaries,
);
const procs = new ProcessGroup(dir);
try {
  const admin = cluster.admin;
  await admin.ensureNamespace(NS);
  await admin.ensureNamespace(`${NS}-floor`);
  const pool = new PQueue({ concurrency: 16 });
  // Synthetic mirrors with Linkerd's exact labels: Services and Endpoints.
  for (let g = 0; g < G; g++) {
    for (const [c, remote] of [
      ['east', 2],
      ['north', 3],
    ] as const) {
      void pool.add(async () => {
        const name = `svc${g}-${c}`;
        await admin.create<Service>({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name,
            namespace: NS,
            labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': c },
            annotations: { 'mirror.linkerd.io/remote-svc-fq-name': `svc${g}.${NS}.svc.cluster.local` },
          },
          spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
        });
        // Linkerd writes Endpoints; kube-controller-manager's endpointslice-mirroring derives the slices.
        await admin.create<KubeObject>(
          {
            apiVersion: 'v1',
            kind: 'Endpoints',
            metadata: {
              name,
              namespace: NS,
              labels: { 'mirror.linkerd.io/mirrored-service': 'true', 'mirror.linkerd.io/cluster-name': c },
            },
            subsets: [
              {
                addresses: Array.from({ length: E }, (_, i) => {
                  const n = g * E + i;
                  return { ip: `10.${remote}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`, hostname: `svc${g}-${i}` };
                }),
                ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
              },
            ],
          } as KubeObject,
          ENDPOINTS,
        );
      });
    }
  }
  await pool.onIdle();
  // Cold start means the mirrors are complete before globalsvc starts: wait for kube-controller-
  // manager to derive every member slice (its client QPS limit makes this the slow part).
  const mirrored = Date.now();
  await waitFor(
    'every mirror slice',
    async () =>
      (await admin.list(ENDPOINT_SLICES, NS, 'endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io')).length ===
      2 * G,
    900_000,
    1_000,
  );
  console.error(`mirror slices derived by kube-controller-manager in ${((Date.now() - mirrored) / 1000).toFixed(1)} s`);

  // Floor: the objects globalsvc must write (G Services, 2G slices), written by a bare client.
  const floorStart = Date.now();
  for (let g = 0; g < G; g++) {
    void pool.add(() =>
      admin.create<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `f${g}`, namespace: `${NS}-floor` },
        spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
      }),
    );
    for (const c of ['east', 'north']) {
      void pool.add(() =>
        admin.create<EndpointSlice>(
          {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: { name: `f${g}-${c}`, namespace: `${NS}-floor` },
            addressType: 'IPv4',
            ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
            endpoints: Array.from({ length: E }, (_, i) => ({ addresses: [`10.9.0.${i + 1}`] })),
          },
          ENDPOINT_SLICES,
        ),
      );
    }
  }
  pool.concurrency = WORKERS;
  await pool.onIdle();
  const floorMs = Date.now() - floorStart;

  const product = new Product(procs, dir);
  const started = Date.now();
  await product.install(cluster, [`--workers=${WORKERS}`, '--log-level=info', ...process.argv.slice(4)]);
  await waitFor(
    'every global converged',
    async () =>
      (await product.metric('west', 'globalsvc_globals', { state: 'published' })) === G &&
      (await product.metric('west', 'globalsvc_endpoints')) === 2 * G * E &&
      (await product.metric('west', 'globalsvc_api_writes_total', { result: 'success' })) >= 3 * G &&
      (await product.metric('west', 'globalsvc_queue_depth')) === 0,
    900_000,
    250,
  );
  const convergedMs = Date.now() - started;
  const writes = await product.metric('west', 'globalsvc_api_writes_total');
  const requests = await product.metric('west', 'globalsvc_api_requests_total');
  const cpu = await product.metric('west', 'globalsvc_process_cpu_seconds_total');
  const reconciles = await product.metric('west', 'globalsvc_reconcile_duration_seconds_count');
  const reconcileSeconds = await product.metric('west', 'globalsvc_reconcile_duration_seconds_sum');
  const pid = procs.pid('globalsvc-west')!;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;
  console.log(
    JSON.stringify({
      globals: G,
      endpointsPerMember: E,
      clusters: 3,
      convergedMs,
      floorMs,
      ratio: +(convergedMs / floorMs).toFixed(2),
      writes,
      requests,
      reconciles,
      meanReconcileMs: +((reconcileSeconds / reconciles) * 1000).toFixed(1),
      cpuSeconds: cpu,
      peakRssMiB: Math.round(rss),
    }),
  );
} finally {
  await procs.stopAll();
  await cluster.delete();
}
