import { COMPILERS_OFF } from '../observability/compilers.js';

/**
 * V8's heap as globalsvc and the benchmarks' bare clients size it. Semi-spaces of 1 MiB instead of
 * V8's default keep the young generation from holding tens of MiB of list and watch garbage: peak
 * RSS at 1,000 globals fell from 347 to 251 MiB for the same CPU (docs/benchmarks.md).
 */
export const HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * V8 flags globalsvc runs with, wherever it runs: the image's entrypoint (Dockerfile, checked by
 * node-flags.test.ts), the test bed and the benchmarks. Its heap's, and no compiler beyond V8's
 * interpreter until globalsvc has work for them (src/observability/compilers.ts turns them on).
 */
export const NODE_FLAGS: readonly string[] = [...HEAP_FLAGS, ...COMPILERS_OFF];

/**
 * The environment globalsvc runs with, wherever it runs (the image's ENV lines, checked by
 * node-flags.test.ts; the test bed and the benchmarks). glibc gives each thread that allocates an
 * arena of its own, up to eight per core, and keeps what it frees there: Node's compiler and GC
 * threads left 3-4 MiB each. Two arenas, the same CPU: peak RSS at 100 globals 107-109 -> 103-104 MiB,
 * at 10,000 globals 236-240 -> 224-227 MiB (docs/benchmarks.md, Issue 18, 2026-12-06).
 */
export const PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  // glibc's own threshold for serving an allocation with mmap (128 KiB), held there. By default glibc
  // raises it to the size of each mmapped block freed (up to 32 MiB), and its trim threshold to twice
  // that: after the first large block is freed (the bundle's 2.2 MB source, read once), blocks up to
  // that size come from the heap, and up to twice that stays in it, freed and resident. Held: globalsvc's
  // bundle loaded 63.6 -> 62.7 MiB in every run; 100 and 10,000 globals' peaks within their runs' noise,
  // for the same CPU (docs/benchmarks.md, Issue 18, twelfth session).
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/**
 * What runs: the bundles hack/bundle.mjs makes of the TypeScript build (one module each, with only
 * what their imports reach: about 40 MiB less RSS than Node loading client-node's ~1,900 modules).
 */
export const ENTRYPOINT = 'dist/globalsvc.mjs';
export const PLUGIN_ENTRYPOINT = 'dist/kubectl-globalsvc.mjs';
