import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Service, ServiceExport, ServiceImportPort } from './k8s-types.js';
import type { Settings } from './desired.js';
import { planGlobal } from './plan.js';
import { exportStatus, planExport, resolveExports, type ExportClaim } from './service-export.js';
import { localService, statefulSet, view } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';

const tcp = (name: string, port: number, protocol = 'TCP'): ServiceImportPort => ({ name, protocol, port });
const claim = (cluster: string, exportedAt: string, type: ExportClaim['type'], ports = [tcp('http', 80)]): ExportClaim => ({
  cluster,
  exportedAt,
  type,
  ports,
});
const serviceExport = (created = '2026-12-03T10:00:00Z'): ServiceExport => ({
  apiVersion: 'multicluster.x-k8s.io/v1alpha1',
  kind: 'ServiceExport',
  metadata: { name: 'db', namespace: 'data', uid: 'export-uid', generation: 1, creationTimestamp: created },
});
const clusterIP = (name = 'db'): Service => ({
  ...localService(name),
  spec: { clusterIP: '10.96.0.9', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
});

describe('resolving the exports of one name (KEP-1645: the oldest export wins)', () => {
  it('takes the oldest export headlessness and raises TypeConflict', () => {
    const r = resolveExports([claim('east', '2026-12-03T10:00:05Z', 'Headless'), claim('west', '2026-12-03T10:00:00Z', 'ClusterSetIP')])!;
    expect(r.type).toBe('ClusterSetIP');
    expect(r.conflicts.map((c) => c.reason)).toEqual(['TypeConflict']);
    expect(r.conflicts[0]!.message).toContain('ClusterSetIP from west (the oldest export) wins over Headless from east');
  });

  it('exposes the union of the ports and raises PortConflict when the sets differ', () => {
    const r = resolveExports([
      claim('west', '2026-12-03T10:00:00Z', 'ClusterSetIP', [tcp('http', 80)]),
      claim('east', '2026-12-03T10:00:01Z', 'ClusterSetIP', [tcp('http', 80), tcp('stcp', 142, 'SCTP')]),
    ])!;
    expect(r.ports).toEqual([tcp('http', 80), tcp('stcp', 142, 'SCTP')]);
    expect(r.conflicts.map((c) => c.reason)).toEqual(['PortConflict']);
  });

  it('gives a port name defined twice to the older export', () => {
    const r = resolveExports([
      claim('east', '2026-12-03T10:00:01Z', 'ClusterSetIP', [tcp('http', 81)]),
      claim('west', '2026-12-03T10:00:00Z', 'ClusterSetIP', [tcp('http', 80)]),
    ])!;
    expect(r.ports).toEqual([tcp('http', 80)]);
    expect(r.conflicts[0]!.message).toContain("without east's http/TCP:81 (west's http/TCP:80 is older)");
  });

  it('has no conflict when every export says the same', () => {
    const r = resolveExports([claim('west', '2026-12-03T10:00:00Z', 'Headless'), claim('east', '2026-12-03T09:00:00Z', 'Headless')])!;
    expect(r.conflicts).toEqual([]);
    expect(r.claims.map((c) => c.cluster)).toEqual(['east', 'west']);
  });

  it('is the same whatever order the clusters see the exports in (every cluster resolves alike)', () => {
    const arbClaim = fc.record({
      cluster: fc.constantFrom('west', 'east', 'north', 'south'),
      exportedAt: fc.constantFrom('2026-12-03T10:00:00Z', '2026-12-03T10:00:01Z', '2026-12-03T10:00:02Z'),
      type: fc.constantFrom<ExportClaim['type']>('Headless', 'ClusterSetIP'),
      ports: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom('http', 'grpc', 'pg'),
          protocol: fc.constantFrom('TCP', 'UDP'),
          port: fc.constantFrom(80, 81, 5432),
        }),
        { maxLength: 3, selector: (p) => p.name },
      ),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbClaim, { minLength: 1, maxLength: 4, selector: (c) => c.cluster }),
        fc.func(fc.integer()),
        (claims, rank) => {
          const shuffled = [...claims].sort((a, b) => rank(a.cluster) - rank(b.cluster));
          const a = resolveExports(claims)!;
          const b = resolveExports(shuffled)!;
          expect(b).toEqual(a);
          // The oldest export's own ports are all in the union, as it has them.
          for (const p of a.claims[0]!.ports) expect(a.ports).toContainEqual(p);
          // A port name appears once.
          expect(new Set(a.ports.map((p) => p.name)).size).toBe(a.ports.length);
        },
      ),
    );
  });
});

describe('a ServiceExport here', () => {
  it('marks its Service for Linkerd with its time and type, and reads Ready once the marks are there', () => {
    const exp = serviceExport();
    const first = planExport({ exp, service: clusterIP(), localCluster: 'west', remote: [] });
    expect(first.service).toEqual({
      marks: {
        labels: { 'mirror.linkerd.io/exported': 'true' },
        annotations: {
          'globalsvc.dev/exported-at': '2026-12-03T10:00:00Z',
          'globalsvc.dev/export-type': 'ClusterSetIP',
          'globalsvc.dev/export-properties': '{"internalTrafficPolicy":"Cluster","sessionAffinity":"None"}',
        },
      },
      uid: 'uid-data-db',
    });
    expect(first.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual([
      'Valid=True Valid',
      'Ready=False Pending',
      'Conflict=False NoConflicts',
    ]);
    const marked = clusterIP();
    marked.metadata.labels = { 'mirror.linkerd.io/exported': 'true' };
    marked.metadata.annotations = { ...(first.service as { marks: { annotations: Record<string, string> } }).marks.annotations };
    const then = planExport({ exp, service: marked, localCluster: 'west', remote: [] });
    expect(then.service).toBeUndefined();
    expect(then.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual([
      'Valid=True Valid',
      'Ready=True Exported',
      'Conflict=False NoConflicts',
    ]);
    expect(then.conditions[0]!.observedGeneration).toBe(1);

    // The ServiceExport gone: every mark of ours is released.
    expect(planExport({ exp: undefined, service: marked, localCluster: 'west', remote: [] })).toEqual({
      service: 'unmark',
      conditions: [],
    });
    // Nothing to do for a Service nobody exports and we never marked.
    expect(planExport({ exp: undefined, service: clusterIP(), localCluster: 'west', remote: [] })).toEqual({
      service: undefined,
      conditions: [],
    });
  });

  it('is not valid without its Service, or for an ExternalName Service, and tells why', () => {
    const none = planExport({ exp: serviceExport(), service: undefined, localCluster: 'west', remote: [] });
    expect(none.conditions[0]).toMatchObject({ type: 'Valid', status: 'False', reason: 'NoService' });
    expect(none.problem).toEqual({ reason: 'NoService', message: 'Service data/db does not exist' });
    const external: Service = { ...clusterIP(), spec: { type: 'ExternalName' } };
    const ext = planExport({ exp: serviceExport(), service: external, localCluster: 'west', remote: [] });
    expect(ext.conditions[0]).toMatchObject({ type: 'Valid', status: 'False', reason: 'InvalidServiceType' });
    expect(ext.service).toBeUndefined();
  });

  it('reads Conflict with the KEP reasons when a linked cluster exports it otherwise, in every cluster alike', () => {
    const west = planExport({
      exp: serviceExport('2026-12-03T10:00:00Z'),
      service: clusterIP(),
      localCluster: 'west',
      remote: [claim('east', '2026-12-03T10:00:09Z', 'Headless', [tcp('http', 81)])],
    });
    const conflict = west.conditions.find((c) => c.type === 'Conflict')!;
    expect(conflict).toMatchObject({ status: 'True', reason: 'TypeConflict,PortConflict' });
    expect(west.problem?.reason).toBe('ExportConflict');
  });

  it('says Failed when another manager holds the export label with another value', () => {
    const p = planExport({ exp: serviceExport(), service: clusterIP(), localCluster: 'west', remote: [], markError: 'conflict' });
    expect(p.conditions[1]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Failed', message: 'conflict' });
    expect(p.problem?.reason).toBe('ExportLabelTaken');
  });

  it('writes its status only when a condition changed, keeping the time of the last transition', () => {
    const exp = serviceExport();
    const wanted = planExport({ exp, service: clusterIP(), localCluster: 'west', remote: [] }).conditions;
    const first = exportStatus(exp, wanted, '2026-12-03T10:00:01Z')!;
    expect(first.status!.conditions!.every((c) => c.lastTransitionTime === '2026-12-03T10:00:01Z')).toBe(true);
    const written = { ...exp, status: first.status };
    expect(exportStatus(written, wanted, '2026-12-03T10:05:00Z')).toBeUndefined();
    const ready = wanted.map((c) => (c.type === 'Ready' ? { ...c, status: 'True' as const, reason: 'Exported' } : c));
    const next = exportStatus(written, ready, '2026-12-03T10:05:00Z')!;
    expect(next.status!.conditions!.map((c) => `${c.type} ${c.lastTransitionTime}`)).toEqual([
      'Valid 2026-12-03T10:00:01Z',
      'Ready 2026-12-03T10:05:00Z',
      'Conflict 2026-12-03T10:00:01Z',
    ]);
  });
});

describe('the ServiceImport of exported services', () => {
  const settings: Settings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100 };
  const key = { namespace: 'data', name: 'db' };

  it('takes the oldest export type and the resolved ports, not the members', () => {
    const ns = new FakeNamespace(true);
    // West exported first, a ClusterIP Service; east's headless export came later.
    ns.exportClaims = [
      claim('west', '2026-12-03T10:00:00Z', 'ClusterSetIP', [tcp('pg', 5432)]),
      claim('east', '2026-12-03T10:00:05Z', 'Headless', [tcp('pg', 5433)]),
    ];
    const west = view(
      { ...localService('db'), spec: { clusterIP: '10.96.0.9', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] } },
      [],
    );
    converge(ns, (w) => planGlobal(w, settings), key, [west, statefulSet('east', 1, 2)], 'db-global');
    const imp = ns.imports.get('db')!;
    expect(imp.spec?.type).toBe('ClusterSetIP');
    expect(imp.spec?.ports).toEqual([tcp('pg', 5432)]);
    expect(imp.spec?.ips).toEqual([ns.services.get('db-clusterset')!.spec!.clusterIP]);
  });

  it('exists in a cluster that alone exports the name, with its own endpoints, and goes with the export', () => {
    const ns = new FakeNamespace(true);
    const members = [statefulSet('west', 2, 1)];
    ns.exportClaims = [claim('west', '2026-12-03T10:00:00Z', 'Headless', [tcp('pg', 5432)])];
    const plans = converge(ns, (w) => planGlobal(w, settings), key, members, 'db-global');
    expect(plans.at(-1)!.writes).toEqual([]);
    expect(ns.services.get('db-global')).toBeUndefined();
    const imp = ns.imports.get('db')!;
    expect(imp.spec?.type).toBe('Headless');
    expect(imp.status).toEqual({ clusters: [{ cluster: 'west' }] });
    expect(ns.importSlicesOf('db').flatMap((s) => (s.endpoints ?? []).map((e) => e.hostname))).toEqual(['db-0', 'db-1']);
    // Unexported: no exporting cluster is left, and the import goes with its slices.
    ns.exportClaims = [];
    converge(ns, (w) => planGlobal(w, settings), key, members, 'db-global');
    expect(ns.imports.get('db')).toBeUndefined();
    expect(ns.importSlicesOf('db')).toEqual([]);
  });

  it("carries the oldest export's session affinity, traffic policies and exported labels and annotations, and tells each difference", () => {
    const west: ExportClaim = {
      ...claim('west', '2026-12-03T10:00:00Z', 'ClusterSetIP', [tcp('pg', 5432)]),
      properties: {
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
        internalTrafficPolicy: 'Cluster',
        trafficDistribution: 'PreferClose',
        labels: { tier: 'db' },
        annotations: { owner: 'team-a' },
      },
    };
    const east: ExportClaim = {
      ...claim('east', '2026-12-03T10:00:05Z', 'ClusterSetIP', [tcp('pg', 5432)]),
      properties: { sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', labels: { tier: 'cache' } },
    };
    const r = resolveExports([east, west])!;
    expect(r.properties).toEqual(west.properties);
    expect(r.conflicts.map((c) => c.reason)).toEqual([
      'SessionAffinityConflict',
      'SessionAffinityConfigConflict',
      'TrafficDistributionConflict',
      'LabelsConflict',
      'AnnotationsConflict',
    ]);
    expect(r.conflicts[3]!.message).toBe('labels {"tier":"db"} from west (the oldest export) wins over {"tier":"cache"} from east');

    const ns = new FakeNamespace(true);
    ns.exportClaims = [west, east];
    const members = [
      view({ ...localService('db'), spec: { clusterIP: '10.96.0.9', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] } }, []),
      statefulSet('east', 1, 2),
    ];
    converge(ns, (w) => planGlobal(w, settings), key, members, 'db-global');
    const imp = ns.imports.get('db')!;
    expect(imp.spec).toMatchObject({
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
      internalTrafficPolicy: 'Cluster',
      trafficDistribution: 'PreferClose',
    });
    expect(imp.metadata.labels).toEqual({ tier: 'db', 'app.kubernetes.io/managed-by': 'globalsvc', 'globalsvc.dev/global-of': 'db' });
    expect(imp.metadata.annotations).toMatchObject({ owner: 'team-a' });
    // West's export goes: east's properties are the clusterset's now, and the import follows.
    ns.exportClaims = [east];
    const plans = converge(ns, (w) => planGlobal(w, settings), key, members, 'db-global');
    expect(plans[0]!.writes.map((w) => `${w.verb} ${w.kind}`)).toContain('apply ServiceImport');
    expect(ns.imports.get('db')!.metadata.labels?.tier).toBe('cache');
    expect(ns.imports.get('db')!.spec?.sessionAffinity).toBe('None');
  });
});
