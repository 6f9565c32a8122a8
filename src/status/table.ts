import type { EndpointCount, GlobalStatus, StatusProblem, StatusReport } from './report.js';

// The human form of a status report: one block per global (a line, a table of its members with a
// total row, its problems), then problems of no global, then a summary line.

const ready = (c: EndpointCount | null) => (c ? `${c.ready}/${c.total}` : '-');

/** Left-aligned columns two spaces apart, like kubectl's tables. */
function columns(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** The message names the object; `-o json` has it as a field. */
const problemLine = (p: StatusProblem) => `! ${p.reason}: ${p.message}`;

function globalBlock(g: GlobalStatus): string[] {
  const rows = [
    ['CLUSTER', 'ORIGIN', 'SERVICE', 'STATE', 'ENDPOINTS', 'PUBLISHED'],
    ...g.members.map((m) => [m.cluster, m.origin ?? '-', m.service ?? '-', m.state, ready(m.endpoints), ready(m.published)]),
    ['total', '', '', '', ready(g.endpoints.members), ready(g.endpoints.published)],
  ];
  return [
    `${g.namespace}/${g.name} → ${g.global}: ${g.state}`,
    ...columns(rows).map((l) => `  ${l}`),
    ...g.problems.map((p) => `  ${problemLine(p)}`),
  ];
}

export function renderTable(report: StatusReport): string {
  const lines: string[] = [];
  for (const g of report.globals) lines.push(...globalBlock(g), '');
  if (report.problems.length > 0) lines.push('mirrors that belong to no global:', ...report.problems.map((p) => `  ${problemLine(p)}`), '');
  const scope = report.namespaces.length > 0 ? `namespaces ${report.namespaces.join(',')}` : 'all namespaces';
  lines.push(
    `cluster ${report.cluster}, ${scope}: ${report.summary.globals} global(s), ${report.summary.problems} problem(s) (endpoints are ready/total)`,
  );
  return `${lines.join('\n')}\n`;
}
