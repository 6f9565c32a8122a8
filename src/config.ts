import { z } from 'zod';
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
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      const ms = parseDuration(v);
      if (max !== undefined && ms > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max}ms` });
      return ms;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const address = z.string().refine((v) => {
  try {
    parseAddress(v);
    return true;
  } catch {
    return false;
  }
}, 'must be host:port, like :9090 or 127.0.0.1:9090');

/** The controller's whole configuration, validated once at start-up. */
export const configSchema = z.object({
  clusterName: z
    .string({ error: 'is required: the name this cluster has in the Links (--cluster-name or GLOBALSVC_CLUSTER_NAME)' })
    .refine(isDnsLabel, 'must be a DNS label (lower-case letters, digits and "-", at most 63)'),
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  namespaces: z
    .union([z.string(), z.array(z.string())])
    .default([])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .refine((v) => v.every(isDnsLabel), 'must be a comma-separated list of namespace names'),
  includeLocal: bool.default(true),
  gatewayProbe: bool.default(true),
  gatewayProbeAddresses: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const out: Record<string, string[]> = {};
      for (const entry of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [cluster, address] = entry.split('=').map((s) => s.trim());
        if (!cluster || !address || !isDnsLabel(cluster)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not <cluster>=<address>` });
          return z.NEVER;
        }
        (out[cluster] ??= []).push(address);
      }
      return out;
    }),
  remoteDiscovery: bool.default(false),
  remoteStaleAfter: duration().default(60_000),
  mcsApi: bool.default(false),
  source: z
    .union([z.string(), z.array(z.string())])
    .default('linkerd')
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .refine((v) => v.length > 0 && v.every((s) => s === 'linkerd' || s === 'mcs'), 'must be linkerd, mcs or linkerd,mcs')
    .transform((v) => ({ linkerd: v.includes('linkerd'), mcs: v.includes('mcs') })),
  globalSuffix: z
    .string()
    .default('-global')
    .refine(
      (v) => v.length >= 1 && v.length <= 20 && /^[-a-z0-9]*[a-z0-9]$/.test(v),
      'must be 1-20 characters of [-a-z0-9], ending in a letter or digit',
    ),
  maxEndpointsPerSlice: int(1, 1000).default(100),
  workers: int(1, 64).default(16),
  batchPeriod: duration(1000).default(50),
  retryInitial: duration().default(200),
  retryMax: duration().default(60_000),
  resyncPeriod: duration().default(600_000),
  leaderElect: bool.default(false),
  leaderElectNamespace: z.string().default('globalsvc').refine(isDnsLabel, 'must be a namespace name'),
  leaderElectLeaseName: z
    .string()
    .default('globalsvc')
    .refine((v) => /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(v), 'must be a DNS subdomain'),
  leaseDuration: duration().default(15_000),
  renewDeadline: duration().default(10_000),
  retryPeriod: duration().default(2_000),
  metricsAddr: address.default(':9090'),
  healthAddr: address.default(':8081'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  burst: bool.default(false),
  prometheusUrl: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^https?:\/\/[^/]/.test(v), 'must be an http:// or https:// URL'),
  peerSecret: z
    .string()
    .default('linkerd-multicluster/cluster-credentials-{peer}')
    .refine(
      (v) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[-.a-z0-9{}]+$/.test(v) && v.includes('{peer}'),
      'must be <namespace>/<name> with {peer} in the name',
    ),
});

export type Config = Readonly<z.output<typeof configSchema>>;

const withLeaseRules = configSchema.superRefine((c, ctx) => {
  // client-go's rules: a leader must give up before its lease can expire under it.
  if (c.renewDeadline >= c.leaseDuration)
    ctx.addIssue({ code: 'custom', path: ['renewDeadline'], message: 'must be shorter than --lease-duration' });
  if (c.retryPeriod >= c.renewDeadline)
    ctx.addIssue({ code: 'custom', path: ['retryPeriod'], message: 'must be shorter than --renew-deadline' });
  if (c.burst && c.prometheusUrl === undefined)
    ctx.addIssue({ code: 'custom', path: ['prometheusUrl'], message: 'is required with --burst=true: the metric comes from there' });
});

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
