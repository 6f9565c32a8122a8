import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GatewayProbeSpec } from '../domain/links.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { GatewayProber } from './gateway-prober.js';

const spec: GatewayProbeSpec = {
  addresses: ['127.0.0.12'],
  port: 4191,
  path: '/ready',
  periodMs: 3_000,
  failureThreshold: 3,
  timeoutMs: 1_000,
};

describe("globalsvc's own gateway probe", () => {
  let answering: boolean;
  let changes: [string, boolean][];
  let urls: string[];
  let prober: GatewayProber;
  let metrics: Metrics;

  beforeEach(() => {
    vi.useFakeTimers();
    answering = true;
    changes = [];
    urls = [];
    metrics = new Metrics();
    prober = new GatewayProber(
      (cluster, up) => changes.push([cluster, up]),
      metrics,
      createLogger('silent'),
      async (url) => {
        urls.push(url);
        return answering;
      },
      () => 0.5, // no jitter
    );
  });
  afterEach(() => {
    prober.stop();
    vi.useRealTimers();
  });

  const periods = (n: number) => vi.advanceTimersByTimeAsync(n * spec.periodMs);

  it('finds a gateway that is dead from the start dead after failureThreshold probes (Linkerd never does)', async () => {
    answering = false;
    prober.update(new Map([['east', spec]]));
    await periods(2);
    expect(prober.down()).toEqual(new Set());
    await periods(1);
    expect(prober.down()).toEqual(new Set(['east']));
    expect(changes).toEqual([['east', false]]);
    expect(urls[0]).toBe('http://127.0.0.12:4191/ready');
  });

  it('marks a gateway dead after failureThreshold failures in a row, alive again at the first answer', async () => {
    prober.update(new Map([['east', spec]]));
    await periods(2);
    expect(changes).toEqual([]);
    answering = false;
    await periods(2);
    answering = true;
    await periods(1);
    answering = false;
    await periods(3);
    expect(changes).toEqual([['east', false]]);
    answering = true;
    // A dead gateway is probed every second: back within a second, not a period.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual([
      ['east', false],
      ['east', true],
    ]);
    expect(prober.down()).toEqual(new Set());
    expect((await metrics.registry.getSingleMetricAsString('globalsvc_gateway_up')).split('\n').at(-1)).toBe(
      'globalsvc_gateway_up{source_cluster="east"} 1',
    );
  });

  it('forgets a cluster whose Link goes: its verdict no longer holds its endpoints down', async () => {
    answering = false;
    prober.update(new Map([['east', spec]]));
    await periods(3);
    prober.update(new Map());
    expect(changes).toEqual([
      ['east', false],
      ['east', true],
    ]);
    expect(prober.down()).toEqual(new Set());
    const before = urls.length;
    await periods(3);
    expect(urls.length).toBe(before);
  });

  it('brackets IPv6 gateways and probes every address, any answer being enough', async () => {
    prober.update(new Map([['east', { ...spec, addresses: ['2001:db8::1', 'gw.east.example'] }]]));
    await periods(1);
    expect(urls).toEqual(['http://[2001:db8::1]:4191/ready', 'http://gw.east.example:4191/ready']);
  });
});
