// Bundles the CLI into one ES module each (dist/globalsvc.mjs, dist/kubectl-globalsvc.mjs), from the
// TypeScript build's output: what the image, the test bed and the benchmarks run.
//
// Why: `import '@kubernetes/client-node'` loads every module of its generated API (config.js imports
// gen/index.js), about 80 MiB of RSS in a process that uses its KubeConfig and Watch. esbuild follows
// the package's public entry point and leaves out what nothing reaches; Node then parses one file
// instead of ~1,900. See docs/benchmarks.md, Memory.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// client-node's modules do nothing when imported but define what they export, yet its package.json
// does not say so ("sideEffects": false, the upstream change proposed in docs/benchmarks.md, Memory
// point 3). Without it esbuild must keep every module the entry point reaches for its top-level
// code, the generated models among them (~600 KB, 10 MiB of RSS). This declares it, as that line
// would: nothing of client-node is replaced, rewritten or resolved elsewhere; a module whose exports
// globalsvc uses is kept whole.
const CLIENT_NODE = /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]/;
const RESOLVING = Symbol('client-node side-effect free');
const clientNodeSideEffectFree = {
  name: 'client-node-side-effect-free',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async ({ path, importer, kind, resolveDir, pluginData }) => {
      if (pluginData === RESOLVING || !(path === '@kubernetes/client-node' || CLIENT_NODE.test(importer))) return undefined;
      const resolved = await b.resolve(path, { importer, kind, resolveDir, pluginData: RESOLVING });
      if (resolved.errors.length > 0 || !CLIENT_NODE.test(resolved.path)) return resolved;
      return { ...resolved, sideEffects: false };
    });
  },
};

// undici's index, imported by client-node's config.js and by globalsvc, is CommonJS: bundled, all of
// it runs at start. The bundles take what they use of it from hack/undici-core.mjs instead.
const UNDICI_CORE = fileURLToPath(new URL('undici-core.mjs', import.meta.url));
const undiciCore = {
  name: 'undici-core',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: UNDICI_CORE }));
  },
};

// rxjs's package exports its CommonJS build under the "node" condition, ahead of its ES module build
// ("es2015"): bundled, the CommonJS index runs every operator's module at start (337 KB in the
// bundle, 1.7 MiB of RSS loaded). Its ES module build, the same code, is marked side-effect free
// by rxjs itself: the bundle keeps only the operators globalsvc imports (25 KB).
const RXJS_ESM = join(dirname(createRequire(import.meta.url).resolve('rxjs/package.json')), 'dist', 'esm', 'index.js');
const rxjsEsm = {
  name: 'rxjs-esm',
  setup(b) {
    b.onResolve({ filter: /^rxjs$/ }, () => ({ path: RXJS_ESM, sideEffects: false }));
  },
};

// Node's `http` module has lazy getters (WebSocket, CloseEvent, MessageEvent) that load Node's own
// copy of undici, its fetch and WebSocket. Imported as an ES module, a builtin's namespace is made by
// reading every export, those getters too: `import 'node:http'` alone costs 58 MiB of RSS against 46
// for `require('node:http')` (Node 24). The bundle's imports of `http` go through `require`, which
// reads nothing until it is used; globalsvc loads Node's undici only if it calls fetch (the gateway probe).
const HTTP_VIA_REQUIRE = 'http-via-require';
const httpViaRequire = {
  name: HTTP_VIA_REQUIRE,
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, ({ namespace }) =>
      namespace === HTTP_VIA_REQUIRE ? { path: 'node:http', external: true } : { path: 'http', namespace: HTTP_VIA_REQUIRE },
    );
    b.onLoad({ filter: /.*/, namespace: HTTP_VIA_REQUIRE }, () => ({ contents: "module.exports = require('node:http');", loader: 'js' }));
  },
};

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const entries = {
  globalsvc: 'dist/src/cli/main.js',
  'kubectl-globalsvc': 'dist/src/cli/kubectl-globalsvc.js',
  // The benchmarks' memory floor on globalsvc's client stack, bundled as globalsvc is (bench/floors.ts).
  'bench/bare-informer': 'dist/bench/bare-informer.js',
  // The churn benchmark's informed floor: a bare controller, bundled as globalsvc is (bench/churn.ts).
  'bench/relay-controller': 'dist/bench/relay-controller.js',
};

const { outputFiles, metafile } = await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  write: false,
  metafile: true,
  plugins: [clientNodeSideEffectFree, undiciCore, rxjsEsm, httpViaRequire],
  define: { GLOBALSVC_VERSION: JSON.stringify(version) },
  // Some dependencies are CommonJS and call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __globalsvcRequire } from 'node:module'; const require = __globalsvcRequire(import.meta.url);" },
});

// The plugins above are what keep client-node's generated API and undici's index out; say so if they stop working.
for (const [out, { inputs }] of Object.entries(metafile.outputs)) {
  const generated = Object.keys(inputs).filter((f) => /client-node\/dist\/gen\/(models|apis)\//.test(f));
  if (generated.length > 0)
    throw new Error(`${out} carries client-node's generated API (${generated.length} modules, e.g. ${generated[0]})`);
  if (Object.keys(inputs).some((f) => /node_modules\/undici\/index\.js$/.test(f))) throw new Error(`${out} carries undici's index`);
  if (Object.keys(inputs).some((f) => /node_modules\/rxjs\/dist\/cjs\//.test(f))) throw new Error(`${out} carries rxjs's CommonJS build`);
  if (metafile.outputs[out].imports.some((i) => i.kind === 'import-statement' && /^(node:)?http$/.test(i.path)))
    throw new Error(`${out} imports node:http as an ES module (Node's undici loaded at start)`);
}

// V8 keeps a module's source for as long as the module lives, as one byte per character only if
// every character is ASCII. esbuild escapes strings and identifiers but keeps comments as they are,
// and a few of undici's hold a '’' or '§': escaped, the bundle's source takes 4.5 MiB, not 9.
// An escape means the same character wherever else one could stand (strings, templates, regexps).
for (const file of outputFiles) {
  const text = file.path.endsWith('.mjs')
    ? file.text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : file.contents;
  writeFileSync(file.path, text);
  if (file.path.endsWith('.mjs')) chmodSync(file.path, 0o755);
}
