// npm run bench -- [--quick] [--json] [--only cold,churn,steady,growth] [sizes...]
// The benchmark suite on the real test bed; every figure beside a floor measured in the same run.
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { BenchBed } from './bed.js';
import { coldStart, type ColdResult } from './cold.js';
import { churn, type ChurnResult } from './churn.js';
import { steady, type SteadyResult } from './steady.js';
import { growth, type GrowthResult } from './growth.js';
import { renderTables } from './report.js';
import { rssAtExitMiB } from './proc.js';
import { ENTRYPOINT, NODE_FLAGS, PROCESS_ENV } from '../src/cli/node-flags.js';
import { repoRoot } from '../e2e/testbed/binaries.js';

const MEASUREMENTS = ['cold', 'churn', 'steady', 'growth'] as const;
type Measurement = (typeof MEASUREMENTS)[number];

const list = (value: string) =>
  value.split(',').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a whole number`);
    return n;
  });
const only = (value: string): Measurement[] =>
  value.split(',').map((v) => {
    if (!(MEASUREMENTS as readonly string[]).includes(v)) throw new InvalidArgumentError(`"${v}" is not one of ${MEASUREMENTS.join(', ')}`);
    return v as Measurement;
  });

export interface Sizes {
  coldGlobals: number[];
  endpointsPerMember: number;
  churnGlobals: number;
  churnRate: number;
  churnSeconds: number;
  batchPeriods: number[];
  burst: number;
  steadySeconds: number;
  growthGlobals: number[];
  growthEndpoints: number[];
  growthEndpointsGlobals: number;
  /**
   * Growth: globals per namespace. A larger point spreads its members over namespaces of this many
   * globals, as real clusters spread Services: kube-controller-manager's EndpointSlice mirroring
   * controller lists a namespace's slices at each sync of a selectorless Service, so one namespace
   * costs it in proportion to the square of its globals (docs/benchmarks.md).
   */
  growthNamespaceGlobals: number;
}

const FULL: Sizes = {
  coldGlobals: [100, 1000, 5000, 10000],
  endpointsPerMember: 4,
  churnGlobals: 10000,
  churnRate: 200,
  churnSeconds: 60,
  batchPeriods: [0, 10, 50, 200, 500],
  burst: 4,
  steadySeconds: 600,
  growthGlobals: [100, 1000, 5000, 10000],
  growthEndpoints: [1, 10, 100, 1000],
  growthEndpointsGlobals: 100,
  growthNamespaceGlobals: 10_000,
};

const QUICK: Sizes = {
  coldGlobals: [1000],
  endpointsPerMember: 4,
  churnGlobals: 200,
  churnRate: 20,
  churnSeconds: 8,
  batchPeriods: [0, 50, 200],
  burst: 4,
  steadySeconds: 20,
  growthGlobals: [100, 1000],
  growthEndpoints: [1, 100],
  growthEndpointsGlobals: 20,
  growthNamespaceGlobals: 10_000,
};

const program = new Command('bench')
  .description('globalsvc benchmarks on the real test bed, each figure beside a floor measured in the same run')
  .option('--quick', 'small sizes: the whole suite in under 5 minutes on 2 cores')
  .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
  .option('--only <measurements>', `comma-separated subset of ${MEASUREMENTS.join(',')}`, only)
  .option('--globals <list>', 'cold start: global counts to sweep', list)
  .option('--endpoints <n>', 'endpoints per member', (v) => list(v)[0]!)
  .option('--churn-globals <n>', 'churn and steady state: globals', (v) => list(v)[0]!)
  .option('--rate <n>', 'churn: changes per second', (v) => list(v)[0]!)
  .option('--churn-seconds <n>', 'churn: seconds per batch period', (v) => list(v)[0]!)
  .option('--batch-periods <list>', 'churn: --batch-period values in ms to compare', list)
  .option('--steady-seconds <n>', 'steady state: seconds without changes', (v) => list(v)[0]!)
  .option('--growth-globals <list>', 'growth: global counts', list)
  .option('--growth-endpoints <list>', 'growth: endpoints per member', list)
  .option('--growth-namespace-globals <n>', 'growth: globals per namespace (a larger point spreads over namespaces)', (v) => list(v)[0]!)
  .option('--product-node-options <flags>', "NODE_OPTIONS for globalsvc's process (e.g. V8 heap flags)", '')
  .option('--product-args <flags>', 'more flags for `globalsvc run` (e.g. "--workers=16"), space separated', '')
  .option(
    '--product-memory-limit <MiB>',
    "hold globalsvc's process to this much memory in a cgroup, as a Pod's limit would",
    (v) => list(v)[0]!,
  )
  .parse();

const opts = program.opts<{
  quick?: boolean;
  json?: boolean;
  only?: Measurement[];
  globals?: number[];
  endpoints?: number;
  churnGlobals?: number;
  rate?: number;
  churnSeconds?: number;
  batchPeriods?: number[];
  steadySeconds?: number;
  growthGlobals?: number[];
  growthEndpoints?: number[];
  growthNamespaceGlobals?: number;
  productNodeOptions: string;
  productArgs: string;
  productMemoryLimit?: number;
}>();
const base = opts.quick ? QUICK : FULL;
const sizes: Sizes = {
  ...base,
  coldGlobals: opts.globals ?? base.coldGlobals,
  endpointsPerMember: opts.endpoints ?? base.endpointsPerMember,
  churnGlobals: opts.churnGlobals ?? base.churnGlobals,
  churnRate: opts.rate ?? base.churnRate,
  churnSeconds: opts.churnSeconds ?? base.churnSeconds,
  batchPeriods: opts.batchPeriods ?? base.batchPeriods,
  steadySeconds: opts.steadySeconds ?? base.steadySeconds,
  growthGlobals: opts.growthGlobals ?? base.growthGlobals,
  growthEndpoints: opts.growthEndpoints ?? base.growthEndpoints,
  growthNamespaceGlobals: opts.growthNamespaceGlobals ?? base.growthNamespaceGlobals,
};
const selected = new Set<Measurement>(opts.only ?? MEASUREMENTS);
const log = (line: string) => process.stderr.write(`${line}\n`);

export interface BenchResults {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; freeMemoryGiB: number; node: string; load: number[] };
  quick: boolean;
  productNodeOptions: string;
  productArgs: string;
  /** MiB, when the product ran under a memory limit. */
  productMemoryLimitMiB: number | undefined;
  sizes: Sizes;
  wallSeconds: number;
  /** RSS of Node alone and of globalsvc's bundle loaded (nothing listed yet), with globalsvc's V8 flags and environment: the fixed cost under every size. */
  fixedCost: { nodeMiB: number; loadedMiB: number; fileBackedMiB: number };
  cold?: ColdResult[];
  churn?: ChurnResult[];
  steady?: SteadyResult;
  growth?: GrowthResult;
}

function fixedCost(): BenchResults['fixedCost'] {
  const node = rssAtExitMiB(NODE_FLAGS, ['-e', '0'], PROCESS_ENV);
  const loaded = rssAtExitMiB(NODE_FLAGS, [join(repoRoot, ENTRYPOINT), '--version'], PROCESS_ENV);
  return { nodeMiB: node.rssMiB, loadedMiB: loaded.rssMiB, fileBackedMiB: loaded.fileMiB };
}

const started = Date.now();
const { loadavg } = await import('node:os');
const results: BenchResults = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    node: process.version,
    load: loadavg().map((l) => +l.toFixed(2)),
  },
  quick: !!opts.quick,
  productNodeOptions: opts.productNodeOptions,
  productArgs: opts.productArgs,
  productMemoryLimitMiB: opts.productMemoryLimit,
  sizes,
  wallSeconds: 0,
  fixedCost: fixedCost(),
};

const bed = await BenchBed.up(log);
bed.productNodeOptions = opts.productNodeOptions;
bed.productArgs = opts.productArgs.split(' ').filter(Boolean);
bed.productMemoryLimitMiB = opts.productMemoryLimit;
try {
  const cold = new Map<string, ColdResult>();
  const coldOf = async (g: number, e: number, withWriteFloor = false) => {
    const id = `${g}x${e}`;
    // The cold table's points (write floors) stay in one namespace; growth's spread beyond growthNamespaceGlobals.
    const perNamespace = withWriteFloor ? Infinity : sizes.growthNamespaceGlobals;
    if (!cold.has(id)) cold.set(id, await coldStart(bed, g, e, log, withWriteFloor, perNamespace));
    return cold.get(id)!;
  };
  if (selected.has('cold')) {
    results.cold = [];
    for (const g of sizes.coldGlobals) results.cold.push(await coldOf(g, sizes.endpointsPerMember, true));
  }
  if (selected.has('churn') || selected.has('steady')) {
    const ns = `churn-${sizes.churnGlobals}x${sizes.endpointsPerMember}`;
    if (selected.has('churn')) results.churn = await churn(bed, ns, sizes, log);
    if (selected.has('steady')) results.steady = await steady(bed, ns, sizes, log);
  }
  if (selected.has('growth')) results.growth = await growth(sizes, coldOf);
} finally {
  await bed.down();
}
results.wallSeconds = (Date.now() - started) / 1000;
if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else process.stdout.write(renderTables(results));
