import type { Condition, Service, ServiceExport, ServiceImportPort } from './k8s-types.js';
import { linkerd, mcs, ours } from './labels.js';
import type { MemberView } from './desired.js';
import type { ImportType } from './mcs.js';

/**
 * KEP-1645's ServiceExport on Linkerd (--mcs-api): a ServiceExport `<ns>/<name>` marks the Service
 * of that name for export. globalsvc puts Linkerd's export label on it, and beside it the export's
 * time and the Service's type, which Linkerd's mirrors copy into every linked cluster with the
 * Service's other annotations. Every cluster then sees every export of a name (its own, and each
 * linked cluster's on that cluster's mirror) and settles conflicts the same way: the oldest export
 * wins (KEP-1645, "Constraints and Conflict Resolution").
 */

/**
 * The rest of what KEP-1645 resolves across the exports of a name, defaults filled in: the
 * Service's session affinity and its config, internal traffic policy and traffic distribution,
 * and the ServiceExport's exportedLabels and exportedAnnotations (for the ServiceImport).
 */
export interface ExportProperties {
  sessionAffinity: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  internalTrafficPolicy: string;
  trafficDistribution?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const DEFAULT_PROPERTIES: ExportProperties = { sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' };

/** What an exported Service says of itself, in its own cluster and on its mirrors elsewhere. */
export interface ExportClaim {
  cluster: string;
  /** The ServiceExport's creationTimestamp (RFC 3339, seconds). */
  exportedAt: string;
  type: ImportType;
  ports: readonly ServiceImportPort[];
  properties?: ExportProperties;
}

/** JSON with its keys sorted: the same properties always read the same, in every cluster. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function exportProperties(service: Service, exp: ServiceExport | undefined): ExportProperties {
  const spec = service.spec ?? {};
  const out: ExportProperties = {
    sessionAffinity: spec.sessionAffinity ?? 'None',
    internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
  };
  if (out.sessionAffinity !== 'None' && spec.sessionAffinityConfig) out.sessionAffinityConfig = spec.sessionAffinityConfig;
  if (spec.trafficDistribution !== undefined) out.trafficDistribution = spec.trafficDistribution;
  const { exportedLabels, exportedAnnotations } = exp?.spec ?? {};
  if (exportedLabels && Object.keys(exportedLabels).length > 0) out.labels = exportedLabels;
  if (exportedAnnotations && Object.keys(exportedAnnotations).length > 0) out.annotations = exportedAnnotations;
  return out;
}

/** A mirror's copy of the properties annotation; what cannot be read is taken for the defaults. */
function parseProperties(text: string | undefined): ExportProperties {
  if (text === undefined) return DEFAULT_PROPERTIES;
  try {
    const p = JSON.parse(text) as Partial<ExportProperties> | null;
    return p && typeof p.sessionAffinity === 'string' && typeof p.internalTrafficPolicy === 'string'
      ? (p as ExportProperties)
      : DEFAULT_PROPERTIES;
  } catch {
    return DEFAULT_PROPERTIES;
  }
}

/** The labels and annotations an export puts on its Service, applied by their own field manager. */
export function exportMarks(
  exportedAt: string,
  type: ImportType,
  properties: ExportProperties = DEFAULT_PROPERTIES,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [linkerd.exported]: 'true' },
    annotations: { [ours.exportedAt]: exportedAt, [ours.exportType]: type, [ours.exportProperties]: canonical(properties) },
  };
}

export function serviceImportType(service: Service): ImportType {
  return service.spec?.clusterIP === 'None' ? 'Headless' : 'ClusterSetIP';
}

/** A Service's ports as an export claims them: Linkerd's mirrors keep name, protocol and port, not appProtocol. */
function claimPorts(service: Service): ServiceImportPort[] {
  return (service.spec?.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP', port: p.port }));
}

/** The claim a linked cluster's export makes here, read from its mirror; none for a Service exported without a ServiceExport. */
export function claimOfMember(view: MemberView): ExportClaim | undefined {
  if (view.member.origin === 'local') return undefined;
  const a = view.service.metadata.annotations;
  const exportedAt = a?.[ours.exportedAt];
  const type = a?.[ours.exportType];
  if (exportedAt === undefined || (type !== 'Headless' && type !== 'ClusterSetIP')) return undefined;
  return {
    cluster: view.member.cluster,
    exportedAt,
    type,
    ports: claimPorts(view.service),
    properties: parseProperties(a?.[ours.exportProperties]),
  };
}

export function claimOfLocal(cluster: string, exp: ServiceExport, service: Service): ExportClaim {
  return {
    cluster,
    exportedAt: exp.metadata.creationTimestamp ?? '',
    type: serviceImportType(service),
    ports: claimPorts(service),
    properties: exportProperties(service, exp),
  };
}

const portText = (p: ServiceImportPort) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}:${p.port}`;
const portSetText = (ports: readonly ServiceImportPort[]) => ports.map(portText).sort().join(',');

export type ConflictReason =
  | 'TypeConflict'
  | 'PortConflict'
  | 'SessionAffinityConflict'
  | 'SessionAffinityConfigConflict'
  | 'InternalTrafficPolicyConflict'
  | 'TrafficDistributionConflict'
  | 'LabelsConflict'
  | 'AnnotationsConflict';

/** Each property KEP-1645 resolves by the oldest export, with the reason a difference is told by. */
const PROPERTY_CONFLICTS: [keyof ExportProperties, ConflictReason][] = [
  ['sessionAffinity', 'SessionAffinityConflict'],
  ['sessionAffinityConfig', 'SessionAffinityConfigConflict'],
  ['internalTrafficPolicy', 'InternalTrafficPolicyConflict'],
  ['trafficDistribution', 'TrafficDistributionConflict'],
  ['labels', 'LabelsConflict'],
  ['annotations', 'AnnotationsConflict'],
];

/** How the exports of one name resolve, the same in every cluster that sees them all. */
export interface Resolution {
  /** Oldest first (ties by cluster name): the order of precedence. */
  claims: readonly ExportClaim[];
  type: ImportType;
  /** The union of the exports' ports; a port name two exports define differently is the older one's. */
  ports: ServiceImportPort[];
  /** The oldest export's. */
  properties: ExportProperties;
  conflicts: { reason: ConflictReason; message: string }[];
}

export function resolveExports(claims: readonly ExportClaim[]): Resolution | undefined {
  if (claims.length === 0) return undefined;
  const ordered = [...claims].sort((a, b) =>
    a.exportedAt === b.exportedAt ? (a.cluster < b.cluster ? -1 : 1) : a.exportedAt < b.exportedAt ? -1 : 1,
  );
  const oldest = ordered[0]!;
  const conflicts: Resolution['conflicts'] = [];
  const otherTypes = ordered.filter((c) => c.type !== oldest.type);
  if (otherTypes.length > 0)
    conflicts.push({
      reason: 'TypeConflict',
      message: `${oldest.type} from ${oldest.cluster} (the oldest export) wins over ${otherTypes.map((c) => `${c.type} from ${c.cluster}`).join(', ')}`,
    });
  const ports: ServiceImportPort[] = [];
  const byName = new Map<string, { port: ServiceImportPort; cluster: string }>();
  const dropped: string[] = [];
  for (const claim of ordered)
    for (const port of claim.ports) {
      // A Service's port names are unique within it: across exports, a name is one port.
      const held = byName.get(port.name ?? '');
      if (held && portText(held.port) === portText(port)) continue;
      if (held) {
        dropped.push(`${claim.cluster}'s ${portText(port)} (${held.cluster}'s ${portText(held.port)} is older)`);
        continue;
      }
      byName.set(port.name ?? '', { port, cluster: claim.cluster });
      ports.push(port);
    }
  const sets = new Set(ordered.map((c) => portSetText(c.ports)));
  if (sets.size > 1)
    conflicts.push({
      reason: 'PortConflict',
      message:
        `the exports' ports differ (${ordered.map((c) => `${c.cluster}: ${portSetText(c.ports) || 'none'}`).join('; ')}); the clusterset has their union` +
        (dropped.length > 0 ? `, without ${dropped.join(', ')}` : ''),
    });
  const properties = oldest.properties ?? DEFAULT_PROPERTIES;
  for (const [field, reason] of PROPERTY_CONFLICTS) {
    const text = (c: ExportClaim) => canonical((c.properties ?? DEFAULT_PROPERTIES)[field] ?? null);
    const others = ordered.filter((c) => text(c) !== text(oldest));
    if (others.length > 0)
      conflicts.push({
        reason,
        message: `${field} ${text(oldest)} from ${oldest.cluster} (the oldest export) wins over ${others.map((c) => `${text(c)} from ${c.cluster}`).join(', ')}`,
      });
  }
  return { claims: ordered, type: oldest.type, ports, properties, conflicts };
}

export type ConditionType = 'Valid' | 'Ready' | 'Conflict';

/** What one ServiceExport asks of its Service, and the conditions it reads. */
export interface ExportPlan {
  /** Apply these marks (by globalsvc's export field manager), or release every mark of ours ('unmark'), or leave the Service be. */
  service: { marks: ReturnType<typeof exportMarks>; uid: string | undefined } | 'unmark' | undefined;
  conditions: Omit<Condition, 'lastTransitionTime'>[];
  /** A Warning to tell on the ServiceExport. */
  problem?: { reason: string; message: string };
}

/**
 * The plan for one name: `exp` the ServiceExport here (if any), `service` the local Service,
 * `remote` the claims the mirrors of linked clusters carry, `markError` the reason the last
 * apply of the marks failed (another manager owns Linkerd's label with another value).
 */
export function planExport(input: {
  exp: ServiceExport | undefined;
  service: Service | undefined;
  localCluster: string;
  remote: readonly ExportClaim[];
  markError?: string;
}): ExportPlan {
  const { exp, service } = input;
  const marked = service?.metadata.annotations?.[ours.exportedAt] !== undefined;
  if (!exp || exp.metadata.deletionTimestamp) return { service: marked ? 'unmark' : undefined, conditions: [] };
  const generation = exp.metadata.generation;
  const condition = (type: ConditionType, status: Condition['status'], reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });
  const name = `${exp.metadata.namespace ?? ''}/${exp.metadata.name ?? ''}`;
  const invalid = (reason: string, message: string): ExportPlan => ({
    service: marked ? 'unmark' : undefined,
    conditions: [
      condition('Valid', 'False', reason, message),
      condition('Ready', 'False', 'Pending', 'not exported while the ServiceExport is not valid'),
      condition('Conflict', 'False', 'NoConflicts', ''),
    ],
    problem: { reason, message },
  });
  if (!service) return invalid('NoService', `Service ${name} does not exist`);
  if (service.spec?.type === 'ExternalName')
    return invalid(
      'InvalidServiceType',
      `Service ${name} is of type ExternalName, which KEP-1645 does not export (Linkerd's mirrors cannot either)`,
    );

  const local = claimOfLocal(input.localCluster, exp, service);
  const marks = exportMarks(local.exportedAt, local.type, local.properties);
  const a = service.metadata.annotations ?? {};
  const done = service.metadata.labels?.[linkerd.exported] === 'true' && Object.entries(marks.annotations).every(([k, v]) => a[k] === v);
  const resolution = resolveExports([local, ...input.remote.filter((c) => c.cluster !== input.localCluster)])!;
  const conflicts = resolution.conflicts;
  const plan: ExportPlan = {
    service: done ? undefined : { marks, uid: service.metadata.uid },
    conditions: [
      condition('Valid', 'True', 'Valid', `Service ${name} can be exported`),
      input.markError
        ? condition('Ready', 'False', 'Failed', input.markError)
        : done
          ? condition('Ready', 'True', 'Exported', `Service ${name} carries ${linkerd.exported}=true: Linkerd's Links mirror it`)
          : condition('Ready', 'False', 'Pending', `marking Service ${name} for Linkerd's mirrors`),
      conflicts.length > 0
        ? condition(
            'Conflict',
            'True',
            conflicts.map((c) => c.reason).join(','),
            conflicts.map((c) => `${c.reason}: ${c.message}`).join('; '),
          )
        : condition('Conflict', 'False', 'NoConflicts', ''),
    ],
  };
  if (input.markError) plan.problem = { reason: 'ExportLabelTaken', message: input.markError };
  else if (conflicts.length > 0)
    plan.problem = { reason: 'ExportConflict', message: conflicts.map((c) => `${c.reason}: ${c.message}`).join('; ') };
  return plan;
}

/**
 * The status to apply: each condition keeps its lastTransitionTime while its status stays, and
 * nothing is written when nothing changed.
 */
export function exportStatus(exp: ServiceExport, wanted: ExportPlan['conditions'], now: string): ServiceExport | undefined {
  const observed = exp.status?.conditions ?? [];
  const conditions: Condition[] = wanted.map((c) => {
    const before = observed.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now };
  });
  const same =
    conditions.length === observed.length &&
    conditions.every((c) => {
      const o = observed.find((x) => x.type === c.type);
      return (
        o !== undefined &&
        o.status === c.status &&
        o.reason === c.reason &&
        o.message === c.message &&
        o.observedGeneration === c.observedGeneration
      );
    });
  if (same) return undefined;
  return {
    apiVersion: mcs.apiVersion,
    kind: 'ServiceExport',
    metadata: { name: exp.metadata.name, namespace: exp.metadata.namespace },
    status: { conditions },
  };
}
