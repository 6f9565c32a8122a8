import { TestBed } from '../testbed/testbed.js';

let shared: Promise<TestBed> | undefined;

/**
 * The one test bed of an e2e run, brought up on first use and shared by every scenario file
 * (vitest runs them in one process, one after another). It is torn down when that process exits,
 * and again from the global setup's teardown should anything survive.
 */
export function testBed(): Promise<TestBed> {
  shared ??= TestBed.up({ name: 'e2e' });
  return shared;
}
