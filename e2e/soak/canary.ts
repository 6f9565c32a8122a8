// How fresh each cluster's CoreDNS is, measured without globalsvc: a headless Service of the soak's
// own with an EndpointSlice the soak writes itself, its one address changed every round. When
// CoreDNS still answers an older address than the one written a round ago, its watches have not
// caught up (after its API server came back, client-go's reflectors back off up to 30 s), and a
// DNS answer in that cluster says nothing about what globalsvc wrote: the oracle then reads the
// global's EndpointSlices instead, what CoreDNS will answer once it catches up.
import { ENDPOINT_SLICES, SERVICES } from '../../src/cluster/kube-api.js';
import type { EndpointSlice, Service } from '../../src/domain/k8s-types.js';
import type { TestBed } from '../testbed/testbed.js';

export const CANARY_NAMESPACE = 'soak-canary';
const NAME = 'canary';
/** 10.255.x.y: outside every pod and service range of the test bed. */
const address = (round: number) => `10.255.${Math.floor(round / 250) % 250}.${(round % 250) + 1}`;

export class DnsCanary {
  /** Per cluster: the address written in an earlier round, and when. */
  private readonly written = new Map<string, { address: string; at: number }>();
  private round = 0;

  constructor(private readonly bed: TestBed) {}

  async install(): Promise<void> {
    for (const [name, cluster] of this.bed.clusters) {
      await cluster.admin.ensureNamespace(CANARY_NAMESPACE);
      await cluster.admin.apply<Service>(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: NAME, namespace: CANARY_NAMESPACE },
          spec: { clusterIP: 'None', ports: [{ name: 'c', protocol: 'TCP', port: 1 }] },
        },
        SERVICES,
      );
      await this.write(name);
    }
  }

  /**
   * Whether `cluster`'s CoreDNS answers what was written at least `settleMs` ago (undefined: not
   * known, nothing written yet that long ago); then writes the next address.
   */
  async fresh(cluster: string, settleMs = 1_000): Promise<boolean | undefined> {
    const last = this.written.get(cluster);
    let fresh: boolean | undefined;
    if (last && Date.now() - last.at >= settleMs) {
      const answer = await this.bed.dnsOf(cluster).a(`${NAME}.${CANARY_NAMESPACE}.svc.cluster.local`);
      fresh = answer.length === 1 && answer[0] === last.address;
    }
    await this.write(cluster).catch(() => undefined);
    return fresh;
  }

  private async write(cluster: string): Promise<void> {
    const next = address(++this.round);
    await this.bed.cluster(cluster).admin.apply<EndpointSlice>(
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: NAME,
          namespace: CANARY_NAMESPACE,
          labels: { 'kubernetes.io/service-name': NAME, 'endpointslice.kubernetes.io/managed-by': 'soak.globalsvc.dev' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [next], conditions: { ready: true } }],
        ports: [{ name: 'c', protocol: 'TCP', port: 1 }],
      },
      ENDPOINT_SLICES,
    );
    this.written.set(cluster, { address: next, at: Date.now() });
  }
}
