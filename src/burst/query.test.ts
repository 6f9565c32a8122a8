import { describe, expect, it } from 'vitest';
import { commonLabels, DEFAULT_RPS_QUERY, QueryTemplateError, renderQuery, templateProblems } from './query.js';

const target = { namespace: 'shop', deployments: ['web'], labels: { app: 'web', team: 'a"b\\c' }, window: '1m' };

describe('PromQL templates', () => {
  it('renders the default query: inbound requests per second at the target’s Linkerd proxies', () => {
    expect(renderQuery(DEFAULT_RPS_QUERY, target)).toBe(
      'sum(rate(request_total{direction="inbound", namespace="shop", deployment=~"web"}[1m]))',
    );
  });

  it('matches exactly the Deployments a selector found, dots escaped for the regular expression', () => {
    expect(renderQuery('x{deployment=~"{{deployment}}"}', { ...target, deployments: ['web.v2', 'api'] })).toBe(
      'x{deployment=~"api|web\\\\.v2"}',
    );
  });

  it('escapes label values for a PromQL string, so no value changes the query’s shape', () => {
    expect(renderQuery('x{team="{{label:team}}", app="{{ label:app }}"}', target)).toBe('x{team="a\\"b\\\\c", app="web"}');
  });

  it('says what is missing: a label the target does not have, or no Deployment', () => {
    expect(() => renderQuery('x{a="{{label:tier}}"}', target)).toThrowError(QueryTemplateError);
    expect(() => renderQuery('x{a="{{label:tier}}"}', target)).toThrowError(/no label tier/);
    expect(() => renderQuery(DEFAULT_RPS_QUERY, { ...target, deployments: [] })).toThrowError(/matches no Deployment/);
  });

  it('finds unknown and malformed placeholders', () => {
    expect(templateProblems(DEFAULT_RPS_QUERY)).toEqual([]);
    expect(templateProblems('{{pod}} {{label}} {{namespace:x}} {{window')).toEqual([
      expect.stringContaining('unknown placeholder {{pod}}'),
      expect.stringContaining('{{label}}: only {{label:<key>}} takes an argument'),
      expect.stringContaining('{{namespace:x}}: only'),
      'has an unclosed or malformed {{...}} placeholder',
    ]);
  });

  it('offers the labels every Deployment of the target shares, with the same value', () => {
    const d = (labels: Record<string, string>) => ({ metadata: { labels } });
    expect(commonLabels([d({ app: 'web', tier: 'a' }), d({ app: 'web', tier: 'b' })])).toEqual({ app: 'web' });
    expect(commonLabels([])).toEqual({});
  });
});
