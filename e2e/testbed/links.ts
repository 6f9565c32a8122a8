import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { repoRoot, type serviceMirrorCommand } from './binaries.js';

export type MirrorCommand = ReturnType<typeof serviceMirrorCommand>;
import type { Cluster } from './cluster.js';
import { SERVICE_IMPORTS } from '../../src/cluster/kube-api.js';
import { CRDS, LINKS } from './kube.js';
import type { ProcessGroup } from './processes.js';
import { waitFor } from './processes.js';
import { freePort } from './ports.js';
import { PROBE_PATH, PROBE_PORT } from './gateway.js';

export const LINK_NAMESPACE = 'linkerd-multicluster';
export const GATEWAY_PORT = 4143;

export function crd(file: string): KubeObject {
  return parseAllDocuments(readFileSync(join(repoRoot, 'e2e/crds', file), 'utf8'))[0]!.toJS() as KubeObject;
}

/**
 * KEP-1645's CRDs (mcs-api v0.5.0, ../shared/crds): every cluster of the bed has them, as an
 * MCS-capable cluster does. Its CoreDNS serves clusterset.local from ServiceImports, which
 * globalsvc writes with --mcs-api.
 */
export async function installMcsCrds(cluster: Cluster): Promise<void> {
  for (const file of ['mcs-api-v0.5.0-serviceimports.yaml', 'mcs-api-v0.5.0-serviceexports.yaml'])
    await cluster.admin.apply(crd(file), CRDS);
  await waitFor(`ServiceImport CRD in ${cluster.name}`, async () => {
    try {
      await cluster.admin.list(SERVICE_IMPORTS);
      return true;
    } catch {
      return false;
    }
  });
}

export async function installLinkCrd(cluster: Cluster): Promise<void> {
  await cluster.admin.apply(crd('linkerd-b24cd40-links.yaml'), CRDS);
  await waitFor(`Link CRD in ${cluster.name}`, async () => {
    try {
      await cluster.admin.list(LINKS, LINK_NAMESPACE);
      return true;
    } catch {
      return false;
    }
  });
}

const processName = (source: Cluster, target: Cluster) => `service-mirror-${source.name}-${target.name}`;
const credentialsOf = (target: Cluster) => `cluster-credentials-${target.name}`;

/**
 * Links `source` to `target` the way `linkerd multicluster link` does: a kubeconfig Secret and a
 * Link in `source`, and one service-mirror process run with the chart's arguments that mirrors
 * `target`'s exported Services into `source` and probes `target`'s gateway at `probeAddress`.
 */
export async function link(
  procs: ProcessGroup,
  mirror: MirrorCommand,
  source: Cluster,
  target: Cluster,
  probeAddress: string,
): Promise<void> {
  await source.admin.ensureNamespace(LINK_NAMESPACE);
  await source.admin.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'mirror.linkerd.io/remote-kubeconfig',
    metadata: { name: credentialsOf(target), namespace: LINK_NAMESPACE },
    data: {
      kubeconfig: Buffer.from(
        readFileSync(target.kubeconfig, 'utf8')
          .replace(
            /(certificate-authority|client-certificate|client-key): (\S+)/g,
            (_m, k: string, path: string) => `${k}-data: ${readFileSync(path).toString('base64')}`,
          )
          .replace(/server: \S+/, `server: ${target.peerServer}`),
      ).toString('base64'),
    },
  } as KubeObject);
  await applyLink(source, target);
  await startMirror(procs, mirror, source, target, probeAddress);
}

/** The Link `target` in `source`, as `linkerd multicluster link` writes it. */
export async function applyLink(source: Cluster, target: Cluster): Promise<void> {
  await source.admin.apply({
    apiVersion: 'multicluster.linkerd.io/v1alpha3',
    kind: 'Link',
    metadata: { name: target.name, namespace: LINK_NAMESPACE },
    spec: {
      targetClusterName: target.name,
      targetClusterDomain: 'cluster.local',
      targetClusterLinkerdNamespace: 'linkerd',
      clusterCredentialsSecret: credentialsOf(target),
      // The address of the gateway-mode mirrors' endpoints (TEST-NET-1: never dialled; an Endpoints
      // address may not be loopback). The gateway's probe answers on loopback (bed.gateway(...)).
      gatewayAddress: target.spec.gatewayAddress,
      gatewayPort: String(GATEWAY_PORT),
      gatewayIdentity: 'linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local',
      // What `linkerd multicluster link` reads from the gateway (its probe-path and probe-period
      // annotations, the admin port); the CRD defaults failureThreshold "3" and timeout "30s".
      probeSpec: { path: PROBE_PATH, port: String(PROBE_PORT), period: '3s' },
      selector: { matchLabels: { 'mirror.linkerd.io/exported': 'true' } },
      remoteDiscoverySelector: { matchLabels: { 'mirror.linkerd.io/exported': 'remote-discovery' } },
      federatedServiceSelector: { matchLabels: { 'mirror.linkerd.io/federated': 'member' } },
    },
  } as KubeObject);
}

/**
 * One mirror process with the arguments of Linkerd's chart (linkerd-multicluster-link's
 * service-mirror.yaml: headless services on, namespace creation off, the probe Service) and
 * supervised as kubelet restarts a crashed container: Linkerd's mirror exits when it loses its
 * Lease (an API server down long enough), and comes back with backoff.
 */
export async function startMirror(
  procs: ProcessGroup,
  mirror: MirrorCommand,
  source: Cluster,
  target: Cluster,
  probeAddress: string,
): Promise<void> {
  const port = await freePort();
  procs.start(
    processName(source, target),
    mirror.command,
    [
      ...mirror.args,
      '-log-level=info',
      '-log-format=plain',
      // The chart's serviceMirrorRetryLimit, raised from its default 3: with 3, Linkerd's mirror drops a
      // remote Endpoints event after retries 5, 10 and 20 ms apart when its informer has not yet seen
      // its own last write (a conflict on the headless mirror's Endpoints, then "already exists" on the
      // endpoint mirrors it made before): measured in e2e 11, east's scale-up never reached west.
      // 10 retries span about 5 s. docs/testbed.md.
      '-event-requeue-limit=10',
      `-kubeconfig=${source.kubeconfig}`,
      `-namespace=${LINK_NAMESPACE}`,
      '-enable-headless-services',
      // An IP literal is a valid probe Service: the probe dials <probe-service>:<port><path>.
      `-probe-service=${probeAddress}`,
      `-metrics-addr=127.0.0.1:${port}`,
      target.name,
    ],
    { HOSTNAME: `service-mirror-${target.name}` },
    { restart: true },
  );
}

export async function stopMirror(procs: ProcessGroup, source: Cluster, target: Cluster): Promise<void> {
  await procs.stop(processName(source, target));
}

/**
 * Unlinks like `linkerd multicluster unlink`: stops the mirror, deletes the Link and its Secret,
 * and removes what the mirror wrote for that cluster (Linkerd's unlink deletes them too).
 */
export async function unlink(procs: ProcessGroup, source: Cluster, target: Cluster): Promise<void> {
  await stopMirror(procs, source, target);
  await source.admin.delete(LINKS, LINK_NAMESPACE, target.name);
  await source.admin.delete(
    { kind: 'Secret', apiPath: '/api/v1', plural: 'secrets' },
    LINK_NAMESPACE,
    `cluster-credentials-${target.name}`,
  );
  const mirrored = await source.admin.list<KubeObject>(
    { kind: 'Service', apiPath: '/api/v1', plural: 'services' },
    undefined,
    `mirror.linkerd.io/cluster-name=${target.name}`,
  );
  for (const svc of mirrored)
    await source.admin.delete({ kind: 'Service', apiPath: '/api/v1', plural: 'services' }, svc.metadata.namespace, svc.metadata.name!);
}
