import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PHASES, decide } from './decide.js';
import { parseBurstPolicy, TRAFFIC_APIS } from './policy.js';
import { statusOf } from './status.js';
import { minimalSpec as minimal } from '../test-support/burst-policies.js';
import { policy, T0 } from '../test-support/burst-timeline.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const CRD_PATH = 'manifests/crds/globalsvc.dev_burstpolicies.yaml';

interface Schema {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
}
const crd = parse(read(CRD_PATH)) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
const root = crd.spec.versions[0]!.schema.openAPIV3Schema;

/** The API server's defaulting, for the parts of a structural schema this CRD uses. */
function withDefaults(value: unknown, schema: Schema): unknown {
  if (schema.type !== 'object' || value === null || typeof value !== 'object' || !schema.properties) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (out[key] === undefined && sub.default !== undefined) out[key] = structuredClone(sub.default);
    if (out[key] !== undefined) out[key] = withDefaults(out[key], sub);
  }
  return out;
}

/** Paths in `value` the schema does not know: the API server would prune them. */
function unknownFields(value: unknown, schema: Schema, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, schema.items ?? {}, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || !schema.properties) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    schema.properties![k] ? unknownFields(v, schema.properties![k]!, `${path}.${k}`) : [`${path}.${k}`],
  );
}

describe('the BurstPolicy CRD', () => {
  it('ships the same file in the Helm chart’s crds/', () => {
    expect(read('manifests/helm/globalsvc/crds/globalsvc.dev_burstpolicies.yaml')).toBe(read(CRD_PATH));
  });

  it('has the phases of the state machine', () => {
    expect(root.properties!.status!.properties!.phase!.enum).toEqual([...PHASES]);
  });

  it('defaults a spec the way the controller does', () => {
    const defaulted = withDefaults(minimal, root.properties!.spec!) as Record<string, unknown>;
    expect(defaulted).not.toEqual(minimal);
    const object = (spec: unknown) => ({ metadata: { namespace: 'shop', name: 'web' }, spec });
    expect(parseBurstPolicy(object(defaulted), 'west')).toEqual(parseBurstPolicy(object(minimal), 'west'));
    expect(defaulted.traffic).toEqual({ api: 'HTTPRoute' });
  });

  it('offers the traffic APIs the controller can write, and no other', () => {
    expect(root.properties!.spec!.properties!.traffic!.properties!.api!.enum).toEqual([...TRAFFIC_APIS]);
  });

  it('knows every field of the status the controller writes', () => {
    const p = policy();
    const first = decide(undefined, { metric: { ok: true, value: 150 }, replica: 'Absent' }, T0, p);
    const second = decide(first.state, { metric: { ok: false, reason: 'NoData', message: 'none' }, replica: 'Absent' }, T0 + 15_000, p);
    const status = statusOf(second, { replicated: [{ cluster: 'east', kind: 'Deployment', namespace: 'shop', name: 'web' }] }, T0 + 15_000);
    expect(status.threshold).toBeDefined();
    expect(unknownFields(status, root.properties!.status!)).toEqual([]);
  });
});
