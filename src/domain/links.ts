import type { KubeObject } from './k8s-types.js';
import { labelSelectorString, type LabelSelector } from './selector.js';

// Linkerd's Link (multicluster.linkerd.io/v1alpha3, ../shared/crds/linkerd-b24cd40-links.yaml) as
// globalsvc reads it: which clusters are linked here, where their gateways answer their probe,
// and what the Link's status says Linkerd could not mirror.

export interface LinkObject extends KubeObject {
  spec?: {
    targetClusterName?: string;
    gatewayAddress?: string;
    /** The Secret (in the Link's namespace) holding the target cluster's kubeconfig, key `kubeconfig`. */
    clusterCredentialsSecret?: string;
    /** The target's Services mirrored in remote-discovery mode: read straight from the target (flat networks). */
    remoteDiscoverySelector?: LabelSelector;
    probeSpec?: { path?: string; port?: string; period?: string; failureThreshold?: string; timeout?: string };
  };
  status?: {
    mirrorServices?: {
      remoteRef?: { name?: string; namespace?: string };
      conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    }[];
  };
}

/** How to probe a linked cluster's gateway, as Linkerd's probe worker does (probe_worker.go). */
export interface GatewayProbeSpec {
  /** The gateway's addresses (the Link's comma-separated gatewayAddress): IPs or DNS names. */
  addresses: string[];
  port: number;
  path: string;
  periodMs: number;
  failureThreshold: number;
  timeoutMs: number;
}

/** A remote Service Linkerd reports, in the Link's status, as not mirrored here. */
export interface Unmirrored {
  namespace: string;
  name: string;
  reason: string;
  message: string;
}

export interface LinkInfo {
  /** The Link's namespace/name. */
  ref: string;
  /** The linked cluster: the `mirror.linkerd.io/cluster-name` of its mirrors. */
  cluster: string;
  /** Undefined when the Link has no usable probe (then Linkerd does not probe either), with why in `probeProblem`. */
  probe?: GatewayProbeSpec;
  probeProblem?: string;
  unmirrored: Unmirrored[];
  /**
   * Where the target's remote-discovery Services are read from (remote-discovery.ts): the Link's
   * selector as a query, and the credentials Secret. Undefined without a remoteDiscoverySelector,
   * or with why in `remoteDiscoveryProblem`.
   */
  remoteDiscovery?: { selector: string; credentials: { namespace: string; name: string } };
  remoteDiscoveryProblem?: string;
}

function remoteDiscoveryOf(link: LinkObject): Pick<LinkInfo, 'remoteDiscovery' | 'remoteDiscoveryProblem'> {
  const selector = link.spec?.remoteDiscoverySelector;
  if (!selector) return {};
  const secret = link.spec?.clusterCredentialsSecret;
  if (!secret) return { remoteDiscoveryProblem: 'the Link names no clusterCredentialsSecret to read its cluster with' };
  let query: string;
  try {
    query = labelSelectorString(selector);
  } catch (err) {
    return { remoteDiscoveryProblem: `its remoteDiscoverySelector is not a selector: ${(err as Error).message}` };
  }
  // An empty selector would mirror every Service of the target: Linkerd's own CRD never defaults to it.
  if (query === '') return { remoteDiscoveryProblem: 'its remoteDiscoverySelector is empty, which would select every Service' };
  return { remoteDiscovery: { selector: query, credentials: { namespace: link.metadata.namespace ?? '', name: secret } } };
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A Go duration ("3s", "1m30s", "500ms") in milliseconds, or undefined when it is not one. */
export function goDurationMs(value: string | undefined): number | undefined {
  if (!value || !/^([0-9.]+(ns|us|µs|ms|s|m|h))+$/.test(value)) return undefined;
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * GO_UNITS_MS[unit!]!;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The CRD's defaults (failureThreshold "3", timeout "30s"), applied as the API server would. */
function probeOf(link: LinkObject): { probe?: GatewayProbeSpec; problem?: string } {
  const spec = link.spec?.probeSpec;
  // Linkerd runs no probe worker without a path: its endpoints then stay as they are.
  if (!spec?.path) return { problem: 'the Link has no probeSpec.path, so neither Linkerd nor globalsvc probes its gateway' };
  const addresses = (link.spec?.gatewayAddress ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  const port = Number(spec.port);
  const periodMs = goDurationMs(spec.period);
  const failureThreshold = Number(spec.failureThreshold ?? '3');
  const timeoutMs = goDurationMs(spec.timeout ?? '30s');
  if (addresses.length === 0) return { problem: 'the Link has no gatewayAddress to probe' };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { problem: `probeSpec.port "${spec.port}" is not a port` };
  if (periodMs === undefined || periodMs <= 0) return { problem: `probeSpec.period "${spec.period}" is not a duration` };
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1)
    return { problem: `probeSpec.failureThreshold "${spec.failureThreshold}" is not a positive integer` };
  if (timeoutMs === undefined || timeoutMs <= 0) return { problem: `probeSpec.timeout "${spec.timeout}" is not a duration` };
  return { probe: { addresses, port, path: spec.path, periodMs, failureThreshold, timeoutMs } };
}

export function linkInfo(link: LinkObject): LinkInfo | undefined {
  const cluster = link.spec?.targetClusterName;
  if (!cluster) return undefined;
  const { probe, problem } = probeOf(link);
  const unmirrored: Unmirrored[] = [];
  for (const entry of link.status?.mirrorServices ?? []) {
    const mirrored = entry.conditions?.find((c) => c.type === 'Mirrored');
    const { namespace, name } = entry.remoteRef ?? {};
    if (!mirrored || mirrored.status !== 'False' || !namespace || !name) continue;
    unmirrored.push({ namespace, name, reason: mirrored.reason ?? 'NotMirrored', message: mirrored.message ?? '' });
  }
  return {
    ref: `${link.metadata.namespace ?? ''}/${link.metadata.name ?? ''}`,
    cluster,
    ...(probe ? { probe } : { probeProblem: problem }),
    unmirrored,
    ...remoteDiscoveryOf(link),
  };
}
