import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint, EndpointSlice, Service } from './k8s-types.js';
import { compactServices, compactSlices } from './compact.js';
import { projectService, projectSlice } from './projection.js';
import { objectKey } from '../shared.js';

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const word = fc.constantFrom('db', 'pod-0', 'east', 'zone-a', 'node-1', 'x', 'svc.data.svc.cluster.local', 'a"b\\c', '');
const tri = maybe(fc.boolean());

const arbEndpoint: fc.Arbitrary<Endpoint> = fc
  .record({
    addresses: fc.array(fc.ipV4(), { minLength: 1, maxLength: 3 }),
    conditions: maybe(fc.record({ ready: tri, serving: tri, terminating: tri })),
    hostname: maybe(word),
    zone: maybe(word),
    nodeName: maybe(word),
    targetRef: maybe(fc.record({ kind: maybe(fc.constant('Pod')), namespace: maybe(word), name: word, uid: maybe(fc.uuid()) })),
  })
  .map((e) => {
    // No key with an undefined value: what comes off the wire has none.
    const out: Endpoint = { addresses: e.addresses };
    for (const [k, v] of Object.entries(e)) if (v !== undefined && k !== 'addresses') (out as unknown as Record<string, unknown>)[k] = v;
    return out;
  });

const labelKeys = [
  'kubernetes.io/service-name',
  'endpointslice.kubernetes.io/managed-by',
  'multicluster.kubernetes.io/source-cluster',
  'mirror.linkerd.io/mirrored-service',
  'mirror.linkerd.io/cluster-name',
  'globalsvc.dev/global-of',
  'app.kubernetes.io/managed-by',
  'team',
];
const arbMeta = fc.record({
  name: fc.constantFrom('db', 'db-east', 'db-global-west-1'),
  namespace: fc.constantFrom('data', 'ns-1'),
  // Any string, quotes and backslashes too: the identity is read from the packed string without parsing it.
  uid: maybe(fc.oneof(fc.uuid(), fc.string())),
  resourceVersion: maybe(fc.oneof(fc.nat().map(String), fc.string())),
  deletionTimestamp: maybe(fc.constant('2026-12-05T00:00:00Z')),
  labels: maybe(fc.dictionary(fc.constantFrom(...labelKeys), word)),
  annotations: maybe(fc.dictionary(fc.constantFrom('mirror.linkerd.io/remote-svc-fq-name', 'globalsvc.dev/exclude', 'note'), word)),
  ownerReferences: maybe(
    fc.array(
      fc.oneof(
        fc.record({
          apiVersion: fc.constant('v1'),
          kind: fc.constant('Service'),
          name: word,
          uid: fc.uuid(),
          controller: fc.constant(true),
        }),
        // Any other owner (packed as it is): another kind, not the controller, more fields.
        fc.record(
          {
            apiVersion: fc.constantFrom('v1', 'apps/v1'),
            kind: fc.constantFrom('Service', 'StatefulSet'),
            name: word,
            uid: fc.uuid(),
            controller: fc.boolean(),
            blockOwnerDeletion: fc.boolean(),
          },
          { requiredKeys: ['apiVersion', 'kind', 'name', 'uid'] },
        ),
      ),
      {
        maxLength: 2,
      },
    ),
  ),
});

const arbSlice: fc.Arbitrary<EndpointSlice> = fc.record({
  metadata: arbMeta,
  addressType: fc.constantFrom('IPv4', 'IPv6', 'FQDN'),
  ports: fc.option(
    fc.array(
      fc.record({ name: maybe(word), protocol: maybe(fc.constantFrom('TCP', 'UDP')), port: maybe(fc.integer({ min: 1, max: 65535 })) }),
      {
        maxLength: 3,
      },
    ),
    { nil: undefined },
  ),
  endpoints: fc.option(fc.array(arbEndpoint, { maxLength: 6 }), { nil: undefined }),
});

const arbService: fc.Arbitrary<Service> = fc.record({
  metadata: arbMeta,
  spec: maybe(
    fc.record({
      type: maybe(fc.constantFrom('ClusterIP', 'LoadBalancer')),
      clusterIP: maybe(fc.constantFrom('None', '10.96.0.10')),
      selector: maybe(fc.constant({ app: 'db' })),
      ports: maybe(
        fc.array(
          fc.record({
            name: maybe(word),
            protocol: maybe(fc.constantFrom('TCP', 'UDP', 'SCTP')),
            port: fc.integer({ min: 1, max: 65535 }),
            targetPort: maybe(fc.oneof(fc.integer({ min: 1, max: 65535 }), word)),
            appProtocol: maybe(word),
          }),
          { maxLength: 3 },
        ),
      ),
      publishNotReadyAddresses: maybe(fc.boolean()),
      sessionAffinity: maybe(fc.constantFrom('ClientIP', 'None')),
      sessionAffinityConfig: maybe(fc.record({ clientIP: fc.record({ timeoutSeconds: fc.nat() }) })),
      internalTrafficPolicy: maybe(fc.constantFrom('Local', 'Cluster')),
      trafficDistribution: maybe(fc.constant('PreferClose')),
    }),
  ),
});

describe('the cache packs each object into one string and reads it back unchanged (compact.ts)', () => {
  it('an EndpointSlice, projected or not: unpack(pack(s)) equals s', () => {
    fc.assert(
      fc.property(arbSlice, (whole) => {
        for (const slice of [projectSlice(whole), whole]) {
          const packed = compactSlices.pack(slice);
          expect(typeof packed).toBe('string');
          expect(compactSlices.uid(packed)).toBe(slice.metadata.uid);
          expect(compactSlices.resourceVersion(packed)).toBe(slice.metadata.resourceVersion);
          expect(compactSlices.unpack(packed, objectKey(slice))).toEqual(slice);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a Service, projected or not: unpack(pack(s)) equals s', () => {
    fc.assert(
      fc.property(arbService, (whole) => {
        for (const service of [projectService(whole), whole]) {
          const packed = compactServices.pack(service);
          expect(compactServices.unpack(packed, objectKey(service))).toEqual(service);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells a slice with no endpoints list from one with an empty or a null list', () => {
    for (const endpoints of [undefined, [], null]) {
      const slice: EndpointSlice = { metadata: { name: 's', namespace: 'n' }, addressType: 'IPv4', endpoints };
      expect(compactSlices.unpack(compactSlices.pack(slice), 'n/s').endpoints).toStrictEqual(endpoints);
    }
  });

  it('holds a member slice of four endpoints in one string of 95 bytes (230 characters as JSON tuples)', () => {
    const slice = projectSlice({
      metadata: {
        name: 'svc5-east-bench',
        namespace: 'bench',
        uid: '00000005-0000-4000-8000-000000000000',
        resourceVersion: '31002',
        labels: { 'kubernetes.io/service-name': 'svc5-east', 'endpointslice.kubernetes.io/managed-by': 'bench.globalsvc.dev' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      endpoints: [0, 1, 2, 3].map((i) => ({
        addresses: [`10.40.0.${i}`],
        hostname: `pod-${i}`,
        conditions: { ready: true, serving: true, terminating: false },
      })),
    });
    const packed = compactSlices.pack(slice) as string;
    // One byte a character: V8 keeps it as a one-byte string.
    expect([...packed].every((c) => c.charCodeAt(0) < 256)).toBe(true);
    expect(packed.length).toBe(95);
    expect(compactSlices.uid(packed)).toBe('00000005-0000-4000-8000-000000000000');
    expect(compactSlices.resourceVersion(packed)).toBe('31002');
    // Read back, endpoints share the conditions objects the projection pools.
    const back = compactSlices.unpack(packed, 'bench/svc5-east-bench');
    expect(back.endpoints![0]!.conditions).toBe(slice.endpoints![0]!.conditions);
  });
});
