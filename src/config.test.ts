import { describe, expect, it } from 'vitest';
import { parseConfig, parseDuration } from './config.js';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    expect(parseConfig({ clusterName: 'west' })).toMatchObject({
      clusterName: 'west',
      namespaces: [],
      includeLocal: true,
      globalSuffix: '-global',
      maxEndpointsPerSlice: 100,
      batchPeriod: 50,
      metricsAddr: ':9090',
      healthAddr: ':8081',
    });
  });

  it('reads env-style strings', () => {
    expect(
      parseConfig({ clusterName: 'west', includeLocal: 'false', namespaces: 'data, shop', batchPeriod: '1s', maxEndpointsPerSlice: '250' }),
    ).toMatchObject({
      includeLocal: false,
      namespaces: ['data', 'shop'],
      batchPeriod: 1000,
      maxEndpointsPerSlice: 250,
    });
  });

  it('names every bad option in one clear error', () => {
    expect(() => parseConfig({ batchPeriod: '2s', maxEndpointsPerSlice: 5000, clusterName: 'West_1' })).toThrowError(
      /--cluster-name: must be a DNS label[\s\S]*--max-endpoints-per-slice[\s\S]*--batch-period: must be at most 1000ms/,
    );
    expect(() => parseConfig({})).toThrowError(/--cluster-name: is required/);
  });

  it('parses durations', () => {
    expect([parseDuration('250ms'), parseDuration('2s'), parseDuration('1m'), parseDuration('1h'), parseDuration('15')]).toEqual([
      250, 2000, 60000, 3_600_000, 15,
    ]);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});

describe('leader election settings', () => {
  it("default to client-go's 15 s lease, 10 s renew deadline and 2 s retry", () => {
    expect(parseConfig({ clusterName: 'west' })).toMatchObject({
      leaderElect: false,
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
    });
  });

  it('refuse a renew deadline that would let the lease expire under a leader', () => {
    expect(() => parseConfig({ clusterName: 'west', leaseDuration: '10s', renewDeadline: '10s' })).toThrowError(
      /--renew-deadline: must be shorter than --lease-duration/,
    );
    expect(() => parseConfig({ clusterName: 'west', retryPeriod: '10s' })).toThrowError(
      /--retry-period: must be shorter than --renew-deadline/,
    );
  });
});
