import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries, testbedDir } from './testbed/binaries.js';
import { TestBed } from './testbed/testbed.js';

/**
 * Before the e2e run: the pinned upstream binaries (built into their cache when missing) and a
 * clean slate (whatever an interrupted run left). After: nothing left running, and the test bed's
 * peak memory printed.
 */
export default function setup() {
  const started = Date.now();
  const binaries = ensureBinaries();
  process.stderr.write(`e2e: binaries ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  TestBed.cleanLeftovers('e2e', binaries);
  return () => {
    const stats = join(testbedDir('e2e'), 'stats.json');
    if (existsSync(stats)) {
      const s = JSON.parse(readFileSync(stats, 'utf8')) as { peakMemoryBytes: number; timings: Record<string, number> };
      process.stderr.write(
        `e2e: test bed peak memory ${(s.peakMemoryBytes / 2 ** 20).toFixed(0)} MiB; bring-up ${JSON.stringify(s.timings)}\n`,
      );
    }
    TestBed.cleanLeftovers('e2e', binaries, false);
    process.stderr.write(`e2e: logs of the test bed's processes are in ${join(testbedDir('e2e'), 'logs')}\n`);
  };
}
