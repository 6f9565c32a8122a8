// The soak's oracle: what every global must contain in every cluster, worked out from what the
// clusters hold without globalsvc — the viewer's own Pods and Services, and Linkerd's mirrors there
// (root mirrors, per-pod endpoint mirrors and their Endpoints) — and from which gateways the soak
// itself has stopped. It shares no code with globalsvc (src/ is not imported but for types and
// resource names), and it checks what users see: the global Service and the real DNS answers of
// each cluster's CoreDNS, plus the invariants of e2e/support (ownership, no duplicate, no orphan).
import { SERVICES } from '../../src/cluster/kube-api.js';
import type { KubeObject, Service } from '../../src/domain/k8s-types.js';
import { violations } from '../support/invariants.js';
import type { Pod } from '../support/workloads.js';
import { ENDPOINTS, PODS } from '../testbed/kube.js';
import type { TestBed } from '../testbed/testbed.js';
import type { Random } from './random.js';

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
}

/** What one global must be in one cluster. */
export interface Expected {
  readonly viewer: string;
  readonly namespace: string;
  readonly name: string;
  readonly exists: boolean;
  /** The addresses of its ready endpoints, sorted: its A answer. */
  readonly addresses: readonly string[];
  /** `<hostname>` → address of each ready pod: `<hostname>.<name>-global.<ns>` answers it. */
  readonly pods: ReadonlyMap<string, string>;
}

/** One thing seen that differs from what is expected: `id` stays the same while the difference lasts. */
export interface Difference {
  readonly id: string;
  readonly viewer: string;
  /** `<namespace>/<name>` of the global, or the invariant broken. */
  readonly subject: string;
  readonly expected: string;
  readonly seen: string;
}

const MIRRORED = 'mirror.linkerd.io/mirrored-service';
const CLUSTER = 'mirror.linkerd.io/cluster-name';
const HEADLESS_ROOT = 'mirror.linkerd.io/headless-mirror-svc-name';
const FQ_NAME = 'mirror.linkerd.io/remote-svc-fq-name';

const ready = (e: Endpoints | undefined) => (e?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
const podReady = (p: Pod) =>
  !p.metadata.deletionTimestamp && !!p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Every global `viewer` must have in the soak's namespaces, from its own objects and the gateways that are down. */
export async function expectedIn(
  bed: TestBed,
  viewer: string,
  namespaces: readonly string[],
  gatewaysDown: ReadonlySet<string>,
): Promise<Expected[]> {
  const admin = bed.cluster(viewer).admin;
  const out: Expected[] = [];
  for (const namespace of namespaces) {
    const [services, endpoints, pods] = await Promise.all([
      admin.list<Service>(SERVICES, namespace),
      admin.list<Endpoints>(ENDPOINTS, namespace),
      admin.list<Pod>(PODS, namespace),
    ]);
    const endpointsOf = new Map(endpoints.map((e) => [e.metadata.name, e]));
    const byName = new Map(services.map((s) => [s.metadata.name, s]));
    // Root mirrors (not Linkerd's per-pod endpoint mirrors), by the original's name.
    const roots = new Map<string, Service[]>();
    for (const s of services) {
      const labels = s.metadata.labels ?? {};
      if (labels[MIRRORED] !== 'true' || !labels[CLUSTER] || labels[HEADLESS_ROOT]) continue;
      const original = s.metadata.annotations?.[FQ_NAME]?.split('.')[0];
      if (original) roots.set(original, [...(roots.get(original) ?? []), s]);
    }
    for (const [name, mirrors] of roots) {
      const addresses = new Set<string>();
      const podsOf = new Map<string, string>();
      const local = byName.get(name);
      if (local && !local.metadata.labels?.[MIRRORED]) {
        const selector = Object.entries(local.spec?.selector ?? {});
        for (const p of pods)
          if (selector.length > 0 && selector.every(([k, v]) => p.metadata.labels?.[k] === v) && podReady(p)) {
            addresses.add(p.status!.podIP!);
            podsOf.set(`${p.metadata.name}-${viewer}`, p.status!.podIP!);
          }
      }
      for (const root of mirrors) {
        const cluster = root.metadata.labels![CLUSTER]!;
        if (gatewaysDown.has(cluster)) continue;
        if (root.spec?.clusterIP === 'None') {
          for (const pm of services)
            if (
              pm.metadata.labels?.[HEADLESS_ROOT] === root.metadata.name &&
              ready(endpointsOf.get(pm.metadata.name)).length > 0 &&
              pm.spec?.clusterIP
            ) {
              addresses.add(pm.spec.clusterIP);
              podsOf.set(pm.metadata.name!, pm.spec.clusterIP);
            }
        } else for (const ip of ready(endpointsOf.get(root.metadata.name))) addresses.add(ip);
      }
      out.push({ viewer, namespace, name, exists: true, addresses: [...addresses].sort(), pods: podsOf });
    }
    // Globals of ours for keys with no mirror left must go.
    for (const s of services)
      if (s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc') {
        const name = s.metadata.labels['globalsvc.dev/global-of'];
        if (name && !roots.has(name)) out.push({ viewer, namespace, name, exists: false, addresses: [], pods: new Map() });
      }
  }
  return out;
}

const fqdn = (name: string, namespace: string) => `${name}.${namespace}.svc.cluster.local`;

/** What `viewer` shows against what it must: the global Service, its DNS answers (all of A, a sample of per-pod names), the invariants. */
export async function differencesIn(
  bed: TestBed,
  viewer: string,
  expected: readonly Expected[],
  random: Random,
  podSample = 2,
): Promise<Difference[]> {
  const out: Difference[] = [];
  const dns = bed.dnsOf(viewer);
  const admin = bed.cluster(viewer).admin;
  for (const e of expected) {
    const subject = `${e.namespace}/${e.name}`;
    const global = await admin.get<Service>(SERVICES, e.namespace, `${e.name}-global`);
    const ours = global?.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc';
    if (ours !== e.exists)
      out.push({
        id: `${viewer} ${subject} service`,
        viewer,
        subject,
        expected: e.exists ? 'a global Service' : 'no global Service',
        seen: ours ? 'one' : 'none',
      });
    const answer = await dns.a(fqdn(`${e.name}-global`, e.namespace));
    if (JSON.stringify(answer) !== JSON.stringify(e.addresses))
      out.push({
        id: `${viewer} ${subject} A`,
        viewer,
        subject,
        expected: e.addresses.join(',') || '(none)',
        seen: answer.join(',') || '(none)',
      });
    const hostnames = [...e.pods.keys()];
    for (let i = 0; i < Math.min(podSample, hostnames.length); i++) {
      const hostname = random.pick(hostnames);
      const got = await dns.a(fqdn(`${hostname}.${e.name}-global`, e.namespace));
      if (got.length !== 1 || got[0] !== e.pods.get(hostname))
        out.push({
          id: `${viewer} ${subject} pod ${hostname}`,
          viewer,
          subject,
          expected: `${hostname} → ${e.pods.get(hostname)}`,
          seen: `${hostname} → ${got.join(',') || '(none)'}`,
        });
    }
  }
  for (const v of await violations(bed.cluster(viewer)))
    out.push({ id: `${viewer} invariant ${v}`, viewer, subject: 'invariant', expected: 'holds', seen: v });
  return out;
}
