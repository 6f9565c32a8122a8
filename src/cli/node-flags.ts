/**
 * V8 flags globalsvc runs with, wherever it runs: the image's entrypoint (Dockerfile, checked by
 * node-flags.test.ts), the test bed and the benchmarks. Semi-spaces of 1 MiB instead of V8's
 * default keep the young generation from holding tens of MiB of list and watch garbage: peak RSS
 * at 1,000 globals fell from 347 to 251 MiB for the same CPU (docs/benchmarks.md).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * What runs: the bundles hack/bundle.mjs makes of the TypeScript build (one module each, with only
 * what their imports reach: about 40 MiB less RSS than Node loading client-node's ~1,900 modules).
 */
export const ENTRYPOINT = 'dist/globalsvc.mjs';
export const PLUGIN_ENTRYPOINT = 'dist/kubectl-globalsvc.mjs';
