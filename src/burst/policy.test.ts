import { describe, expect, it } from 'vitest';
import { BurstPolicyError, parseBurstPolicy } from './policy.js';
import { DEFAULT_RPS_QUERY } from './query.js';
import { fullSpec, minimalSpec as minimal } from '../test-support/burst-policies.js';

const object = (spec: Record<string, unknown>) => ({ metadata: { namespace: 'shop', name: 'web', generation: 3 }, spec });

/** The problems parseBurstPolicy lists, one per line. */
function problems(spec: Record<string, unknown>): string[] {
  try {
    parseBurstPolicy(object(spec), 'west');
  } catch (err) {
    expect(err).toBeInstanceOf(BurstPolicyError);
    return (err as BurstPolicyError).problems;
  }
  throw new Error('the policy was accepted');
}

describe('reading a BurstPolicy', () => {
  it('fills in the defaults the CRD has, durations in milliseconds, and the Linkerd request-rate query', () => {
    expect(parseBurstPolicy(object(minimal), 'west')).toEqual({
      namespace: 'shop',
      name: 'web',
      generation: 3,
      target: { kind: 'Deployment', name: 'web' },
      metric: { type: 'RequestsPerSecond', query: DEFAULT_RPS_QUERY, window: '1m', intervalMs: 15_000 },
      burstValue: 100,
      reconcileValue: 60,
      throttleDelayMs: 120_000,
      peers: ['east'],
      replicate: { services: true, configMaps: true },
      weights: { mode: 'ReadyReplicas' },
      traffic: { api: 'HTTPRoute' },
      readinessDeadlineMs: 60_000,
      cooldownMs: 300_000,
    });
  });

  it('reads a full policy: selector, PromQL template, fixed weights, the SMI split, every duration', () => {
    const p = parseBurstPolicy(object(fullSpec), 'west');
    expect(p).toMatchObject({
      metric: { type: 'PromQL', window: '30s', intervalMs: 10_000 },
      throttleDelayMs: 90_000,
      replicate: { services: false, configMaps: true },
      weights: { mode: 'Fixed', local: 75, peers: 25 },
      traffic: { api: 'TrafficSplit' },
      readinessDeadlineMs: 120_000,
      cooldownMs: 3_600_000,
    });
  });

  it.each([
    ['reconcileValue equal to burstValue', { reconcileValue: 100 }, 'spec.reconcileValue: must be less than burstValue'],
    ['reconcileValue above burstValue', { reconcileValue: 150 }, 'spec.reconcileValue: must be less than burstValue'],
    [
      'weights not summing to 100',
      { weights: { mode: 'Fixed', local: 70, peers: 20 } },
      'spec.weights: local and peers must sum to 100, not 90',
    ],
    ['both target name and selector', { target: { name: 'web', selector: { matchLabels: { a: 'b' } } } }, 'spec.target: exactly one of'],
    ['an empty selector', { target: { selector: {} } }, 'spec.target.selector: an empty selector'],
    ['a StatefulSet target', { target: { kind: 'StatefulSet', name: 'db' } }, 'spec.target.kind: only Deployment'],
    ['PromQL without a query', { metric: { type: 'PromQL' } }, 'spec.metric.query: is required with type PromQL'],
    ['a query with the default type', { metric: { query: 'up' } }, 'spec.metric.query: is only allowed with type PromQL'],
    ['an unknown placeholder', { metric: { type: 'PromQL', query: 'x{pod="{{pod}}"}' } }, 'spec.metric.query: unknown placeholder {{pod}}'],
    ['an unclosed placeholder', { metric: { type: 'PromQL', query: 'x{a="{{namespace"}' } }, 'spec.metric.query: has an unclosed'],
    ['this cluster as a peer', { peers: ['east', 'west'] }, 'spec.peers: must not name this cluster (west)'],
    ['a peer twice', { peers: ['east', 'east'] }, 'spec.peers: names a cluster twice'],
    ['no peer', { peers: [] }, 'spec.peers:'],
    ['a bad duration', { cooldown: '5 minutes' }, 'spec.cooldown: must be a duration'],
    ['a readiness deadline of 0', { readinessDeadline: '0s' }, 'spec.readinessDeadline: must be longer than 0'],
    ['a throttleDelay shorter than the interval', { throttleDelay: '5s' }, 'spec.throttleDelay: must be 0 or at least metric.interval'],
    ['an unknown traffic API', { traffic: { api: 'VirtualService' } }, 'spec.traffic.api:'],
    ['a PromQL window with ms', { metric: { window: '500ms' } }, 'spec.metric.window: must be a PromQL duration'],
  ])('rejects %s, saying which field and why', (_, change, expected) => {
    expect(problems({ ...minimal, ...change }).join('\n')).toContain(expected);
  });

  it('lists every problem at once, with the policy it is about', () => {
    expect(() => parseBurstPolicy(object({ ...minimal, reconcileValue: 100, peers: ['west'] }), 'west')).toThrowError(
      /BurstPolicy shop\/web is invalid:\n {2}spec\.reconcileValue: .*\n {2}spec\.peers: /,
    );
  });
});
