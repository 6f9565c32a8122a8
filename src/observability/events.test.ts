import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../cluster/kube-api.js';
import { EventRecorder } from './events.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';

const target = (name: string) => ({ kind: 'Service', apiVersion: 'v1', namespace: 'data', name });

function recorderWith(limits: { perSecond: number; backlog: number }) {
  const startedAt: number[] = [];
  const api = {
    create: async (_t: unknown, e: { note: string }) => {
      startedAt.push(Date.now());
      return e;
    },
  } as unknown as KubeApi;
  const metrics = new Metrics();
  const recorder = new EventRecorder(api, createLogger('silent'), metrics, 'a', undefined, undefined, undefined, limits);
  return { recorder, metrics, startedAt };
}

const counted = async (metrics: Metrics, name: string) =>
  (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)!.values.reduce((n, v) => n + v.value, 0);

describe('the event recorder', () => {
  it('writes Events at most perSecond a second, so that a storm of problems does not crowd out the writes that answer it', async () => {
    const { recorder, metrics, startedAt } = recorderWith({ perSecond: 4, backlog: 100 });
    const began = Date.now();
    for (let i = 0; i < 10; i++) recorder.record(target(`db-${i}`), 'Warning', 'ClusterUnreachable', 'east is down');
    await recorder.flushed();
    expect(startedAt).toHaveLength(10);
    // 4 in the first second, 4 in the second, 2 in the third.
    expect(startedAt.filter((t) => t - began < 900)).toHaveLength(4);
    expect(startedAt.filter((t) => t - began < 1900)).toHaveLength(8);
    expect(await counted(metrics, 'globalsvc_problems_total')).toBe(10);
    expect(await counted(metrics, 'globalsvc_events_dropped_total')).toBe(0);
  });

  it('drops an Event past the backlog, counted by reason, and still counts the problem', async () => {
    const { recorder, metrics, startedAt } = recorderWith({ perSecond: 2, backlog: 3 });
    for (let i = 0; i < 10; i++) recorder.record(target(`db-${i}`), 'Warning', 'ClusterUnreachable', 'east is down');
    await recorder.flushed();
    // 2 start at once, 3 wait their turn, 5 find the backlog full.
    expect(startedAt).toHaveLength(5);
    expect(await counted(metrics, 'globalsvc_problems_total')).toBe(10);
    expect(await metrics.registry.getSingleMetricAsString('globalsvc_events_dropped_total')).toContain(
      'globalsvc_events_dropped_total{reason="ClusterUnreachable"} 5',
    );
  });
});
