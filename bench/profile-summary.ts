// Reads what `--cpu-prof` and `--heapsnapshot-signal` wrote of globalsvc's process (docs/benchmarks.md,
// "the full suite in one run", Goal 4) and prints where the time and the bytes went:
//
//   node dist/bench/profile-summary.js <d>/CPU.*.cpuprofile [dist/globalsvc.mjs.map] [--window <from-s>:<to-s>]
//   node --max-old-space-size=8192 dist/bench/profile-summary.js <d>/Heap.*.heapsnapshot
//
// A CPU profile's samples are read through the bundle's source map: each sample counts once, in the
// first bucket of BUCKETS that any frame of its stack matches (inclusive of what it called), and by
// source file and by function. A heap snapshot's nodes are summed by type, and its strings by what
// they hold (the cache's packed records, namespace/name keys, ...).
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** First match wins, from the top: the stack's files (original sources) and its leaf function. */
const BUCKETS: [string, (files: string[], leaf: string) => boolean][] = [
  ['idle', (_, leaf) => leaf === '(idle)'],
  ['garbage collection', (_, leaf) => leaf === '(garbage collector)'],
  ['(program): V8 and Node outside JS', (_, leaf) => leaf === '(program)'],
  ['/metrics (http-server.ts, metrics.ts)', (files) => files.some((f) => /http-server\.ts$|metrics\.ts$/.test(f))],
  ['reconciler.ts (plan, write, report)', (files) => files.some((f) => f.endsWith('reconciler.ts'))],
  ['kube-api.ts (requests, JSON, the watches)', (files) => files.some((f) => f.endsWith('kube-api.ts'))],
  ['the watch outside kube-api.ts', (files) => files.some((f) => /watch-stream\.ts$|webstreams|readline/.test(f))],
  ['the engine and domain (stores, index, projection)', (files) => files.some((f) => /src\/(engine|domain)\//.test(f))],
  ['undici outside kube-api.ts', (files) => files.some((f) => f.includes('undici'))],
  ['Node internals', (files) => files[0]?.startsWith('node:') ?? false],
  ['other', () => true],
];

const add = (m: Map<string, number>, key: string, value: number) => m.set(key, (m.get(key) ?? 0) + value);
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

/** Seconds from the profile's start: only the samples taken between them count (a churn run after its cold start). */
type Window = [number, number];

function cpu(profile: CpuProfile, mapFile: string, window: Window = [0, Infinity]): void {
  const map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sources = new Map<string, string>();
  const source = ({ url, lineNumber, columnNumber, functionName }: CallFrame): string => {
    if (!url) return functionName;
    if (!url.endsWith('globalsvc.mjs')) return url.replace(/^file:\/\//, '');
    const key = `${lineNumber}:${columnNumber}`;
    let s = sources.get(key);
    if (s === undefined) {
      const entry = map.findEntry(lineNumber, columnNumber);
      s = 'originalSource' in entry ? entry.originalSource : 'the bundle';
      sources.set(key, s);
    }
    return s;
  };

  const buckets = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    at += (profile.timeDeltas[i] ?? 0) / 1e6;
    if (at < window[0] || at > window[1]) return;
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    total += ms;
    const files: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) files.push(source(byId.get(at)!.callFrame));
    const leaf = byId.get(id)!.callFrame.functionName;
    add(buckets, BUCKETS.find(([, matches]) => matches(files, leaf))![0], ms);
    for (const f of new Set(files)) add(inclusive, f, ms);
    add(self, `${leaf || '(anonymous)'} ${files[0]}`, ms);
  });

  const share = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
  const span = window[1] === Infinity ? `${at.toFixed(1)} s long` : `${window[0]}-${window[1]} s of ${at.toFixed(1)}`;
  console.log(`CPU profile: ${(total / 1000).toFixed(1)} s sampled, ${span}`);
  console.log('\nbuckets (each sample once, the first it matches)');
  for (const [k, ms] of top(buckets, BUCKETS.length)) console.log(`${share(ms)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${k}`);
  console.log('\ninclusive, by source file');
  for (const [k, ms] of top(inclusive, 40)) console.log(`${share(ms)}  ${k}`);
  console.log('\nself, by function');
  for (const [k, ms] of top(self, 30)) console.log(`${share(ms)}  ${k}`);
}

/** What a heap string holds, for the bench's namespaces (`cold-<G>x<E>`, `churn-...`, `growth-...`). */
function kindOfString(s: string): string {
  // The cache's records are their fields' bytes (src/domain/record-bytes.ts): lengths and masks below 32 among them.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0e-\x1f]/.test(s)) return 'packed records';
  if (/^[a-z]+-\d+x\d+(-\d+)?\/./.test(s)) return 'namespace/name keys';
  if (/^[a-z]+-\d+x\d+(-\d+)?$/.test(s)) return 'namespaces';
  if (/^svc\d+/.test(s)) return 'names';
  return 'other';
}

function heap(snapshot: HeapSnapshot): void {
  const { node_fields: fields, node_types: nodeTypes } = snapshot.snapshot.meta;
  const types = nodeTypes[0];
  const width = fields.length;
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const bytes = new Map<string, number>();
  const counts = new Map<string, number>();
  const strings = new Map<string, number>();
  const stringCounts = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const kind = types[snapshot.nodes[i + type]!]!;
    const self = snapshot.nodes[i + size]!;
    total += self;
    add(bytes, kind, self);
    add(counts, kind, 1);
    if (kind === 'string') {
      const holds = kindOfString(snapshot.strings[snapshot.nodes[i + name]!]!);
      add(strings, holds, self);
      add(stringCounts, holds, 1);
    }
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1).padStart(7)} MiB`;
  console.log(`heap snapshot: ${mib(total)} self size, ${snapshot.nodes.length / width} nodes`);
  console.log('\nby type');
  for (const [k, b] of top(bytes, 20)) console.log(`${mib(b)} ${String(counts.get(k)).padStart(9)}  ${k}`);
  console.log('\nstrings, by what they hold');
  for (const [k, b] of top(strings, 10)) console.log(`${mib(b)} ${String(stringCounts.get(k)).padStart(9)}  ${k}`);
}

const args = process.argv.slice(2);
const windowAt = args.indexOf('--window');
const window = windowAt < 0 ? undefined : (args.splice(windowAt, 2)[1]!.split(':').map(Number) as Window);
const [file, mapFile] = args;
if (!file || (window && (window.length !== 2 || window.some(Number.isNaN))))
  throw new Error('usage: profile-summary <CPU.*.cpuprofile | Heap.*.heapsnapshot> [bundle source map] [--window <from-s>:<to-s>]');
const parsed = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile | HeapSnapshot;
// A heap snapshot has samples too (of its allocations): its own header tells it apart.
if ('snapshot' in parsed) heap(parsed);
else cpu(parsed, mapFile ?? fileURLToPath(new URL('../globalsvc.mjs.map', import.meta.url)), window);
