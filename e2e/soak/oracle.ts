// The soak's oracle: what every global must contain in every cluster, worked out from what the
// clusters hold without globalsvc — the viewer's own Services and the EndpointSlices Kubernetes
// publishes for them, Linkerd's mirrors there (root mirrors, per-pod endpoint mirrors, and the
// slices kube-controller-manager mirrors from their Endpoints) — and from which gateways the soak
// itself has stopped. It shares no code with globalsvc (src/ is not imported but for types and
// resource names), and it checks what users see: the global Service and the real DNS answers of
// each cluster's CoreDNS, plus the invariants of e2e/support (ownership, no duplicate, no orphan).
import { createHash } from 'node:crypto';
import { ENDPOINT_SLICES, NAMESPACES, SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, KubeObject, Service } from '../../src/domain/k8s-types.js';
import { violations } from '../support/invariants.js';
import type { TestBed } from '../testbed/testbed.js';
import type { Random } from './random.js';

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
  /** The members' port names: `_<port>._tcp.<name>-global.<ns>` lists every ready endpoint. */
  readonly ports: readonly string[];
  /** The first label of each SRV target, sorted: the per-pod hostname, or the address with dashes. */
  readonly targets: readonly string[];
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

const isReady = (e: { conditions?: { ready?: boolean } }) => e.conditions?.ready !== false;
const dashed = (address: string) => address.replace(/[.:]/g, '-');

/**
 * The DNS label of pod `hostname` of `cluster` in a global, as the README specifies it:
 * `<hostname>-<cluster>`, or, when that is no DNS label, the hostname cut to fit before an 8-hex
 * sha256 of `<cluster>/<hostname>` and `-<cluster>`. Written here from the document, not imported.
 */
export function podLabel(hostname: string, cluster: string): string {
  const natural = `${hostname}-${cluster}`;
  if (natural.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(natural)) return natural;
  const tail = `-${createHash('sha256').update(`${cluster}/${hostname}`).digest('hex').slice(0, 8)}-${cluster}`;
  return `${hostname.slice(0, 63 - tail.length).replace(/-+$/, '')}${tail}`;
}

/**
 * Every global `viewer` must have in the soak's namespaces, from its own objects and the gateways
 * that are down. A member's endpoints are what Kubernetes publishes for it — EndpointSlices made
 * from Pods by kube-controller-manager, or mirrored by it from the Endpoints Linkerd writes — as
 * CoreDNS and kube-proxy read them: how late those controllers are after a control plane comes
 * back (the first 60-minute soak saw 20 s) is the cluster's, not the aggregation's.
 *
 * A namespace of the viewer's that is being deleted expects nothing: the API server refuses every
 * create there ("being terminated") and the namespace controller deletes what is in it, globals
 * included, for as long as it takes (the soak's random seed 1261972796 saw west's soak-a emptied
 * for over 40 s). What must be there is expected again once the namespace is back.
 */
export async function expectedIn(
  bed: TestBed,
  viewer: string,
  namespaces: readonly string[],
  gatewaysDown: ReadonlySet<string>,
): Promise<Expected[]> {
  const admin = bed.cluster(viewer).admin;
  const out: Expected[] = [];
  for (const namespace of namespaces) {
    const ns = await admin.get<KubeObject>(NAMESPACES, undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp) continue;
    const [services, slices] = await Promise.all([
      admin.list<Service>(SERVICES, namespace),
      admin.list<EndpointSlice>(ENDPOINT_SLICES, namespace),
    ]);
    const endpointsOf = (service: string) =>
      slices
        .filter(
          (s) =>
            s.metadata.labels?.['kubernetes.io/service-name'] === service &&
            s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== 'globalsvc.dev',
        )
        .flatMap((s) => s.endpoints ?? []);
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
      const targets: string[] = [];
      const ports = new Set<string>();
      const local = byName.get(name);
      if (local && !local.metadata.labels?.[MIRRORED]) {
        for (const p of local.spec?.ports ?? []) if (p.name) ports.add(p.name);
        for (const e of endpointsOf(name).filter(isReady)) {
          for (const a of e.addresses) addresses.add(a);
          if (e.hostname) podsOf.set(podLabel(e.hostname, viewer), e.addresses[0]!);
          targets.push(e.hostname ? podLabel(e.hostname, viewer) : dashed(e.addresses[0]!));
        }
      }
      for (const root of mirrors) {
        const cluster = root.metadata.labels![CLUSTER]!;
        for (const p of root.spec?.ports ?? []) if (p.name) ports.add(p.name);
        if (gatewaysDown.has(cluster)) continue;
        if (root.spec?.clusterIP === 'None') {
          for (const pm of services)
            if (
              pm.metadata.labels?.[HEADLESS_ROOT] === root.metadata.name &&
              pm.spec?.clusterIP &&
              endpointsOf(pm.metadata.name!).some(isReady)
            ) {
              addresses.add(pm.spec.clusterIP);
              podsOf.set(pm.metadata.name!, pm.spec.clusterIP);
              targets.push(pm.metadata.name!);
            }
        } else
          for (const e of endpointsOf(root.metadata.name!).filter(isReady))
            for (const a of e.addresses) {
              addresses.add(a);
              targets.push(dashed(a));
            }
      }
      out.push({
        viewer,
        namespace,
        name,
        exists: true,
        addresses: [...addresses].sort(),
        pods: podsOf,
        ports: [...ports].sort(),
        targets: targets.sort(),
      });
    }
    // Globals of ours for keys with no mirror left must go.
    for (const s of services)
      if (s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc') {
        const name = s.metadata.labels['globalsvc.dev/global-of'];
        if (name && !roots.has(name))
          out.push({ viewer, namespace, name, exists: false, addresses: [], pods: new Map(), ports: [], targets: [] });
      }
  }
  return out;
}

const fqdn = (name: string, namespace: string) => `${name}.${namespace}.svc.cluster.local`;

/** The ready addresses of the global's own EndpointSlices: what CoreDNS answers for it once it has caught up. */
async function sliceAddresses(bed: TestBed, viewer: string, namespace: string, global: string): Promise<string[]> {
  const slices = await bed
    .cluster(viewer)
    .admin.list<EndpointSlice>(
      ENDPOINT_SLICES,
      namespace,
      `kubernetes.io/service-name=${global},endpointslice.kubernetes.io/managed-by=globalsvc.dev`,
    );
  return [...new Set(slices.flatMap((s) => (s.endpoints ?? []).filter(isReady).flatMap((e) => e.addresses)))].sort();
}

/**
 * What `viewer` shows against what it must: the global Service, its DNS answers (all of A and
 * SRV, a sample of per-pod names), the invariants. While the viewer's CoreDNS is known to lag
 * (`dnsFresh` false: canary.ts), the A answer is read from the global's EndpointSlices instead
 * and the other DNS checks wait for the next round.
 */
export async function differencesIn(
  bed: TestBed,
  viewer: string,
  expected: readonly Expected[],
  random: Random,
  dnsFresh: boolean | undefined = true,
  podSample = 2,
): Promise<Difference[]> {
  const out: Difference[] = [];
  const dns = bed.dnsOf(viewer);
  const admin = bed.cluster(viewer).admin;
  const dnsStale = dnsFresh === false;
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
    const answer = dnsStale
      ? await sliceAddresses(bed, viewer, e.namespace, `${e.name}-global`)
      : await dns.a(fqdn(`${e.name}-global`, e.namespace));
    if (JSON.stringify(answer) !== JSON.stringify(e.addresses))
      out.push({
        id: `${viewer} ${subject} A`,
        viewer,
        subject,
        expected: e.addresses.join(',') || '(none)',
        seen: `${dnsStale ? '(CoreDNS lags; the slices) ' : ''}${answer.join(',') || '(none)'}`,
      });
    if (dnsStale) continue;
    // Every SRV name of the global lists every ready endpoint (a port named differently by one cluster
    // still lists that cluster's pods: the global's slices carry the global's port names).
    for (const port of e.ports) {
      const srv = await dns.srv(`_${port}._tcp.${fqdn(`${e.name}-global`, e.namespace)}`);
      const seen = srv.map((r) => r.name.split('.')[0]!).sort();
      if (JSON.stringify(seen) !== JSON.stringify(e.targets))
        out.push({
          id: `${viewer} ${subject} SRV ${port}`,
          viewer,
          subject,
          expected: `_${port}._tcp → ${e.targets.join(',') || '(none)'}`,
          seen: `_${port}._tcp → ${seen.join(',') || '(none)'}`,
        });
    }
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

/**
 * What `viewer` holds for one global, for a violation's report: the local Service, Linkerd's
 * mirrors of it (roots and per-pod endpoint mirrors) and the global, each with its slices'
 * endpoints (address, hostname, ready or not).
 */
export async function evidenceOf(bed: TestBed, viewer: string, namespace: string, name: string): Promise<string[]> {
  const admin = bed.cluster(viewer).admin;
  const [services, slices] = await Promise.all([
    admin.list<Service>(SERVICES, namespace),
    admin.list<EndpointSlice>(ENDPOINT_SLICES, namespace),
  ]);
  const rootNames = new Set(
    services
      .filter((s) => s.metadata.labels?.[MIRRORED] === 'true' && s.metadata.annotations?.[FQ_NAME]?.split('.')[0] === name)
      .map((s) => s.metadata.name!),
  );
  const relevant = services.filter(
    (s) =>
      s.metadata.name === name ||
      s.metadata.name === `${name}-global` ||
      rootNames.has(s.metadata.name!) ||
      rootNames.has(s.metadata.labels?.[HEADLESS_ROOT] ?? ''),
  );
  return relevant.map((s) => {
    const own = slices.filter((x) => x.metadata.labels?.['kubernetes.io/service-name'] === s.metadata.name);
    const endpoints = own.flatMap((x) =>
      (x.endpoints ?? []).map((e) => `${e.addresses.join('/')}${e.hostname ? `(${e.hostname})` : ''}${isReady(e) ? '' : ' not-ready'}`),
    );
    const root = s.metadata.labels?.[HEADLESS_ROOT];
    return `${s.metadata.name} ${s.spec?.clusterIP ?? ''}${root ? ` [endpoint mirror of ${root}]` : ''}: ${own.length} slice(s) ${endpoints.join(' ') || '(no endpoints)'}`;
  });
}
