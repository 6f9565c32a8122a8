import * as z from './zod.js';
import { isDnsLabel } from './domain/naming.js';
import { parseAddress } from './shared.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "250ms", "2s", "1m", "1h" or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) throw new Error(`"${value}" is not a duration (like 250ms, 2s, 1m, 1h)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
}

const duration = (max?: number) =>
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((v: string | number, ctx) => {
      try {
        const ms = parseDuration(v);
        if (max !== undefined && ms > max) ctx.issues.push({ code: 'custom', message: `must be at most ${max}ms`, input: v });
        return ms;
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
    }),
  );

const boolInput = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]);
const bool = z.pipe(
  boolInput,
  z.transform((v: z.output<typeof boolInput>) => v === true || v === 'true' || v === '1' || v === 'yes'),
);
const int = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const address = z.string().check(
  z.refine((v) => {
    try {
      parseAddress(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be host:port, like :9090 or 127.0.0.1:9090'),
);
/** A list given as one comma-separated string or as an array, its items trimmed, empty ones dropped. */
const list = (fallback: string[]) =>
  z.pipe(
    z._default(z.union([z.string(), z.array(z.string())]), fallback),
    z.transform((v: string | string[]) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean)),
  );

/** The controller's whole configuration, validated once at start-up. */
export const configSchema = z.object({
  clusterName: z
    .string({ error: 'is required: the name this cluster has in the Links (--cluster-name or GLOBALSVC_CLUSTER_NAME)' })
    .check(z.refine(isDnsLabel, 'must be a DNS label (lower-case letters, digits and "-", at most 63)')),
  kubeconfig: z.optional(z.string()),
  context: z.optional(z.string()),
  namespaces: list([]).check(z.refine((v) => v.every(isDnsLabel), 'must be a comma-separated list of namespace names')),
  includeLocal: z._default(bool, true),
  gatewayProbe: z._default(bool, true),
  gatewayProbeAddresses: z.pipe(
    z._default(z.string(), ''),
    z.transform((v: string, ctx) => {
      const out: Record<string, string[]> = {};
      for (const entry of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [cluster, address] = entry.split('=').map((s) => s.trim());
        if (!cluster || !address || !isDnsLabel(cluster)) {
          ctx.issues.push({ code: 'custom', message: `"${entry}" is not <cluster>=<address>`, input: v });
          return z.NEVER;
        }
        (out[cluster] ??= []).push(address);
      }
      return out;
    }),
  ),
  remoteDiscovery: z._default(bool, false),
  remoteStaleAfter: z._default(duration(), 60_000),
  mcsApi: z._default(bool, false),
  source: z.pipe(
    list(['linkerd']).check(
      z.refine((v) => v.length > 0 && v.every((s) => s === 'linkerd' || s === 'mcs'), 'must be linkerd, mcs or linkerd,mcs'),
    ),
    z.transform((v: string[]) => ({ linkerd: v.includes('linkerd'), mcs: v.includes('mcs') })),
  ),
  globalSuffix: z
    ._default(z.string(), '-global')
    .check(
      z.refine(
        (v) => v.length >= 1 && v.length <= 20 && /^[-a-z0-9]*[a-z0-9]$/.test(v),
        'must be 1-20 characters of [-a-z0-9], ending in a letter or digit',
      ),
    ),
  maxEndpointsPerSlice: z._default(int(1, 1000), 100),
  // A change is one write round trip: at 200 changes a second on a busy bed (40-90 ms a round trip) 16
  // workers queued 159-1,163 keys, 64 at most 132; a cold start is every key at once, where 64 raised the
  // peak 4-7 MiB at 10,000 globals (docs/benchmarks.md, fourteenth session): 16 until each global of that pass has run once.
  workers: z._default(int(1, 256), 64),
  startWorkers: z._default(int(1, 256), 16),
  batchPeriod: z._default(duration(1000), 50),
  retryInitial: z._default(duration(), 200),
  retryMax: z._default(duration(), 60_000),
  resyncPeriod: z._default(duration(), 600_000),
  compilersAboveObjects: z._default(int(0, 10_000_000), 5_000),
  leaderElect: z._default(bool, false),
  leaderElectNamespace: z._default(z.string(), 'globalsvc').check(z.refine(isDnsLabel, 'must be a namespace name')),
  leaderElectLeaseName: z
    ._default(z.string(), 'globalsvc')
    .check(z.refine((v) => /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(v), 'must be a DNS subdomain')),
  leaseDuration: z._default(duration(), 15_000),
  renewDeadline: z._default(duration(), 10_000),
  retryPeriod: z._default(duration(), 2_000),
  metricsAddr: z._default(address, ':9090'),
  healthAddr: z._default(address, ':8081'),
  logLevel: z._default(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']), 'info'),
  burst: z._default(bool, false),
  prometheusUrl: z
    .optional(z.string())
    .check(z.refine((v) => v === undefined || /^https?:\/\/[^/]/.test(v), 'must be an http:// or https:// URL')),
  peerSecret: z
    ._default(z.string(), 'linkerd-multicluster/cluster-credentials-{peer}')
    .check(
      z.refine(
        (v) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[-.a-z0-9{}]+$/.test(v) && v.includes('{peer}'),
        'must be <namespace>/<name> with {peer} in the name',
      ),
    ),
});

export type Config = Readonly<z.output<typeof configSchema>>;

const withLeaseRules = configSchema.check(
  z.superRefine((c, ctx) => {
    // client-go's rules: a leader must give up before its lease can expire under it.
    if (c.renewDeadline >= c.leaseDuration)
      ctx.addIssue({ code: 'custom', path: ['renewDeadline'], message: 'must be shorter than --lease-duration' });
    if (c.retryPeriod >= c.renewDeadline)
      ctx.addIssue({ code: 'custom', path: ['retryPeriod'], message: 'must be shorter than --renew-deadline' });
    if (c.burst && c.prometheusUrl === undefined)
      ctx.addIssue({ code: 'custom', path: ['prometheusUrl'], message: 'is required with --burst=true: the metric comes from there' });
  }),
);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(raw: Record<string, unknown>): Config {
  const result = withLeaseRules.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  --${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(result.data);
}
