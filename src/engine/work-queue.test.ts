import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../cluster/kube-api.js';
import { NotLeaderError } from '../cluster/error-policy.js';
import { WorkQueue } from './work-queue.js';

const options = { workers: 2, batchPeriodMs: 20, retryInitialMs: 10, retryMaxMs: 40 };
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the keyed work queue', () => {
  it('coalesces a burst of adds for one key into one reconcile', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => void runs.push(k), options);
    for (let i = 0; i < 50; i++) q.add('a');
    q.add('b');
    await tick(5);
    expect(runs).toEqual([]); // still inside the batch period
    await q.drained();
    expect(runs.sort()).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and reruns a key dirtied while it ran', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const q = new WorkQueue(async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await tick(30);
      concurrent--;
    }, options);
    q.add('a');
    await tick(30); // running now
    q.add('a');
    q.add('a');
    await q.drained();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
  });

  it('bounds concurrency across keys by the number of workers', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const q = new WorkQueue(async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await tick(10);
      concurrent--;
    }, options);
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await q.drained();
    expect(maxConcurrent).toBe(2);
  });

  it('runs startWorkers at once until it first empties, then workers', async () => {
    const told: number[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const q = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick(10);
        concurrent--;
      },
      { ...options, workers: 4, startWorkers: 1 },
      { started: (workers) => told.push(workers) },
    );
    expect(q.concurrency).toBe(1);
    for (let i = 0; i < 5; i++) q.add(`cold${i}`);
    await q.drained();
    expect(maxConcurrent).toBe(1);
    expect(q.concurrency).toBe(4);
    expect(told).toEqual([4]);
    maxConcurrent = 0;
    for (let i = 0; i < 10; i++) q.add(`later${i}`);
    await q.drained();
    expect(maxConcurrent).toBe(4);
    expect(told).toEqual([4]);
    // A new leader's pass over every key starts low again.
    q.startPass();
    expect(q.concurrency).toBe(1);
    maxConcurrent = 0;
    for (let i = 0; i < 5; i++) q.add(`takeover${i}`);
    await q.drained();
    expect(maxConcurrent).toBe(1);
    expect(told).toEqual([4, 4]);
  });

  it('holds a named pass at startWorkers until each of its keys has run, though each writes nothing', async () => {
    // A reconcile that writes nothing is done before the next key's batch period is out: the queue
    // is empty between keys, and "emptied" would end the pass after its first key.
    const told: number[] = [];
    const seen: number[] = [];
    const q = new WorkQueue(
      async () => void seen.push(q.concurrency),
      { ...options, batchPeriodMs: 20, workers: 4, startWorkers: 1 },
      { started: (workers) => told.push(workers) },
    );
    const keys = ['a', 'b', 'c', 'd', 'e'];
    q.startPass(new Set(keys));
    for (const [i, key] of keys.entries()) q.addAfter(key, 20 + 10 * i);
    await tick(45);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(5);
    expect(told).toEqual([]);
    await q.drained();
    expect(seen).toEqual([1, 1, 1, 1, 1]);
    expect(told).toEqual([4]);
    expect(q.concurrency).toBe(4);
    // A pass of no keys is over at once.
    q.startPass(new Set());
    expect(q.concurrency).toBe(4);
    expect(told).toEqual([4, 4]);
  });

  it('tells how long each key waited for a worker once ready, not its batch period', async () => {
    let clock = 1_000_000;
    const waits: number[] = [];
    const release: (() => void)[] = [];
    const q = new WorkQueue(
      () => new Promise<void>((r) => release.push(r)),
      { ...options, workers: 1, batchPeriodMs: 0 },
      { waited: (ms) => waits.push(ms) },
      () => clock,
    );
    q.add('a'); // runs at once: the one worker is free
    q.add('b'); // ready, but waits for the worker
    await tick(1);
    expect(waits).toEqual([0]);
    clock += 70;
    release.shift()!();
    await tick(1);
    expect(waits).toEqual([0, 70]);
    release.shift()!();
    await q.drained();
    // A batch period is not a wait for a worker: only the time after it counts.
    const batched = new WorkQueue(
      async () => {},
      { ...options, batchPeriodMs: 20 },
      { waited: (ms) => waits.push(ms) },
      () => clock,
    );
    batched.add('c');
    await batched.drained();
    expect(waits).toEqual([0, 70, 0]);
  });

  it('retries a failing key with growing delays until it succeeds', async () => {
    const attempts: number[] = [];
    const retries: number[] = [];
    const q = new WorkQueue(
      async () => {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error('409 Conflict');
      },
      options,
      { retry: (_k, attempt) => retries.push(attempt) },
    );
    q.add('a');
    await tick(400);
    await q.drained();
    expect(attempts).toHaveLength(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('waits at least as long as the API server asked (Retry-After) before retrying', async () => {
    const delays: (number | undefined)[] = [];
    let attempts = 0;
    const q = new WorkQueue(
      async () => {
        if (++attempts === 1) throw new KubeApiError('apply', 'EndpointSlice', 'ns/x', 429, 'TooManyRequests', 'slow down', 150);
      },
      options,
      { retry: (_k, _attempt, retryInMs) => delays.push(retryInMs) },
    );
    q.add('a');
    await tick(400);
    await q.drained();
    expect(attempts).toBe(2);
    expect(delays).toEqual([150]); // the backoff alone would have been about 10 ms
  });

  it('runs a key waiting out its retry backoff as soon as a fresh event comes, and keeps backing off while it fails', async () => {
    const slow = { workers: 1, batchPeriodMs: 10, retryInitialMs: 5_000, retryMaxMs: 60_000 };
    const runs: number[] = [];
    const retries: number[] = [];
    let failing = true;
    const q = new WorkQueue(
      async () => {
        runs.push(Date.now());
        if (failing) throw new Error('admission webhook denied the request');
      },
      slow,
      { retry: (_k, attempt) => retries.push(attempt) },
    );
    q.add('a');
    await tick(50);
    expect(runs).toHaveLength(1); // failed once; its retry is about 5 s away

    q.add('a'); // the members changed while the cause persists
    await tick(50);
    expect(runs).toHaveLength(2);
    expect(retries).toEqual([1, 2]); // a fresh event does not reset the count of failures in a row

    failing = false; // the cause is fixed, then the members change again
    q.add('a');
    await tick(50);
    expect(runs).toHaveLength(3);
    expect(q.depth).toBe(0); // succeeded: no retry left waiting
  });

  it('keeps the earlier time when a key is asked for twice while it waits', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => void runs.push(k), options);
    q.addAfter('a', 20);
    q.addAfter('a', 5_000); // a later request never delays the earlier one
    await tick(60);
    expect(runs).toEqual(['a']);
    expect(q.depth).toBe(0);
  });

  it('drops queued work and waits for work in flight on shutdown', async () => {
    let finished = 0;
    const q = new WorkQueue(
      async () => {
        await tick(30);
        finished++;
      },
      { ...options, workers: 1 },
    );
    q.add('a');
    q.add('b');
    await tick(25);
    await q.shutdown();
    expect(finished).toBe(1);
    q.add('c');
    await tick(40);
    expect(finished).toBe(1);
  });

  it('does not retry a write refused for want of leadership: a new leader brings every key back', async () => {
    let attempts = 0;
    const retries: (number | undefined)[] = [];
    const q = new WorkQueue(
      async () => {
        attempts++;
        throw new NotLeaderError('not the leader: create Service data/db-global not written');
      },
      options,
      { retry: (_k, _attempt, retryInMs) => retries.push(retryInMs) },
    );
    q.add('a');
    await tick(400);
    await q.drained();
    expect(attempts).toBe(1);
    expect(retries).toEqual([undefined]);
  });
});
