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

/** What an exported Service says of itself, in its own cluster and on its mirrors elsewhere. */
export interface ExportClaim {
  cluster: string;
  /** The ServiceExport's creationTimestamp (RFC 3339, seconds). */
  exportedAt: string;
  type: ImportType;
  ports: readonly ServiceImportPort[];
}

/** The labels and annotations an export puts on its Service, applied by their own field manager. */
export function exportMarks(exportedAt: string, type: ImportType): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [linkerd.exported]: 'true' },
    annotations: { [ours.exportedAt]: exportedAt, [ours.exportType]: type },
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
  return { cluster: view.member.cluster, exportedAt, type, ports: claimPorts(view.service) };
}

export function claimOfLocal(cluster: string, exportedAt: string, service: Service): ExportClaim {
  return { cluster, exportedAt, type: serviceImportType(service), ports: claimPorts(service) };
}

const portText = (p: ServiceImportPort) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}:${p.port}`;
const portSetText = (ports: readonly ServiceImportPort[]) => ports.map(portText).sort().join(',');

export type ConflictReason = 'TypeConflict' | 'PortConflict';

/** How the exports of one name resolve, the same in every cluster that sees them all. */
export interface Resolution {
  /** Oldest first (ties by cluster name): the order of precedence. */
  claims: readonly ExportClaim[];
  type: ImportType;
  /** The union of the exports' ports; a port name two exports define differently is the older one's. */
  ports: ServiceImportPort[];
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
      const id = `${port.name ?? ''}/${port.protocol ?? 'TCP'}`;
      const held = byName.get(port.name ?? '') ?? byName.get(id);
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
  return { claims: ordered, type: oldest.type, ports, conflicts };
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

  const exportedAt = exp.metadata.creationTimestamp ?? '';
  const local = claimOfLocal(input.localCluster, exportedAt, service);
  const marks = exportMarks(exportedAt, local.type);
  const a = service.metadata.annotations;
  const done =
    service.metadata.labels?.[linkerd.exported] === 'true' && a?.[ours.exportedAt] === exportedAt && a[ours.exportType] === local.type;
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
