import { Option, type Command } from 'commander';

/** Every controller option: one flag, one environment variable, one default, documented once. */
export const OPTIONS = [
  {
    key: 'clusterName',
    flag: '--cluster-name <name>',
    env: 'GLOBALSVC_CLUSTER_NAME',
    help: "this cluster's name in the Links (required): the source cluster of the local member",
  },
  {
    key: 'kubeconfig',
    flag: '--kubeconfig <path>',
    env: 'GLOBALSVC_KUBECONFIG',
    help: 'kubeconfig file (default: in-cluster config, then $KUBECONFIG / ~/.kube/config)',
  },
  { key: 'context', flag: '--context <name>', env: 'GLOBALSVC_CONTEXT', help: 'kubeconfig context (default: the current context)' },
  {
    key: 'namespaces',
    flag: '--namespaces <list>',
    env: 'GLOBALSVC_NAMESPACES',
    help: 'comma-separated namespaces to watch (default: all)',
  },
  {
    key: 'includeLocal',
    flag: '--include-local <bool>',
    env: 'GLOBALSVC_INCLUDE_LOCAL',
    help: 'make the local Service <name> a member of its global',
    default: 'true',
  },
  {
    key: 'gatewayProbe',
    flag: '--gateway-probe <bool>',
    env: 'GLOBALSVC_GATEWAY_PROBE',
    help: "probe each Link's gateway as its probeSpec says, besides Linkerd's own probe, and publish a failing cluster's endpoints not ready",
    default: 'true',
  },
  {
    key: 'gatewayProbeAddresses',
    flag: '--gateway-probe-addresses <list>',
    env: 'GLOBALSVC_GATEWAY_PROBE_ADDRESSES',
    help: "where to probe a cluster's gateway instead of its Link's gatewayAddress, as <cluster>=<address>[,...] (a gateway whose probe answers on a private address)",
  },
  {
    key: 'remoteDiscovery',
    flag: '--remote-discovery <bool>',
    env: 'GLOBALSVC_REMOTE_DISCOVERY',
    help: "read the Services a Link's remoteDiscoverySelector selects straight from the linked cluster, with the Link's credentials Secret, and publish their pod IPs (flat networks; needs `get` on those Secrets)",
    default: 'false',
  },
  {
    key: 'remoteStaleAfter',
    flag: '--remote-stale-after <duration>',
    env: 'GLOBALSVC_REMOTE_STALE_AFTER',
    help: 'how long a cluster read directly may not answer before its endpoints are published not ready (they leave after twice that)',
    default: '60s',
  },
  {
    key: 'mcsApi',
    flag: '--mcs-api <bool>',
    env: 'GLOBALSVC_MCS_API',
    help: 'write a KEP-1645 ServiceImport <name> and its EndpointSlices for every global, which CoreDNS serves as <name>.<ns>.svc.clusterset.local (needs the MCS CRDs; docs/mcs-api.md)',
    default: 'false',
  },
  {
    key: 'source',
    flag: '--source <list>',
    env: 'GLOBALSVC_SOURCE',
    help: "where members come from: linkerd (Linkerd's service mirrors), mcs (another MCS implementation's ServiceImports and their multicluster EndpointSlices: Cilium, Submariner, mcs-api's controller), or linkerd,mcs (docs/mcs-api.md)",
    default: 'linkerd',
  },
  {
    key: 'globalSuffix',
    flag: '--global-suffix <suffix>',
    env: 'GLOBALSVC_GLOBAL_SUFFIX',
    help: 'suffix of global Service names',
    default: '-global',
  },
  {
    key: 'maxEndpointsPerSlice',
    flag: '--max-endpoints-per-slice <n>',
    env: 'GLOBALSVC_MAX_ENDPOINTS_PER_SLICE',
    help: 'endpoints per EndpointSlice (1-1000)',
    default: '100',
  },
  { key: 'workers', flag: '--workers <n>', env: 'GLOBALSVC_WORKERS', help: 'global services reconciled at once (1-256)', default: '64' },
  {
    key: 'startWorkers',
    flag: '--start-workers <n>',
    env: 'GLOBALSVC_START_WORKERS',
    help: "global services reconciled at once until every one has been reconciled once (a cold start, a new leader's first pass; at most --workers)",
    default: '16',
  },
  {
    key: 'batchPeriod',
    flag: '--batch-period <duration>',
    env: 'GLOBALSVC_BATCH_PERIOD',
    help: 'how long a changed global waits so a burst of changes becomes one write (at most 1s)',
    default: '50ms',
  },
  {
    key: 'retryInitial',
    flag: '--retry-initial <duration>',
    env: 'GLOBALSVC_RETRY_INITIAL',
    help: 'first retry delay after a failed reconcile (doubles, with jitter)',
    default: '200ms',
  },
  { key: 'retryMax', flag: '--retry-max <duration>', env: 'GLOBALSVC_RETRY_MAX', help: 'longest retry delay', default: '60s' },
  {
    key: 'resyncPeriod',
    flag: '--resync-period <duration>',
    env: 'GLOBALSVC_RESYNC_PERIOD',
    help: 'reconcile every global this often even without changes (0 = never)',
    default: '10m',
  },
  {
    key: 'compilersAboveObjects',
    flag: '--compilers-above-objects <n>',
    env: 'GLOBALSVC_COMPILERS_ABOVE_OBJECTS',
    help: "turn V8's compilers on (Sparkplug and Maglev; Turbofan stays off), and its old generation to grow 20% between full collections, once the caches hold this many objects, or the event loop has been busy half of the last 30s (it starts on V8's interpreter alone, and asks V8 for full collections of its small heap until then; 0 = from the start)",
    default: '5000',
  },
  {
    key: 'leaderElect',
    flag: '--leader-elect <bool>',
    env: 'GLOBALSVC_LEADER_ELECT',
    help: 'elect one writer among replicas with a coordination.k8s.io Lease (on in the manifests)',
    default: 'false',
  },
  {
    key: 'leaderElectNamespace',
    flag: '--leader-elect-namespace <ns>',
    env: 'GLOBALSVC_LEADER_ELECT_NAMESPACE',
    help: "namespace of the Lease (the manifests pass the pod's own)",
    default: 'globalsvc',
  },
  {
    key: 'leaderElectLeaseName',
    flag: '--leader-elect-lease-name <name>',
    env: 'GLOBALSVC_LEADER_ELECT_LEASE_NAME',
    help: 'name of the Lease',
    default: 'globalsvc',
  },
  {
    key: 'leaseDuration',
    flag: '--lease-duration <duration>',
    env: 'GLOBALSVC_LEASE_DURATION',
    help: 'how long a lease holds without renewal; a standby takes over after it',
    default: '15s',
  },
  {
    key: 'renewDeadline',
    flag: '--renew-deadline <duration>',
    env: 'GLOBALSVC_RENEW_DEADLINE',
    help: 'a leader that has not renewed for this long stops writing',
    default: '10s',
  },
  {
    key: 'retryPeriod',
    flag: '--retry-period <duration>',
    env: 'GLOBALSVC_RETRY_PERIOD',
    help: 'how often to try to acquire or renew the lease',
    default: '2s',
  },
  {
    key: 'metricsAddr',
    flag: '--metrics-addr <addr>',
    env: 'GLOBALSVC_METRICS_ADDR',
    help: 'Prometheus /metrics listen address',
    default: ':9090',
  },
  {
    key: 'healthAddr',
    flag: '--health-addr <addr>',
    env: 'GLOBALSVC_HEALTH_ADDR',
    help: '/healthz and /readyz listen address',
    default: ':8081',
  },
  { key: 'logLevel', flag: '--log-level <level>', env: 'GLOBALSVC_LOG_LEVEL', help: 'trace, debug, info, warn or error', default: 'info' },
  {
    key: 'burst',
    flag: '--burst <bool>',
    env: 'GLOBALSVC_BURST',
    help: 'act on BurstPolicies: replicate workloads into peers and shift traffic (needs the CRD, --prometheus-url and the burst RBAC)',
    default: 'false',
  },
  {
    key: 'prometheusUrl',
    flag: '--prometheus-url <url>',
    env: 'GLOBALSVC_PROMETHEUS_URL',
    help: 'the Prometheus BurstPolicies read their metric from (required with --burst=true)',
  },
  {
    key: 'peerSecret',
    flag: '--peer-secret <namespace/name>',
    env: 'GLOBALSVC_PEER_SECRET',
    help: "the Secret holding a peer's kubeconfig (key kubeconfig); {peer} is the peer's name (default: Linkerd's Link secrets)",
    default: 'linkerd-multicluster/cluster-credentials-{peer}',
  },
] as const;

/** Adds the options named by `keys` (all by default) to a command. */
export function addOptions(command: Command, keys?: readonly (typeof OPTIONS)[number]['key'][]): Command {
  for (const o of OPTIONS) {
    if (keys && !keys.includes(o.key)) continue;
    const option = new Option(o.flag, o.help).env(o.env);
    if ('default' in o) option.default(o.default);
    command.addOption(option);
  }
  return command;
}
