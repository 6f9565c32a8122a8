// `npm run soak -- --duration 60m [--seed <n>] [--rate <changes/s>] [--json]`: brings the 3-cluster
// test bed up, runs the chaos soak (soak.ts) and prints its report; exits 1 on any violation or
// unexpected restart. docs/soak.md.
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestBed } from '../testbed/testbed.js';
import { soak, type SoakReport } from './soak.js';

const duration = (value: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`--duration ${value}: a number and a unit (90s, 5m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
};

const program = new Command('soak')
  .description('Churn and faults on the 3-cluster test bed, checked by an independent oracle')
  .option('--duration <d>', 'how long to churn (90s, 5m, 1h)', '5m')
  .option('--seed <n>', 'the schedule of changes and faults (random when not given)')
  .option('--rate <n>', 'changes per second', '5')
  .option('--check-period <d>', 'how often the oracle looks', '5s')
  .option('--json', 'print the report as JSON')
  .parse();
const opts = program.opts<{ duration: string; seed?: string; rate: string; checkPeriod: string; json?: boolean }>();
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31);

const bed = await TestBed.up({ name: 'soak' });
let report: SoakReport;
try {
  report = await soak(bed, {
    durationMs: duration(opts.duration),
    seed,
    rate: Number(opts.rate),
    checkPeriodMs: duration(opts.checkPeriod),
  });
} finally {
  await bed.down();
}
writeFileSync(join(bed.dir, 'soak-report.json'), JSON.stringify(report, null, 2));
if (opts.json) console.log(JSON.stringify(report, null, 2));
else {
  const d = (x: { count: number; p50: number; p99: number; max: number }) =>
    `n=${x.count} p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max} ms`;
  console.log(
    `soak: seed ${report.seed}, ${report.durationSeconds} s at ${report.rate} changes/s (replay: npm run soak -- --seed ${report.seed} --duration ${opts.duration})`,
  );
  console.log(`  changes: ${JSON.stringify(report.changes)}, refused (a cluster away, nothing to act on): ${report.changesRefused}`);
  console.log(`  faults: ${JSON.stringify(report.faults)}`);
  console.log(`  oracle: ${report.checks} rounds, ${report.viewersUnchecked} cluster views unreadable (their API away)`);
  console.log(`  time to correct after a change: ${d(report.timeToCorrectAfterChangeMs)}`);
  console.log(`  time to correct after a fault heals: ${d(report.timeToCorrectAfterHealMs)}`);
  console.log(`  lifetime of a difference: ${d(report.differenceLifetimeMs)}`);
  console.log(`  API writes per change: ${report.apiWritesPerChange.toFixed(2)}`);
  for (const [id, r] of Object.entries(report.rssMiB))
    console.log(`  RSS of globalsvc ${id}: start ${r.start} MiB, end ${r.end} MiB, max ${r.max} MiB`);
  console.log(`  restarts of globalsvc not made by the soak: ${report.unexpectedRestarts}`);
  console.log(
    `  Linkerd mirrors wedged after winning their lease back (upstream Linkerd; excused nothing): ${report.mirrorWedges.length}` +
      report.mirrorWedges.map((w) => ` ${w.mirror} at +${w.atSeconds} s for ${w.lastedSeconds} s`).join(','),
  );
  console.log(`  not exercised: ${report.notTried.join('; ')}`);
  console.log(`  violations: ${report.violations.length}`);
  for (const v of report.violations) console.log(`    ${JSON.stringify(v)}`);
}
process.exit(report.violations.length > 0 || report.unexpectedRestarts > 0 ? 1 : 0);
