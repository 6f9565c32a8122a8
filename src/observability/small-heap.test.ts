import { describe, expect, it } from 'vitest';
import { DEFAULT_STEP_BYTES, fullCollection, oldSpaceUsed, SMALL_HEAP_BYTES, SmallHeap } from './small-heap.js';

const MiB = 1024 * 1024;

/** A SmallHeap over a fake old space: `heap.used` is what it reads, a collection brings it to `live`. */
function fakeHeap(live: number) {
  const heap = { used: live, live, collections: 0, told: 0 };
  const small = new SmallHeap(
    () => {
      heap.collections++;
      heap.used = heap.live;
    },
    () => heap.told++,
    DEFAULT_STEP_BYTES,
    () => heap.used,
  );
  return { heap, small };
}

describe('SmallHeap: a full collection asked for once the old generation grows 1 MiB', () => {
  it('waits for the step past the least seen, collects once, and says so', () => {
    const { heap, small } = fakeHeap(12 * MiB);
    expect(small.tick()).toBe(false);
    heap.used += DEFAULT_STEP_BYTES - 1;
    expect(small.tick()).toBe(false);
    heap.used += 1;
    expect(small.tick()).toBe(true);
    expect(heap).toMatchObject({ collections: 1, told: 1, used: 12 * MiB });
    // Measured from what the collection left, not from where it was asked.
    heap.used += DEFAULT_STEP_BYTES - 1;
    expect(small.tick()).toBe(false);
    expect(heap.collections).toBe(1);
  });

  it("counts from what V8's own collection left, when it collects first", () => {
    const { heap, small } = fakeHeap(12 * MiB);
    small.tick();
    heap.used = 13.5 * MiB;
    small.tick();
    heap.used = 11 * MiB; // V8 collected by itself
    small.tick();
    heap.used = 11 * MiB + DEFAULT_STEP_BYTES;
    expect(small.tick()).toBe(true);
  });

  it('leaves a heap that is not small to V8', () => {
    const { heap, small } = fakeHeap(SMALL_HEAP_BYTES + MiB);
    small.tick();
    heap.used += 10 * DEFAULT_STEP_BYTES;
    expect(small.tick()).toBe(false);
    expect(heap.collections).toBe(0);
  });

  it("collects V8's heap for real, without a gc function on the global object", () => {
    const collect = fullCollection();
    expect(collect).toBeTypeOf('function');
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    // Objects kept long enough to be promoted to the old space, then dropped.
    (() => {
      let kept: { i: number; s: string }[] = [];
      for (let i = 0; i < 400_000; i++) {
        kept.push({ i, s: `x${i}` });
        if (kept.length > 100_000) kept = [];
      }
    })();
    const before = oldSpaceUsed();
    collect!();
    expect(oldSpaceUsed()).toBeLessThan(before);
  });
});
