import { execFileSync } from 'node:child_process';
import type { EventLoopUtilization } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPILERS_OFF, Compilers, compilersWanted, turnCompilersOn, type CompilersReason } from './compilers.js';

const thresholds = { objects: 5_000, busy: 0.5, busyWindowSeconds: 3 };

describe('compilersWanted', () => {
  it('wants the compilers from the threshold of objects on, or from the threshold of busy on', () => {
    fc.assert(
      fc.property(fc.nat(20_000), fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }), (objects, busy) => {
        const reason = compilersWanted(objects, busy, thresholds);
        expect(reason !== undefined).toBe(objects >= 5_000 || (busy !== undefined && busy >= 0.5));
        if (objects >= 5_000) expect(reason).toEqual({ kind: 'objects', objects });
      }),
    );
  });

  it('wants them at once with a threshold of 0 objects', () => {
    expect(compilersWanted(0, undefined, { ...thresholds, objects: 0 })).toEqual({ kind: 'objects', objects: 0 });
  });
});

/** Cumulative event-loop figures as perf_hooks gives them: `busyMs` of each second busy. */
function loop(busyMsPerSecond: number[]): () => EventLoopUtilization {
  let idle = 0;
  let active = 0;
  let second = 0;
  return () => {
    const busy = busyMsPerSecond[Math.min(second++, busyMsPerSecond.length - 1)]!;
    active += busy;
    idle += 1_000 - busy;
    return { idle, active, utilization: active / (idle + active) };
  };
}

function watch(objects: () => number, busy: number[]) {
  const on: CompilersReason[] = [];
  let turnedOn = 0;
  const compilers = new Compilers(
    objects,
    (r) => on.push(r),
    thresholds,
    () => turnedOn++,
    loop(busy),
  );
  return { compilers, on, turned: () => turnedOn };
}

describe('Compilers', () => {
  it('turns them on once, at the first look that finds enough objects', () => {
    let objects = 100;
    const w = watch(() => objects, [0]);
    expect(w.compilers.tick()).toBe(false);
    objects = 4_999;
    expect(w.compilers.tick()).toBe(false);
    objects = 5_000;
    expect(w.compilers.tick()).toBe(true);
    objects = 6_000;
    expect(w.compilers.tick()).toBe(true);
    expect(w.turned()).toBe(1);
    expect(w.on).toEqual([{ kind: 'objects', objects: 5_000 }]);
    expect(w.compilers.on).toEqual({ kind: 'objects', objects: 5_000 });
  });

  it('judges the event loop over a whole window only, and the last window only', () => {
    // Busy 900 ms a second for two seconds, then idle: no window of three seconds is busy half the time.
    const quiet = watch(() => 0, [900, 900, 0, 0, 0, 0, 0]);
    for (let i = 0; i < 7; i++) expect(quiet.compilers.tick()).toBe(false);
    expect(quiet.turned()).toBe(0);

    // Idle, then busy 600 ms a second: on once the three seconds between the oldest look and the
    // latest are all busy ones (the fourth second's look on).
    const busy = watch(() => 0, [0, 0, 0, 600]);
    const ticks = [0, 1, 2, 3, 4, 5, 6].map(() => busy.compilers.tick());
    expect(ticks).toEqual([false, false, false, false, false, true, true]);
    expect(busy.on).toHaveLength(1);
    expect(busy.on[0]!.kind).toBe('busy');
    expect((busy.on[0] as { utilization: number }).utilization).toBeCloseTo(0.6);
  });

  it('turns them on at start with a threshold of 0 objects, with no timer left', () => {
    let turned = 0;
    const compilers = new Compilers(
      () => 0,
      () => undefined,
      { ...thresholds, objects: 0 },
      () => turned++,
      loop([0]),
    );
    compilers.start();
    expect(turned).toBe(1);
    compilers.stop();
  });
});

describe("the compilers' flags in this Node", () => {
  // A hot function in a process started as globalsvc is (COMPILERS_OFF): interpreted only, then
  // optimized once turnCompilersOn's flags are set at run time. Fails if a Node upgrade stops
  // honouring them after start-up.
  const script = `
    const flags = JSON.parse(process.argv[1]);
    function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s; }
    const a = Array.from({ length: 1000 }, (_, i) => i);
    const run = () => { for (let k = 0; k < 5000; k++) hot(a); };
    const status = () => %GetOptimizationStatus(hot);
    (async () => {
      run(); run();
      const before = status();
      for (const flag of flags) require('node:v8').setFlagsFromString(flag);
      for (let i = 0; i < 100 && !(status() & 16); i++) { run(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify({ before, after: status() }));
    })();`;

  it('keeps a hot function interpreted, then optimizes it with Maglev once they are on, never Turbofan', () => {
    const flags: string[] = [];
    turnCompilersOn((flag) => flags.push(flag));
    expect(flags).toEqual(['--sparkplug', '--maglev', '--heap-growing-percent=20']);
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...COMPILERS_OFF, '-e', script, JSON.stringify(flags)], {
      encoding: 'utf8',
    });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    // V8's OptimizationStatus bits (src/runtime/runtime-test.cc): 16 optimized, 128 interpreted, 1 << 15 baseline.
    expect(before & 16, 'optimized before').toBe(0);
    expect(before & (1 << 15), 'baseline code before').toBe(0);
    expect(before & 128, 'interpreted before').toBe(128);
    expect(after & 16, 'optimized after').toBe(16);
    // By Maglev (32), never Turbofan (64): it stays off.
    expect(after & 32, 'Maglev code after').toBe(32);
    expect(after & 64, 'Turbofan code after').toBe(0);
  });
  it("sets V8's old generation to grow 20 % between full collections, at run time", () => {
    const flags: string[] = [];
    turnCompilersOn((flag) => flags.push(flag));
    // V8 traces the factor each full collection sets the next limit by (memory-controller.cc).
    const grow = `
      const keep = [];
      const fill = (tag) => { for (let i = 0; i < 100000; i++) keep.push({ i, s: tag + i }); gc(); };
      fill('a');
      console.log('--- flags');
      for (const flag of JSON.parse(process.argv[1])) require('node:v8').setFlagsFromString(flag);
      fill('b');`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--trace-gc-verbose', ...COMPILERS_OFF, '-e', grow, JSON.stringify(flags)], {
      encoding: 'utf8',
    });
    const after = out.slice(out.indexOf('--- flags'));
    expect(after).toMatch(/\[HeapController\] factor 1\.2 /);
  });
});
