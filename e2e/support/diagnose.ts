import { existsSync, readFileSync } from 'node:fs';
import { ENDPOINT_SLICES, SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject, Service } from '../../src/domain/k8s-types.js';
import { ENDPOINTS, PODS } from '../testbed/kube.js';
import type { TestBed } from '../testbed/testbed.js';
import type { Pod } from './workloads.js';

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string; hostname?: string }[]; notReadyAddresses?: { ip: string; hostname?: string }[] }[];
}

const tail = (file: string, lines: number, pattern?: RegExp): string[] => {
  if (!existsSync(file)) return [`(no ${file})`];
  const all = readFileSync(file, 'utf8').split('\n');
  return (pattern ? all.filter((l) => pattern.test(l)) : all).slice(-lines);
};

/**
 * What a failing scenario needs to be read after the fact (a CI run's bed is gone by then): in
 * `viewer`, the namespace's Services with their mirror labels, Endpoints, and globalsvc's slices by
 * source cluster; in every other cluster, the namespace's pods; and the last lines of the viewer's
 * service mirrors and of its globalsvc.
 */
export async function explain(bed: TestBed, viewer: string, namespace: string): Promise<string> {
  const out: string[] = [`--- state of ${namespace} as seen from ${viewer}`];
  const cluster = bed.cluster(viewer).admin;
  for (const s of await cluster.list<Service>(SERVICES, namespace)) {
    const marks = Object.entries(s.metadata.labels ?? {}).filter(([k]) => /linkerd|globalsvc|multicluster/.test(k));
    out.push(`service ${s.metadata.name} clusterIP=${s.spec?.clusterIP} ${marks.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  for (const e of await cluster.list<Endpoints>(ENDPOINTS, namespace)) {
    const show = (as?: { ip: string; hostname?: string }[]) => (as ?? []).map((a) => `${a.hostname ?? ''}@${a.ip}`).join(',');
    const subsets = e.subsets ?? [];
    out.push(
      `endpoints ${e.metadata.name} ready=[${subsets.map((s) => show(s.addresses)).join(';')}] notReady=[${subsets.map((s) => show(s.notReadyAddresses)).join(';')}]`,
    );
  }
  for (const s of await cluster.list<EndpointSlice>(ENDPOINT_SLICES, namespace, 'endpointslice.kubernetes.io/managed-by=globalsvc.dev'))
    out.push(
      `slice ${s.metadata.name} of ${s.metadata.labels?.['kubernetes.io/service-name']} from ${s.metadata.labels?.['multicluster.kubernetes.io/source-cluster']}: ${(s.endpoints ?? []).map((e) => `${e.hostname ?? ''}@${e.addresses.join('|')}${e.conditions?.ready === false ? '(not ready)' : ''}`).join(', ')}`,
    );
  for (const other of bed.clusters.values())
    if (other.name !== viewer)
      out.push(
        `pods in ${other.name}: ${(await other.admin.list<Pod>(PODS, namespace)).map((p) => `${p.metadata.name}(${p.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '?'})`).join(' ')}`,
      );
  for (const other of bed.clusters.values())
    if (other.name !== viewer) {
      out.push(`--- service-mirror-${viewer}-${other.name}, its warnings and errors`);
      out.push(...tail(bed.procs.logFile(`service-mirror-${viewer}-${other.name}`), 25, /level=(warn|error|fatal)|Failed|failed/));
    }
  out.push(`--- globalsvc-${viewer}`, ...tail(bed.procs.logFile(`globalsvc-${viewer}`), 25));
  return out.join('\n');
}

/** `waitFor`'s failure with what `explain` shows appended. */
export async function explained<T>(bed: TestBed, viewer: string, namespace: string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (err) {
    const state = await explain(bed, viewer, namespace).catch((e: unknown) => `(could not explain: ${String(e)})`);
    console.log(state);
    throw err;
  }
}
