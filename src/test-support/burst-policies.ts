// BurstPolicy specs shared by the unit tests and the e2e check of the CRD: what a user writes.

/** The fields without a default, nothing else. */
export const minimalSpec = { target: { name: 'web' }, burstValue: 100, reconcileValue: 60, peers: ['east'] };

/** Every field set, none to its default. */
export const fullSpec = {
  target: {
    kind: 'Deployment',
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] },
  },
  metric: { type: 'PromQL', query: 'sum(rate(http_requests_total{app="{{label:app}}"}[{{window}}]))', window: '30s', interval: '10s' },
  burstValue: 40.5,
  reconcileValue: 20,
  throttleDelay: '90s',
  peers: ['east', 'north'],
  replicate: { services: false, configMaps: true },
  weights: { mode: 'Fixed', local: 75, peers: 25 },
  traffic: { api: 'TrafficSplit' },
  readinessDeadline: '2m',
  cooldown: '1h',
};
