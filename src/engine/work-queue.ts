import PQueue from 'p-queue';
import { retryDelay } from '../cluster/error-policy.js';

export interface WorkQueueOptions {
  /** Reconciles running at once (different keys; one key never runs twice at a time). */
  workers: number;
  /**
   * Reconciles running at once during a pass over every key (a cold start's, a new leader's: until
   * each key of it has run once), `workers` after it; `workers` from the start when not given. A cold start has every key queued
   * at once, and each reconcile in flight holds its world and its requests: more of them shorten
   * the cold start but raise its peak; a change later is one write round trip, and fewer workers
   * than changes arriving × round trip queue them (docs/benchmarks.md, fourteenth session).
   */
  startWorkers?: number;
  /** How long a newly dirtied key waits, so that a burst of events becomes one reconcile. */
  batchPeriodMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

/** What a reconcile tells the queue: done, or look again later even without an event. */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
}

export type KeyHandler = (key: string) => Promise<ReconcileOutcome | void>;

export interface QueueObserver {
  /** A key failed `attempt` times in a row and runs again in `retryInMs`, or not at all (undefined: the error policy says so). */
  retry?: (key: string, attempt: number, retryInMs: number | undefined, error: unknown) => void;
  /** The pass over every key is over: from now on `workers` reconciles run at once. */
  started?: (workers: number) => void;
  /**
   * A key starts its reconcile `waitedMs` after it was queued: its batch period or backoff over, the
   * time it waited for a free worker (client-go's workqueue_queue_duration_seconds).
   */
  waited?: (waitedMs: number) => void;
}

/** A key waiting for its time: the timer that will queue it, and when. */
interface Waiting {
  timer: NodeJS.Timeout;
  dueAt: number;
}

/**
 * A keyed work queue in the manner of client-go's: a key waits at most once, and for the earliest
 * time anyone asked (client-go's delaying queue keeps the sooner ready time), so a fresh event for
 * a key waiting out a retry backoff runs it after the batch period, not after the backoff; one
 * reconcile per key is in flight, a key dirtied while it runs runs again right after, failures
 * come back with exponential backoff and jitter (the count of failures in a row survives a fresh
 * event: only a success resets it), and p-queue bounds how many keys run at once.
 */
export class WorkQueue {
  private readonly waiting = new Map<string, Waiting>();
  /**
   * Keys ready to run, and when each was queued (for `waited`): ms since the queue was made, a small
   * integer V8 keeps in the entry (a time since the epoch would be a heap number per key).
   */
  private readonly queued = new Map<string, number>();
  private readonly epoch: number;
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly pool: PQueue;
  private stopped = false;
  /** Whether the pass over every key is over: the pool is at `workers` since. */
  private started = false;
  /**
   * The keys of the pass over every key not yet run, when the caller named them: the pass is over
   * when each has run once. Unnamed, it is over when the queue first empties — which a batch period
   * makes too early: a first key that writes nothing is done before the next one's timer fires.
   */
  private pass: Set<string> | undefined;

  constructor(
    private readonly handler: KeyHandler,
    private readonly options: WorkQueueOptions,
    private readonly observer: QueueObserver = {},
    private readonly now: () => number = Date.now,
  ) {
    this.pool = new PQueue();
    this.epoch = now();
    this.startPass();
  }

  /**
   * A pass over every key begins (the first after the caches synced, or a new leader's): `startWorkers`
   * at once until each of `keys` has run once, then `workers`. The caller adds the keys after; the queue
   * takes the set and empties it (no copy of up to every key at the cold start's peak).
   */
  startPass(keys?: Set<string>): void {
    this.started = false;
    this.pass = keys;
    this.pool.concurrency = Math.min(this.options.startWorkers ?? this.options.workers, this.options.workers);
    if (this.pass?.size === 0) this.passed();
  }

  private passed(): void {
    this.started = true;
    this.pass = undefined;
    this.pool.concurrency = this.options.workers;
    this.observer.started?.(this.options.workers);
  }

  /** Reconciles the pool runs at once now. */
  get concurrency(): number {
    return this.pool.concurrency;
  }

  /** Keys waiting or queued, not yet running. */
  get depth(): number {
    return this.waiting.size + this.queued.size;
  }

  add(key: string): void {
    this.addAfter(key, this.options.batchPeriodMs);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const dueAt = this.now() + Math.max(0, delayMs);
    const waiting = this.waiting.get(key);
    if (waiting) {
      if (waiting.dueAt <= dueAt) return;
      clearTimeout(waiting.timer);
      this.waiting.delete(key);
    }
    if (delayMs <= 0) return this.enqueue(key);
    const timer = setTimeout(() => this.enqueue(key), delayMs);
    timer.unref();
    this.waiting.set(key, { timer, dueAt });
  }

  private enqueue(key: string): void {
    this.waiting.delete(key);
    if (this.stopped || this.queued.has(key) || this.running.has(key)) return;
    this.queued.set(key, this.now() - this.epoch);
    void this.pool.add(() => this.run(key));
  }

  private async run(key: string): Promise<void> {
    const queuedAt = this.queued.get(key);
    this.queued.delete(key);
    if (this.stopped) return;
    if (queuedAt !== undefined) this.observer.waited?.(this.now() - this.epoch - queuedAt);
    this.running.add(key);
    let next: number | undefined;
    try {
      const outcome = await this.handler(key);
      this.failures.delete(key);
      next = outcome?.requeueAfterMs;
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      // The one error policy: backoff, never sooner than a Retry-After, nothing for a NotLeaderError.
      next = retryDelay(error, attempt, { initialMs: this.options.retryInitialMs, maxMs: this.options.retryMaxMs });
      if (next === undefined) this.failures.delete(key);
      this.observer.retry?.(key, attempt, next, error);
    } finally {
      this.running.delete(key);
      this.pass?.delete(key);
    }
    if (this.dirty.delete(key)) this.enqueue(key);
    else if (next !== undefined) this.addAfter(key, next);
    // Each key of the pass has run once (one that failed too: its backoff does not hold the pool
    // back), or, keys unnamed, nothing is queued or running.
    if (!this.started && (this.pass ? this.pass.size === 0 : this.queued.size === 0 && this.running.size === 0)) this.passed();
  }

  /** Stops taking work and waits for the reconciles in flight; queued keys are dropped. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.pool.clear();
    this.queued.clear();
    await this.pool.onIdle();
  }

  /** Resolves when nothing is waiting, queued or running. */
  async drained(): Promise<void> {
    while (this.depth > 0 || this.running.size > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
