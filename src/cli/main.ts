#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { parseConfig, type Config } from '../config.js';
import type { KubeApi } from '../cluster/kube-api.js';
import { LeaderElector } from '../cluster/leader-election.js';
import { BurstController } from '../burst/controller.js';
import { Leadership } from '../cluster/leadership.js';
import { Controller } from '../engine/controller.js';
import { describeWrite } from '../domain/plan.js';
import { Compilers, DEFAULT_THRESHOLDS, describeReason } from '../observability/compilers.js';
import { fullCollection, SmallHeap } from '../observability/small-heap.js';
import { EventRecorder } from '../observability/events.js';
import { startHttpServers } from '../observability/http-server.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics, requestCounter } from '../observability/metrics.js';
import { addOptions } from './options.js';
import { connect, execute, newProgram, version } from './program.js';
import { addStatusCommand } from './status.js';

/** How long SIGTERM waits for reconciles in flight before giving up on them. */
const SHUTDOWN_GRACE_MS = 20_000;

async function run(config: Config, log: Logger): Promise<void> {
  const metrics = new Metrics();
  const api = connect(config, metrics);
  log.info(
    { cluster: config.clusterName, server: api.server, namespaces: config.namespaces.length ? config.namespaces : 'all', version },
    'starting globalsvc',
  );
  const identity = `${hostname()}_${randomUUID().slice(0, 8)}`;
  // The one gate every write asks, Events included; without leader election this replica leads.
  const leadership = new Leadership(!config.leaderElect);
  const recorder = new EventRecorder(
    api,
    log.child({ component: 'events' }),
    metrics,
    `globalsvc-${config.clusterName}-${identity}`,
    undefined,
    undefined,
    leadership,
  );
  const controller = new Controller(api, config, log.child({ cluster: config.clusterName }), metrics, recorder, leadership);
  const bursting = config.burst
    ? new BurstController(
        api,
        { ...config, prometheusUrl: config.prometheusUrl! },
        log.child({ component: 'burst' }),
        recorder,
        (event) => controller.lifecycle(event),
        leadership,
        controller,
        metrics,
        requestCounter(metrics),
      )
    : undefined;
  const elector = config.leaderElect
    ? electLeader(api, config, identity, leadership, log.child({ component: 'leader-election' }))
    : undefined;
  const http = await startHttpServers(
    metrics,
    { healthy: () => true, ready: () => controller.ready },
    config.metricsAddr,
    config.healthAddr,
  );
  log.info({ metricsPort: http.metricsPort, healthPort: http.healthPort }, 'serving metrics and probes');
  controller.start();
  const compilers = startCompilers(controller, config, log, metrics);
  bursting?.start();
  elector?.start();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: no new work; finishing writes in flight');
      const deadline = setTimeout(() => {
        log.error('shutdown grace period over; exiting with writes in flight');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      deadline.unref();
      compilers.stop();
      Promise.all([controller.stop(), bursting?.stop()])
        .then(() => elector?.release())
        .then(() => http.close())
        .then(
          () => {
            log.info('stopped');
            resolve();
          },
          (err: unknown) => {
            log.error({ err }, 'error while stopping');
            resolve();
          },
        );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * V8's compilers, off at start (src/cli/node-flags.ts), on once there is work for them; until then
 * the heap kept small by collections asked for (src/observability/small-heap.ts).
 */
function startCompilers(controller: Controller, config: Config, log: Logger, metrics: Metrics): { stop(): void } {
  let smallHeap: SmallHeap | undefined;
  const compilers = new Compilers(
    () => controller.index.cachedObjects,
    (reason) => {
      smallHeap?.stop();
      metrics.compilers.set(1);
      log.info({ reason: describeReason(reason) }, "V8's compilers on");
    },
    { ...DEFAULT_THRESHOLDS, objects: config.compilersAboveObjects },
  );
  metrics.compilers.set(0);
  compilers.start();
  if (!compilers.on) {
    const collect = fullCollection();
    if (collect) smallHeap = new SmallHeap(collect, () => metrics.smallHeapCollections.inc());
    else log.warn('this Node gives no way to ask V8 for a full collection: V8 alone sizes the heap while its compilers are off');
    smallHeap?.start();
  }
  return {
    stop() {
      compilers.stop();
      smallHeap?.stop();
    },
  };
}

function electLeader(api: KubeApi, config: Config, identity: string, leadership: Leadership, log: Logger): LeaderElector {
  const lease = { namespace: config.leaderElectNamespace, name: config.leaderElectLeaseName };
  log.info({ ...lease, identity }, 'standing by until this replica holds the lease');
  return new LeaderElector(
    api,
    { ...lease, identity, leaseDurationMs: config.leaseDuration, renewDeadlineMs: config.renewDeadline, retryPeriodMs: config.retryPeriod },
    {
      startedLeading: () => {
        log.info({ identity }, 'became leader: reconciling every global');
        leadership.set(true);
      },
      stoppedLeading: (reason) => {
        log.warn({ identity, reason }, 'stopped leading: no more writes');
        leadership.set(false);
      },
      attemptFailed: (err) => log.warn({ err: (err as Error).message }, 'lease attempt failed'),
    },
  );
}

async function plan(config: Config, log: Logger, output: string): Promise<void> {
  const metrics = new Metrics();
  const api = connect(config, metrics);
  const recorder = new EventRecorder(undefined, log, metrics, 'globalsvc-plan');
  const controller = new Controller(api, config, log, metrics, recorder);
  // Fill the caches the way `run` does, then plan every key without writing anything.
  controller.start();
  const compilers = startCompilers(controller, config, log, metrics);
  await controller.synced;
  compilers.stop();
  await controller.stop();
  const plans = [...controller.index.knownKeys()].sort().map((key) => controller.reconciler.plan(key));
  if (output === 'json') {
    process.stdout.write(
      `${JSON.stringify(
        plans.map((p) => ({ key: `${p.key.namespace}/${p.key.name}`, global: p.globalName, writes: p.writes, problems: p.problems })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  let writes = 0;
  for (const p of plans) {
    writes += p.writes.length;
    const head = `${p.key.namespace}/${p.key.name} → ${p.globalName}`;
    const status =
      p.writes.length === 0
        ? 'up to date'
        : `${p.writes.length} write(s)${p.awaitingService ? ' (slices follow once the Service exists)' : ''}`;
    process.stdout.write(`${head}: ${status}\n`);
    for (const w of p.writes) process.stdout.write(`  ${describeWrite(w)}\n`);
    for (const problem of p.problems) process.stdout.write(`  ! ${problem.reason}: ${problem.message}\n`);
  }
  process.stdout.write(`${plans.length} global(s), ${writes} write(s) planned; nothing was changed\n`);
}

function configFrom(command: Command): Config {
  return parseConfig(command.opts());
}

const program = newProgram(
  'globalsvc',
  'One headless <name>-global Service per multi-cluster service, with the endpoints of every linked cluster merged into its EndpointSlices.',
);

addOptions(program.command('run').description('run the controller')).action(async (_opts, command: Command) => {
  const config = configFrom(command);
  await run(config, createLogger(config.logLevel));
});

addOptions(
  program
    .command('plan')
    .description('print the writes a reconcile would make now; changes nothing')
    .option('-o, --output <format>', 'text or json', 'text'),
).action(async (opts: { output: string }, command: Command) => {
  const config = configFrom(command);
  await plan(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr), opts.output);
});

addStatusCommand(program);

program
  .command('version')
  .description('print the version')
  .action(() => void process.stdout.write(`globalsvc ${version}\n`));

execute(program);
