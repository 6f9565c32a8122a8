// What one write of a global's EndpointSlice costs the API server and etcd, by how it is written: a
// forced server-side apply, an update (PUT) with the resourceVersion as precondition, or a JSON merge
// patch with it. On the benchmarks' one-cluster bed, N slices of 4 endpoints, named and labelled as
// globalsvc's, are created, then rewritten in rounds of one write each at 16 in flight, each round
// flipping their readiness; the modes take turns. Prints, per round, writes a second and the CPU
// milliseconds kube-apiserver and etcd spent per write (from /proc). How the choice of update was made
// (docs/benchmarks.md, Issue 18, fifth session):
//
//   node dist/bench/write-cost.js [slices=1000] [rounds per turn=4] [turns=2]
import PQueue from 'p-queue';
import { ENDPOINT_SLICES, type KubeApi } from '../src/cluster/kube-api.js';
import { globalSliceLabels } from '../src/domain/desired.js';
import type { EndpointSlice } from '../src/domain/k8s-types.js';
import { BenchBed } from './bed.js';
import { endpoint } from './fixtures.js';
import { cpuSecondsByCommand } from './proc.js';

const [slices = 1000, roundsPerTurn = 4, turns = 2] = process.argv.slice(2).map(Number);
const namespace = 'write-cost';
const IN_FLIGHT = 16;
const FIELD_MANAGER = 'globalsvc';
const BED = ['kube-apiserver', 'etcd'] as const;

/** The slice globalsvc keeps of east's member of global `svc<i>`, its readiness flipped by round. */
function slice(i: number, round: number, resourceVersion?: string): EndpointSlice {
  const key = { namespace, name: `svc${i}` };
  const global = `${key.name}-global`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(i),
      namespace,
      labels: globalSliceLabels(key, global, 'east'),
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints: Array.from({ length: 4 }, (_, k) => endpoint('east', i * 4 + k, `pod-${k}`, (round + k) % 2 === 0)),
  };
}
const sliceName = (i: number) => `svc${i}-global-east-0`;

type Mode = 'apply' | 'update' | 'merge patch';
function write(api: KubeApi, mode: Mode, i: number, round: number, resourceVersion: string): Promise<EndpointSlice> {
  if (mode === 'apply') return api.apply(ENDPOINT_SLICES, slice(i, round), FIELD_MANAGER);
  if (mode === 'update') return api.update(ENDPOINT_SLICES, slice(i, round, resourceVersion), FIELD_MANAGER);
  const { apiVersion: _a, kind: _k, ...patch } = slice(i, round, resourceVersion);
  return api.patch(ENDPOINT_SLICES, namespace, sliceName(i), patch, FIELD_MANAGER);
}

const bed = await BenchBed.up((line) => console.log(line));
try {
  const api = bed.cluster.admin.api;
  await bed.cluster.admin.ensureNamespace(namespace);
  const versions: string[] = [];
  const queue = new PQueue({ concurrency: IN_FLIGHT });
  const all = (each: (i: number) => Promise<EndpointSlice>) => {
    for (let i = 0; i < slices; i++) void queue.add(async () => void (versions[i] = (await each(i)).metadata.resourceVersion!));
    return queue.onIdle();
  };
  await all((i) => api.create(ENDPOINT_SLICES, slice(i, 0), FIELD_MANAGER));
  let round = 0;
  for (let turn = 0; turn < turns; turn++)
    for (const mode of ['apply', 'update', 'merge patch'] as const)
      for (let r = 0; r < roundsPerTurn; r++) {
        round++;
        await new Promise((resolve) => setTimeout(resolve, 3_000)); // the last round's watch fan-out done
        const before = cpuSecondsByCommand(BED);
        const started = Date.now();
        await all((i) => write(api, mode, i, round, versions[i]!));
        const seconds = (Date.now() - started) / 1000;
        const after = cpuSecondsByCommand(BED);
        const perWrite = (c: (typeof BED)[number]) => (((after[c]! - before[c]!) * 1000) / slices).toFixed(2);
        console.log(
          `${mode.padEnd(11)} round ${String(round).padStart(2)}: ${(slices / seconds).toFixed(0)} writes/s, ` +
            `kube-apiserver ${perWrite('kube-apiserver')} ms/write, etcd ${perWrite('etcd')} ms/write`,
        );
      }
} finally {
  await bed.down();
}
