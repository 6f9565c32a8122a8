// The PromQL a BurstPolicy runs: the default reads the Linkerd proxies' own request counters, a
// custom one is a template filled in from the target.

/**
 * Requests per second into the target's pods, as their Linkerd proxies count them.
 *
 * `request_total` is the proxy's counter of requests received, incremented when the request stream
 * begins; `direction="inbound"` keeps the requests coming into the pod, not those it makes
 * (linkerd.io/2/reference/proxy-metrics, "Protocol-Level Metrics"). `namespace` and `deployment`
 * are not the proxy's own labels: Linkerd's documented scrape job `linkerd-proxy` adds `namespace`
 * from the pod and maps the pod label `linkerd.io/proxy-deployment` to `deployment`
 * (linkerd/linkerd2 doc/prometheus.md, `labelmap: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)`);
 * linkerd-viz's Prometheus does the same. `sum` makes one series of every pod and every label set
 * (tls, authority, route...), which is what the decision needs: one number.
 */
export const DEFAULT_RPS_QUERY =
  'sum(rate(request_total{direction="inbound", namespace="{{namespace}}", deployment=~"{{deployment}}"}[{{window}}]))';

/** What a template is filled in from. */
export interface QueryTarget {
  namespace: string;
  /** The names of the target's Deployments (one with target.name, all that match with a selector). */
  deployments: readonly string[];
  /** The labels the target's Deployments share, with the same value. */
  labels: Readonly<Record<string, string>>;
  /** The evaluation window, a PromQL duration like 1m. */
  window: string;
}

export class QueryTemplateError extends Error {
  override name = 'QueryTemplateError';
}

const PLACEHOLDER = /\{\{\s*([a-z]+)(?::([^}\s]+))?\s*\}\}/g;
const KNOWN = ['namespace', 'deployment', 'window', 'label'];

/** What is wrong with a template, one line per problem; empty when it can be rendered. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const [whole, name, arg] = m;
    if (!KNOWN.includes(name!))
      problems.push(`unknown placeholder ${whole} (known: {{namespace}}, {{deployment}}, {{window}}, {{label:<key>}})`);
    else if ((name === 'label') !== (arg !== undefined))
      problems.push(`${whole}: only {{label:<key>}} takes an argument, and it needs one`);
  }
  const leftover = template.replace(PLACEHOLDER, '');
  if (leftover.includes('{{') || leftover.includes('}}')) problems.push('has an unclosed or malformed {{...}} placeholder');
  return problems;
}

/** Escapes a value for the inside of a double-quoted PromQL string. */
const inString = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** Escapes a literal for a RE2 regular expression (PromQL's =~ is anchored at both ends). */
const literalRegex = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Fills in a template. Values are escaped for a double-quoted PromQL string, which is where
 * placeholders belong, so no label value can change the query's shape; `{{deployment}}` is a regular
 * expression matching exactly the target's Deployments, for `deployment=~"..."`.
 */
export function renderQuery(template: string, target: QueryTarget): string {
  const problems = templateProblems(template);
  if (problems.length > 0) throw new QueryTemplateError(problems.join('; '));
  return template.replace(PLACEHOLDER, (whole, name: string, arg: string | undefined) => {
    switch (name) {
      case 'namespace':
        return inString(target.namespace);
      case 'deployment':
        if (target.deployments.length === 0) throw new QueryTemplateError('the target matches no Deployment');
        return inString([...target.deployments].sort().map(literalRegex).join('|'));
      case 'window':
        return target.window;
      default: {
        const value = target.labels[arg!];
        if (value === undefined) throw new QueryTemplateError(`${whole}: the target has no label ${arg} (common to all its Deployments)`);
        return inString(value);
      }
    }
  });
}

/** The labels every one of `objects` carries with the same value: what {{label:<key>}} may use. */
export function commonLabels(objects: readonly { metadata: { labels?: Record<string, string> } }[]): Record<string, string> {
  const [first, ...rest] = objects;
  if (!first) return {};
  return Object.fromEntries(
    Object.entries(first.metadata.labels ?? {}).filter(([k, v]) => rest.every((o) => o.metadata.labels?.[k] === v)),
  );
}
