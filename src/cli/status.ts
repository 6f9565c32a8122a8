import { Option, type Command } from 'commander';
import { parseConfig, type Config } from '../config.js';
import { ENDPOINT_SLICES, KubeApi, KubeApiError, LINKS, NAMESPACES, SECRETS, SERVICES } from '../cluster/kube-api.js';
import { linkInfo, type LinkObject } from '../domain/links.js';
import { kubeconfigOf, type CredentialsSecret } from '../cluster/credentials.js';
import type { EndpointSlice, Service } from '../domain/k8s-types.js';
import { statusReport, type Listed } from '../status/report.js';
import { renderTable } from '../status/table.js';
import { addOptions } from './options.js';
import { connect, UsageError } from './program.js';

/** How to reach the cluster, and the options of `run` that decide what the controller publishes. */
const STATUS_OPTIONS = [
  'clusterName',
  'kubeconfig',
  'context',
  'namespaces',
  'includeLocal',
  'remoteDiscovery',
  'globalSuffix',
  'maxEndpointsPerSlice',
] as const;

const EXIT_STATUSES = `
Exit status: 0 when no global has a problem, 1 when any has (out of date, blocked, stale cluster,
unsupported or rejected mirror, port conflict, ...), 2 on a usage, configuration or connection error.
Pass the --global-suffix, --include-local and --max-endpoints-per-slice the controller runs with
(or its GLOBALSVC_* environment), or "out of date" compares against other settings.`;

/** Every Service and EndpointSlice of the namespaces (all by default), and the Links, listed once: no watch, no write. */
async function readCluster(config: Config): Promise<Listed> {
  let server = 'the cluster';
  try {
    const api = connect(config);
    server = api.server;
    const scopes = config.namespaces.length > 0 ? config.namespaces : [undefined];
    const [lists, links] = await Promise.all([
      Promise.all(scopes.map((ns) => Promise.all([api.listAll<Service>(SERVICES, ns), api.listAll<EndpointSlice>(ENDPOINT_SLICES, ns)]))),
      // Without the Link CRD or the right to read Links, what only they tell is not told.
      api.listAll<LinkObject>(LINKS, undefined).then(
        async (l) => ({ links: l.items, namespaces: (await api.listAll(NAMESPACES, undefined)).items.map((n) => n.metadata.name ?? '') }),
        (err: unknown) => {
          if (err instanceof KubeApiError && (err.notFound || err.status === 403)) return undefined;
          throw err;
        },
      ),
    ]);
    return {
      namespaces: config.namespaces,
      services: lists.flatMap(([services]) => services.items),
      slices: lists.flatMap(([, slices]) => slices.items),
      ...(links ? { links: links.links, existingNamespaces: links.namespaces } : {}),
      ...(config.remoteDiscovery ? { direct: await readLinkedClusters(api, links?.links ?? []) } : {}),
    };
  } catch (err) {
    throw new UsageError(`cannot read ${server}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** With --remote-discovery: every Link's cluster, read once with the Link's credentials Secret as the controller reads it. */
async function readLinkedClusters(api: KubeApi, links: readonly LinkObject[]): Promise<NonNullable<Listed['direct']>> {
  return Promise.all(
    links.flatMap((l) => {
      const info = linkInfo(l);
      if (!info?.remoteDiscovery) return [];
      const { selector, credentials } = info.remoteDiscovery;
      const read = async () => {
        const ref = `${credentials.namespace}/${credentials.name}`;
        const kc = kubeconfigOf(await api.get<CredentialsSecret>(SECRETS, credentials.namespace, credentials.name), ref);
        if (typeof kc === 'string') throw new Error(kc);
        const remote = new KubeApi(kc, undefined, 'globalsvc-status');
        const [services, slices] = await Promise.all([
          remote.listAll<Service>(SERVICES, undefined, { labelSelector: selector }),
          remote.listAll<EndpointSlice>(ENDPOINT_SLICES, undefined),
        ]);
        return { cluster: info.cluster, link: info.ref, services: services.items, slices: slices.items };
      };
      return [
        read().catch((err: unknown) => ({
          cluster: info.cluster,
          link: info.ref,
          services: [],
          slices: [],
          error: (err as Error).message,
        })),
      ];
    }),
  );
}

/** `status`: reads the cluster once and prints every global's members, endpoints and problems. */
export function addStatusCommand(program: Command): Command {
  const command = program
    .command('status')
    .description("print every global's members per cluster, endpoints and problems, from one read of the cluster; changes nothing")
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .option('-n, --namespace <name>', 'one namespace (like --namespaces=<name>)')
    .addHelpText('after', EXIT_STATUSES);
  return addOptions(command, STATUS_OPTIONS).action(async (opts: { output: string; namespace?: string }, cmd: Command) => {
    const config = parseConfig({ ...cmd.opts(), ...(opts.namespace ? { namespaces: opts.namespace } : {}) });
    const report = statusReport(await readCluster(config), {
      localCluster: config.clusterName,
      globalSuffix: config.globalSuffix,
      maxEndpointsPerSlice: config.maxEndpointsPerSlice,
      includeLocal: config.includeLocal,
    });
    process.stdout.write(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report));
    if (report.summary.problems > 0) process.exitCode = 1;
  });
}
