import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8 lets its old generation grow at least 8 MB past what its last full collection left before it
 * collects again, whatever its flags (`--heap-growing-percent`, `--optimize-for-size`,
 * `--memory-saver-mode`: docs/benchmarks.md, Issue 18, twelfth session), and keeps the pages after
 * collecting. At tens of globals, with 11-13 MB live, that step is most of V8's heap: 21-22 MiB
 * committed at the end of a cold start of 100 globals, for what a start promotes of requests and
 * responses in flight, not for data.
 *
 * While globalsvc is small (V8's compilers still off: src/observability/compilers.ts), `SmallHeap`
 * looks at the old generation every 100 ms and asks V8 for a full collection once it has grown
 * `stepBytes` past the least it was seen at since the last one, as long as that least is under
 * 16 MiB (5-10 ms a collection at that size). Measured in growth runs: 100 globals 72.7-74.2 MiB
 * against 77.8-80.3 without it, for the same CPU; at 500 globals, whose heap grows past 16 MiB with
 * its caches, the same as without it (with no such bound, collecting all the way cost 2-5 MiB and 10 %
 * more CPU there). It stops for good when the compilers turn on: past hundreds of globals V8's own
 * growing factor is what sizes the heap.
 */
export const DEFAULT_STEP_BYTES = 1024 * 1024;
/** Above this much surviving (the least seen), the heap is not small: V8 alone decides. */
export const SMALL_HEAP_BYTES = 16 * 1024 * 1024;
const LOOK_MS = 100;

/** Bytes in use in V8's old space now. */
export function oldSpaceUsed(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'old_space') return space.space_used_size;
  return 0;
}

/**
 * V8's full collection as a function, without `gc` on globalsvc's own global object: a context made
 * while `--expose-gc` is set gets it, and the flag is unset again at once. Undefined where this Node
 * does not give it that way (src/cli/main.ts then runs without `SmallHeap` and says so).
 */
export function fullCollection(): (() => void) | undefined {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext("typeof gc === 'function' ? gc : undefined") as (() => void) | undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

export class SmallHeap {
  private timer: NodeJS.Timeout | undefined;
  /** The least old-space use seen since the last collection (ours or V8's own). */
  private least = Number.POSITIVE_INFINITY;

  constructor(
    private readonly collect: () => void,
    private readonly collected: () => void,
    private readonly stepBytes: number = DEFAULT_STEP_BYTES,
    private readonly used: () => number = oldSpaceUsed,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), LOOK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look (the timer's); true when it asked for a collection. */
  tick(): boolean {
    const used = this.used();
    this.least = Math.min(this.least, used);
    if (used - this.least < this.stepBytes || this.least > SMALL_HEAP_BYTES) return false;
    this.collect();
    this.least = this.used();
    this.collected();
    return true;
  }
}
