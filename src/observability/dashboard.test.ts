import { readFileSync } from 'node:fs';
import { Histogram, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

interface Target {
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../manifests/grafana/globalsvc-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;

/** Every series name the registry exposes: histograms and summaries also as _bucket, _sum, _count. */
function exposedNames(): Set<string> {
  const names = new Set<string>();
  for (const m of new Metrics().registry.getMetricsAsArray()) {
    names.add(m.name);
    if (m instanceof Histogram || m instanceof Summary) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

const NOT_METRICS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads: what is left once strings, matchers, ranges, label lists and calls are. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\$\{?\w+\}?/g, ' ') // Grafana variables
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  return [...bare.matchAll(/([A-Za-z_:][\w:]*)(\s*\()?/g)]
    .filter(([, name, call]) => call === undefined && !NOT_METRICS.has(name!.toLowerCase()))
    .map(([, name]) => name!);
}

const variableQuery = (q: string | { query: string }) => (typeof q === 'string' ? q : q.query);

/** `label_values(metric{...}, label)` reads its first argument; anything else is PromQL. */
function queryMetrics(query: string): string[] {
  const labelValues = /^\s*label_values\(\s*([^,]+),/.exec(query);
  return metricNames(labelValues ? labelValues[1]! : query);
}

describe('the Grafana dashboard', () => {
  const expressions = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, query: t.expr }))),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => ({ where: `variable $${v.name}`, query: variableQuery(v.query) })),
  ];

  it('queries only metrics that src/observability/metrics.ts registers', () => {
    const exposed = exposedNames();
    expect(expressions.length).toBeGreaterThan(10);
    for (const { where, query } of expressions) {
      const names = queryMetrics(query);
      expect(names.length, `${where} reads no metric: ${query}`).toBeGreaterThan(0);
      for (const name of names) expect(exposed.has(name), `${where} reads ${name}, which globalsvc does not export`).toBe(true);
    }
  });

  it('reads every panel from the Prometheus data source variable', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of dashboard.panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('finds the metric names in PromQL, and only those', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(globalsvc_reconcile_duration_seconds_bucket{job=~"$job", result!="error"}[$__rate_interval])))',
      ),
    ).toEqual(['globalsvc_reconcile_duration_seconds_bucket']);
    expect(
      metricNames('sum by (state) (globalsvc_globals * on (instance, job) group_left () globalsvc_leader{job=~"$job"}) > 1e3'),
    ).toEqual(['globalsvc_globals', 'globalsvc_leader']);
    expect(queryMetrics('label_values(globalsvc_leader{namespace="x"}, job)')).toEqual(['globalsvc_leader']);
  });
});
