// A BurstPolicy as the controller reads it. The API server has defaulted it and checked what the
// CRD's schema and CEL rules can (manifests/crds/globalsvc.dev_burstpolicies.yaml); this checks it
// again, because an API server older than 1.25 skips CEL rules, and adds what the CRD cannot: a query
// template with known placeholders, timings that make sense together, peers that are not this
// cluster. Durations become milliseconds.
import * as z from '../zod.js';
import { parseDuration } from '../config.js';
import type { KubeObject } from '../domain/k8s-types.js';
import { isDnsLabel } from '../domain/naming.js';
import { DEFAULT_RPS_QUERY, templateProblems } from './query.js';

const DURATION = /^[0-9]+(ms|s|m|h)$/;
const duration = (fallback: string) =>
  z.pipe(
    z._default(z.string(), fallback).check(z.refine((v) => DURATION.test(v), 'must be a duration like 500ms, 15s, 2m or 1h')),
    z.transform((v: string) => parseDuration(v)),
  );
/** A range for rate(): PromQL's own syntax, kept as written. */
const promDuration = z.string().check(z.regex(/^[1-9][0-9]*(s|m|h)$/, 'must be a PromQL duration like 30s, 1m or 1h'));

const labelSelector = z
  .object({
    matchLabels: z.optional(z.record(z.string(), z.string())),
    matchExpressions: z.optional(
      z.array(
        z.object({
          key: z.string(),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.optional(z.array(z.string())),
        }),
      ),
    ),
  })
  .check(
    z.refine(
      (s) => Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions?.length ?? 0) > 0,
      'an empty selector would select every Deployment of the namespace',
    ),
  );

const weights = z._default(
  z.discriminatedUnion('mode', [
    z.object({
      mode: z.literal('Fixed'),
      local: z.number().check(z.int(), z.minimum(0), z.maximum(99)),
      peers: z.number().check(z.int(), z.minimum(1), z.maximum(100)),
    }),
    z.object({ mode: z.literal('ReadyReplicas') }),
  ]),
  { mode: 'ReadyReplicas' },
);

/** The APIs a burst can split traffic with: Gateway API (what Linkerd reads), or SMI for meshes without it. */
export const TRAFFIC_APIS = ['HTTPRoute', 'TrafficSplit'] as const;
export type TrafficApi = (typeof TRAFFIC_APIS)[number];

const specSchema = z.object({
  target: z
    .object({
      kind: z._default(z.literal('Deployment', { error: 'only Deployment can burst for now' }), 'Deployment'),
      name: z.optional(z.string().check(z.minLength(1))),
      selector: z.optional(labelSelector),
    })
    .check(
      z.refine((t) => (t.name === undefined) !== (t.selector === undefined), 'exactly one of target.name and target.selector must be set'),
    ),
  metric: z.prefault(
    z.object({
      type: z._default(z.enum(['RequestsPerSecond', 'PromQL']), 'RequestsPerSecond'),
      query: z.optional(z.string().check(z.minLength(1))),
      window: z._default(promDuration, '1m'),
      interval: duration('15s'),
    }),
    {},
  ),
  burstValue: z.number().check(z.positive()),
  reconcileValue: z.number().check(z.minimum(0)),
  throttleDelay: duration('2m'),
  peers: z.array(z.string().check(z.refine(isDnsLabel, 'must be a cluster name (a DNS label)'))).check(z.minLength(1)),
  replicate: z.prefault(z.object({ services: z._default(z.boolean(), true), configMaps: z._default(z.boolean(), true) }), {}),
  weights,
  traffic: z.prefault(z.object({ api: z._default(z.enum(TRAFFIC_APIS), 'HTTPRoute') }), {}),
  readinessDeadline: duration('60s').check(z.refine((ms) => ms > 0, 'must be longer than 0')),
  cooldown: duration('5m'),
});

type Spec = z.output<typeof specSchema>;

/** The rules across fields, with the local cluster's name for the one that needs it. */
const withRules = (localCluster: string) =>
  specSchema.check(
    z.superRefine((s: Spec, ctx) => {
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      if (s.reconcileValue >= s.burstValue) issue(['reconcileValue'], 'must be less than burstValue (between the two nothing changes)');
      if (s.weights.mode === 'Fixed' && s.weights.local + s.weights.peers !== 100)
        issue(['weights'], `local and peers must sum to 100, not ${s.weights.local + s.weights.peers}`);
      if (s.metric.type === 'PromQL' && s.metric.query === undefined) issue(['metric', 'query'], 'is required with type PromQL');
      if (s.metric.type !== 'PromQL' && s.metric.query !== undefined) issue(['metric', 'query'], 'is only allowed with type PromQL');
      for (const problem of templateProblems(s.metric.query ?? '')) issue(['metric', 'query'], problem);
      if (s.peers.includes(localCluster)) issue(['peers'], `must not name this cluster (${localCluster}): it is where the target runs`);
      if (new Set(s.peers).size !== s.peers.length) issue(['peers'], 'names a cluster twice');
      // With readings every interval, a shorter delay still waits a whole interval: say so rather than surprise.
      if (s.throttleDelay > 0 && s.throttleDelay < s.metric.interval)
        issue(['throttleDelay'], `must be 0 or at least metric.interval (${s.metric.interval}ms): it is measured between readings`);
    }),
  );

export type Weights = Spec['weights'];
export type LabelSelector = z.output<typeof labelSelector>;

/** A valid policy, durations in milliseconds, the query template chosen. */
export interface BurstPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly target: Readonly<{ kind: 'Deployment'; name?: string; selector?: LabelSelector }>;
  readonly metric: Readonly<{ type: 'RequestsPerSecond' | 'PromQL'; query: string; window: string; intervalMs: number }>;
  readonly burstValue: number;
  readonly reconcileValue: number;
  readonly throttleDelayMs: number;
  readonly peers: readonly string[];
  readonly replicate: Readonly<{ services: boolean; configMaps: boolean }>;
  readonly weights: Readonly<Weights>;
  readonly traffic: Readonly<{ api: TrafficApi }>;
  readonly readinessDeadlineMs: number;
  readonly cooldownMs: number;
}

export class BurstPolicyError extends Error {
  override name = 'BurstPolicyError';
  constructor(
    readonly policy: string,
    readonly problems: string[],
  ) {
    super(`BurstPolicy ${policy} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads a BurstPolicy object; throws a BurstPolicyError listing every problem, each with its field. */
export function parseBurstPolicy(object: KubeObject & { spec?: unknown }, localCluster: string): BurstPolicy {
  const { namespace = '', name = '', generation = 0 } = object.metadata;
  const result = withRules(localCluster).safeParse(object.spec ?? {});
  if (!result.success)
    throw new BurstPolicyError(
      `${namespace}/${name}`,
      result.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`),
    );
  const s = result.data;
  return Object.freeze({
    namespace,
    name,
    generation,
    target: s.target,
    metric: {
      type: s.metric.type,
      query: s.metric.query ?? DEFAULT_RPS_QUERY,
      window: s.metric.window,
      intervalMs: s.metric.interval,
    },
    burstValue: s.burstValue,
    reconcileValue: s.reconcileValue,
    throttleDelayMs: s.throttleDelay,
    peers: s.peers,
    replicate: s.replicate,
    weights: s.weights,
    traffic: s.traffic,
    readinessDeadlineMs: s.readinessDeadline,
    cooldownMs: s.cooldown,
  });
}
