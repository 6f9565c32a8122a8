import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

/**
 * V8's compilers beyond its interpreter: Sparkplug (baseline), Maglev and Turbofan (optimizing).
 * globalsvc starts without them (src/cli/node-flags.ts): at tens of globals there is too little work
 * for compiled code to matter, and their code pages, compile zones and output are about 10 MiB of a
 * 90 MiB process (docs/benchmarks.md, Issue 18, eleventh session). `Compilers` turns the first two on once
 * there is work for them: a cache the size of hundreds of globals, or an event loop busy most of the
 * time. On is for the rest of the process's life.
 */
export const COMPILERS_OFF: readonly string[] = ['--no-sparkplug', '--no-maglev', '--no-turbofan'];
/**
 * Sparkplug and Maglev; Turbofan stays off for good. At 10,000 globals it cost 7-12 MiB (its code
 * pages and compile zones) and bought no CPU: cold starts of 32.6-39.0 s of CPU in four runs without
 * it, 33.3 and 38.0 with it (docs/benchmarks.md, Issue 18, thirteenth session); what globalsvc runs
 * is allocation and I/O, which Maglev's code does as well.
 */
const COMPILERS_ON: readonly string[] = ['--sparkplug', '--maglev'];
/**
 * Set with them: work for the compilers is data in the caches, and from then on V8's old generation
 * grows 20 % past what its last full collection kept before it collects again. V8's own factor is
 * 1.1-4.0 by its measure of the collector's speed; at 10,000 globals its slack was 15-23 MiB of
 * 33-40 live. Measured there: 137.1 and 137.8 MiB peak against 138.9-143.6 without, CPU 35.7 and
 * 38.5 s against 32.6-39.0 (docs/benchmarks.md, Issue 18, thirteenth session). Below the
 * compilers' threshold SmallHeap (small-heap.ts) keeps the heap small instead.
 */
const HEAP_GROWING: readonly string[] = ['--heap-growing-percent=20'];

export interface CompilerThresholds {
  /** Objects in the caches at or above which the compilers are turned on (0: at start). */
  readonly objects: number;
  /** Share of the last `busyWindowSeconds` the event loop was busy at or above which they are. */
  readonly busy: number;
  readonly busyWindowSeconds: number;
}

export const DEFAULT_THRESHOLDS: CompilerThresholds = { objects: 5_000, busy: 0.5, busyWindowSeconds: 30 };

export type CompilersReason =
  { readonly kind: 'objects'; readonly objects: number } | { readonly kind: 'busy'; readonly utilization: number };

/**
 * Whether the compilers are worth their memory, and why: `utilization` is the event loop's busy
 * share over the last full window, undefined before one has passed.
 */
export function compilersWanted(
  objects: number,
  utilization: number | undefined,
  thresholds: CompilerThresholds,
): CompilersReason | undefined {
  if (objects >= thresholds.objects) return { kind: 'objects', objects };
  if (utilization !== undefined && utilization >= thresholds.busy) return { kind: 'busy', utilization };
  return undefined;
}

export const describeReason = (reason: CompilersReason): string =>
  reason.kind === 'objects'
    ? `${reason.objects} objects cached`
    : `event loop busy ${(reason.utilization * 100).toFixed(0)}% of the last window`;

/** Turns Sparkplug and Maglev on, in this process, as its flags would have had them from the start, and V8's old generation to grow 20 % at a time. */
export const turnCompilersOn = (setFlags: (flags: string) => void = setFlagsFromString): void => {
  for (const flag of [...COMPILERS_ON, ...HEAP_GROWING]) setFlags(flag);
};

/** Watches the caches' size and the event loop once a second; turns the compilers on when `compilersWanted` says. */
export class Compilers {
  private timer: NodeJS.Timeout | undefined;
  private readonly samples: EventLoopUtilization[] = [];
  private reason: CompilersReason | undefined;

  constructor(
    private readonly objects: () => number,
    private readonly turnedOn: (reason: CompilersReason) => void,
    private readonly thresholds: CompilerThresholds = DEFAULT_THRESHOLDS,
    private readonly turnOn: () => void = turnCompilersOn,
    private readonly utilization: () => EventLoopUtilization = () => performance.eventLoopUtilization(),
  ) {}

  /** Why the compilers are on; undefined while they are off. */
  get on(): CompilersReason | undefined {
    return this.reason;
  }

  start(): void {
    if (this.tick() || this.timer) return;
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look (the timer's, once a second); true once the compilers are on. */
  tick(): boolean {
    if (this.reason) return true;
    this.samples.push(this.utilization());
    const window = this.thresholds.busyWindowSeconds;
    if (this.samples.length > window + 1) this.samples.shift();
    const busy =
      this.samples.length === window + 1 ? performance.eventLoopUtilization(this.samples.at(-1), this.samples[0]).utilization : undefined;
    const reason = compilersWanted(this.objects(), busy, this.thresholds);
    if (!reason) return false;
    this.turnOn();
    this.reason = reason;
    this.stop();
    this.turnedOn(reason);
    return true;
  }
}
