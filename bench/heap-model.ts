// The converged cache's live heap without a cluster: G globals' members shaped as the benchmark
// writes them (bench/fixtures.ts), fed to a MemberIndex as a relist, then every global planned and
// its writes recorded as the API server would answer them. Prints the heap the index holds, per
// kind of object, after a full GC. Quick to rerun while changing what the cache keeps:
//
//   node --expose-gc dist/bench/heap-model.js 10000
import { MemberIndex } from '../src/engine/member-index.js';
import { planGlobal } from '../src/domain/plan.js';
import type { EndpointSlice, KubeObject, Service } from '../src/domain/k8s-types.js';
import { projectService, projectSlice } from '../src/domain/projection.js';
import { CLUSTER } from './bed.js';
import { SOURCE_CLUSTERS, initialEndpoints, memberService, memberSlice } from './fixtures.js';

const globals = Number(process.argv[2] ?? 10_000);
const perMember = Number(process.argv[3] ?? 4);
const namespace = 'bench';
const settings = { localCluster: CLUSTER, globalSuffix: '-global', maxEndpointsPerSlice: 100 };

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

let version = 1000;
let uid = 0;
/** What the API server adds to an object it stores. */
function stored<T extends KubeObject>(object: T): T {
  const out = structuredClone(object);
  out.metadata.uid = `${(++uid).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
  out.metadata.resourceVersion = String(++version);
  out.metadata.creationTimestamp = '2026-12-05T00:00:00Z';
  out.metadata.generation = 1;
  return out;
}

const base = heap();
const index = new MemberIndex({ localCluster: CLUSTER, globalSuffix: '-global', includeLocal: true });

/** The members, listed: each projected as the watch's pages are. */
function list(): void {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let g = 0; g < globals; g++)
    for (const cluster of SOURCE_CLUSTERS) {
      services.push(projectService(stored(memberService(namespace, g, cluster))));
      slices.push(projectSlice(stored(memberSlice(namespace, g, cluster, initialEndpoints(g, cluster, perMember)))));
    }
  index.serviceChanges(index.services.apply({ type: 'relisted', namespace, items: services }));
  index.sliceChanges(index.slices.apply({ type: 'relisted', namespace, items: slices }));
}
list();
const members = heap();

// Two rounds: the global Services, then their slices (which name the Service's uid as owner).
for (let round = 0; round < 2; round++)
  for (let g = 0; g < globals; g++) {
    const plan = planGlobal(index.world({ namespace, name: `svc${g}` }), settings);
    for (const w of plan.writes) if (w.verb === 'create' || w.verb === 'apply') index.recordWrite(w.kind, stored(w.object));
  }
const converged = heap();

const left = planGlobal(index.world({ namespace, name: 'svc0' }), settings).writes.length;
console.log(
  JSON.stringify({
    globals,
    perMember,
    services: index.services.size,
    slices: index.slices.size,
    membersMiB: Number(mib(members - base)),
    oursMiB: Number(mib(converged - members)),
    totalMiB: Number(mib(converged - base)),
    bytesPerObject: Math.round((converged - base) / (index.services.size + index.slices.size)),
    writesLeft: left,
  }),
);
