import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, type Config } from '../config.js';
import { KubeApi, loadKubeConfig } from '../cluster/kube-api.js';
import { requestCounter, type Metrics } from '../observability/metrics.js';

// What every entry point shares: the version, the connection to the cluster, and one policy for
// exit statuses (usage, configuration and connection errors are 2; commands decide 0 and 1).

/** Set by hack/bundle.mjs in the bundles the image ships, which have no package.json beside them. */
declare const GLOBALSVC_VERSION: string | undefined;

export const version =
  typeof GLOBALSVC_VERSION === 'string'
    ? GLOBALSVC_VERSION
    : (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** An error the user can act on (an unreachable cluster, a refused list): its message, no stack, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The cluster's API, with every request counted in `metrics` when given. */
export function connect(config: Config, metrics?: Metrics): KubeApi {
  const kc = loadKubeConfig({ kubeconfig: config.kubeconfig, context: config.context });
  return new KubeApi(kc, metrics ? requestCounter(metrics)(config.clusterName) : undefined, `globalsvc/${version}`);
}

/** A program whose usage errors throw (see `execute`) instead of exiting with commander's status 1. */
export function newProgram(name: string, description: string): Command {
  return new Command(name).description(description).version(version, '--version').showHelpAfterError().exitOverride();
}

/** Runs the command the arguments name; every usage, configuration or connection error exits 2. */
export function execute(program: Command): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    // commander has printed the usage error, or the help and version asked for.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (err instanceof ConfigError || err instanceof UsageError) process.stderr.write(`${program.name()}: ${err.message}\n`);
    else process.stderr.write(`${program.name()}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
