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
    expect([parseDuration('250ms'), parseDuration('2s'), parseDuration('1m'), parseDuration('15')]).toEqual([250, 2000, 60000, 15]);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});
