import { describe, inject } from 'vitest';
import { e2eProvider } from '../testbed/provider.js';
import { TestBed } from '../testbed/testbed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the chosen provider cannot run here (set by the global setup), or '' when it can. */
    bedUnavailable: string;
  }
}

let shared: Promise<TestBed> | undefined;

/**
 * The one test bed of an e2e run, brought up on first use and shared by every scenario file
 * (vitest runs them in one process, one after another). It is torn down when that process exits,
 * and again from the global setup's teardown should anything survive.
 */
export function testBed(): Promise<TestBed> {
  shared ??= TestBed.up({ name: 'e2e', provider: e2eProvider() });
  return shared;
}

/**
 * A scenario on the test bed: skipped, never passed, when the chosen provider cannot run here
 * (the global setup has said why, loudly).
 */
export const describeOnBed = describe.skipIf(inject('bedUnavailable') !== '');

/** A scenario that stops, kills or restarts the clusters' own processes: the local provider only. */
export const describeOnLocalBed = describe.skipIf(inject('bedUnavailable') !== '' || e2eProvider() !== 'local');
