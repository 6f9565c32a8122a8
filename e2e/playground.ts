// The local playground: three clusters on 127.0.0.1 linked by Linkerd's service mirror, globalsvc
// in each, and a demo StatefulSet exported from every cluster. Prints what a user would look at,
// then stays up until Ctrl-C (or exits at once with --exit).
import type { EndpointSlice, Service } from '../src/domain/k8s-types.js';
import { ENDPOINT_SLICES, SERVICES } from '../src/cluster/kube-api.js';
import { deployStatefulSet, expectedAddresses, fqdn } from './support/workloads.js';
import { waitFor } from './testbed/processes.js';
import { ProcessProduct } from './testbed/product.js';
import { TestBed } from './testbed/testbed.js';

const NS = 'demo';
const exitAtOnce = process.argv.includes('--exit');

const bed = await TestBed.up({ name: 'playground', log: (l) => console.log(l) });
for (const cluster of bed.clusters.values()) await deployStatefulSet(cluster, NS, 'db', 2);
for (const viewer of bed.clusters.keys()) {
  await waitFor(`db-global in ${viewer}`, async () => (await bed.dnsOf(viewer).a(fqdn('db-global', NS))).length === 6, 180_000);
}

for (const cluster of bed.clusters.values()) {
  console.log(`\n== cluster ${cluster.name}  (kubeconfig ${cluster.kubeconfig}, DNS 127.0.0.1:${bed.dnsOf(cluster.name).port})`);
  const globals = (await cluster.admin.list<Service>(SERVICES)).filter(
    (s) => s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'globalsvc',
  );
  for (const g of globals) {
    const slices = await cluster.admin.list<EndpointSlice>(
      ENDPOINT_SLICES,
      g.metadata.namespace,
      `kubernetes.io/service-name=${g.metadata.name}`,
    );
    const members = new Map<string, { ready: number; total: number }>();
    for (const s of slices) {
      const c = s.metadata.labels?.['multicluster.kubernetes.io/source-cluster'] ?? '?';
      const m = members.get(c) ?? { ready: 0, total: 0 };
      for (const e of s.endpoints ?? []) {
        m.total++;
        if (e.conditions?.ready !== false) m.ready++;
      }
      members.set(c, m);
    }
    console.log(
      `  ${g.metadata.namespace}/${g.metadata.name}  members: ${[...members].map(([c, m]) => `${c} ${m.ready}/${m.total}`).join(', ')}`,
    );
  }
  const dns = bed.dnsOf(cluster.name);
  const name = fqdn('db-global', NS);
  console.log(`  dig ${name}  →  ${(await dns.a(name)).join(' ')}`);
  const expected = await expectedAddresses(bed, cluster.name, NS, 'db');
  for (const host of [...expected.keys()].sort()) console.log(`  dig ${host}.${name}  →  ${(await dns.a(`${host}.${name}`)).join(' ')}`);
}
console.log(`\nTry: dig @127.0.0.1 -p ${bed.dnsOf('west').port} db-global.${NS}.svc.cluster.local`);
console.log(`     ${bed.binaries.kubectl} --kubeconfig ${bed.cluster('west').kubeconfig} get svc,endpointslices -n ${NS}`);
if (bed.product instanceof ProcessProduct)
  console.log(`     curl -s 127.0.0.1:${bed.product.instance('west').metricsPort}/metrics | grep ^globalsvc_`);

if (exitAtOnce) {
  await bed.down();
} else {
  console.log('\nThe playground stays up; Ctrl-C tears it down.');
  process.stdin.resume();
}
