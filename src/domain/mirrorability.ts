import type { EndpointSlice, Service } from './k8s-types.js';
import type { Problem } from './desired.js';
import { linkerd } from './labels.js';
import { MAX_LABEL_LENGTH, endpointHostname } from './naming.js';

// Linkerd's service mirror names what it writes in the importing cluster after the exporting
// cluster's name in that cluster's Link (which is this cluster's `--cluster-name`): `<svc>-<link>`
// for a mirror, and, for a headless service, `<hostname>-<link>` for every pod's endpoint mirror.
// It never shortens a name (linkerd-mirror-real.md): past 63 characters the API server refuses
// the Service, the mirror retries for ever and logs it, and the pod is missing from every other
// cluster. This cluster knows its own pods' hostnames and its name, so it can tell in advance.

/** A local Service exported to Linkerd's mirrors (`mirror.linkerd.io/exported`), with its slices. */
export interface ExportedService {
  service: Service;
  slices: readonly EndpointSlice[];
}

/** A Service name, as the API server validates it: an RFC 1035 label. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const isServiceName = (name: string) => name.length <= MAX_LABEL_LENGTH && SERVICE_NAME.test(name);

/** How many pods a message names before it says "and N more". */
const NAMED = 5;

/**
 * What Linkerd's mirror cannot write in the clusters this service is exported to, told on the
 * exported Service and on its global: the service itself when `<svc>-<cluster>` is no Service
 * name, and the pods whose `<hostname>-<cluster>` is none (headless services only: Linkerd mirrors
 * pods one by one only for them).
 */
export function unmirrorable(exported: ExportedService, cluster: string): Problem[] {
  const { namespace = '', name = '', uid } = exported.service.metadata;
  const onService = { kind: 'Service' as const, namespace, name, uid };
  const problems: Problem[] = [];
  const mirror = `${name}-${cluster}`;
  if (!isServiceName(mirror)) {
    const message = `Linkerd's service mirror cannot mirror exported service ${namespace}/${name} into other clusters: its mirror would be named "${mirror}" (${mirror.length} characters), which is not a valid Service name (at most 63 characters); every other cluster lacks it. Use a shorter service or cluster name`;
    for (const subject of [onService, { kind: 'global' as const }])
      problems.push({ type: 'Warning', reason: 'UnmirrorableService', message, subject });
  }
  // Remote discovery mirrors no pod one by one (and no headless service at all).
  if (exported.service.spec?.clusterIP !== 'None' || exported.service.metadata.labels?.[linkerd.exported] !== 'true') return problems;

  const hostnames = new Set<string>();
  let endpoints = 0;
  for (const slice of exported.slices) {
    for (const endpoint of slice.endpoints ?? []) {
      if (!endpoint.hostname || isServiceName(`${endpoint.hostname}-${cluster}`)) continue;
      hostnames.add(endpoint.hostname);
      endpoints++;
    }
  }
  if (hostnames.size === 0) return problems;
  const sorted = [...hostnames].sort();
  const named = sorted
    .slice(0, NAMED)
    .map((h) => `${h} (needs "${h}-${cluster}", ${h.length + cluster.length + 1} characters)`)
    .join(', ');
  const more = sorted.length > NAMED ? `, and ${sorted.length - NAMED} more` : '';
  const message =
    `Linkerd's service mirror cannot mirror ${sorted.length} pod(s) of exported headless service ${namespace}/${name} into other clusters: ` +
    `${named}${more}. A pod's endpoint mirror is named <hostname>-<cluster>, a Service name of at most 63 characters, ` +
    `so these pods are missing from every other cluster's global (this cluster publishes ${sorted[0]} as "${endpointHostname(sorted[0]!, cluster)}"). ` +
    `Shorten the pods' hostnames to at most ${MAX_LABEL_LENGTH - 1 - cluster.length} characters (for a StatefulSet, its name plus "-" and the ordinal), or the cluster's name`;
  for (const subject of [onService, { kind: 'global' as const }])
    problems.push({
      type: 'Warning',
      reason: 'UnmirrorableHostname',
      message,
      subject,
      ...(subject.kind === 'Service' ? { leftOut: { reason: 'UnmirrorableHostname' as const, endpoints } } : {}),
    });
  return problems;
}
