import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBinaries, testbedDir } from './testbed/binaries.js';
import { e2eProvider, prepare, release } from './testbed/provider.js';
import { TestBed } from './testbed/testbed.js';

/**
 * Before the e2e run: the pinned upstream binaries (built into their cache when missing) and a
 * clean slate (whatever an interrupted run left). After: nothing left running, and the test bed's
 * peak memory printed.
 */
export default async function setup(project: TestProject) {
  const provider = e2eProvider();
  const ready = prepare(provider, (line) => process.stderr.write(`${line}\n`));
  // The test workers are forked from this process afterwards, with its environment.
  if (ready.image) process.env.E2E_KIND_IMAGE = ready.image;
  if (ready.productImage) process.env.E2E_PRODUCT_IMAGE = ready.productImage;
  const why = ready.unavailable ?? '';
  project.provide('bedUnavailable', why);
  if (why) {
    const line = '!'.repeat(100);
    process.stderr.write(
      `${line}\ne2e: E2E_PROVIDER=${provider} cannot run here: ${why}.\ne2e: EVERY scenario on the test bed is SKIPPED, none passed (those needing no cluster still run). Unset E2E_PROVIDER to use the local binaries.\n${line}\n`,
    );
    return;
  }
  process.stderr.write(`e2e: provider ${provider}\n`);
  const started = Date.now();
  const binaries = ensureBinaries();
  process.stderr.write(`e2e: binaries ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  TestBed.cleanLeftovers('e2e', binaries);
  // Killed from outside (a CI or `timeout` limit): the test worker holding the bed may die without
  // its exit handlers, and kwok's cluster processes are detached. The bed's pid file and kwok's
  // cluster list say what to kill, so this process does it before it goes.
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`e2e: ${signal}: tearing the test bed down\n`);
      TestBed.cleanLeftovers('e2e', binaries, false);
      release(provider);
      process.exit(code);
    });
  }
  return () => {
    const stats = join(testbedDir('e2e'), 'stats.json');
    if (existsSync(stats)) {
      const s = JSON.parse(readFileSync(stats, 'utf8')) as { peakMemoryBytes: number; timings: Record<string, number> };
      process.stderr.write(
        `e2e: test bed peak memory ${(s.peakMemoryBytes / 2 ** 20).toFixed(0)} MiB; bring-up ${JSON.stringify(s.timings)}\n`,
      );
    }
    TestBed.cleanLeftovers('e2e', binaries, false);
    release(provider);
    process.stderr.write(`e2e: logs of the test bed's processes are in ${join(testbedDir('e2e'), 'logs')}\n`);
  };
}
