import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../cluster/kube-api.js';
import { Leadership } from '../cluster/leadership.js';
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
    // 4 at once, then never more than 4 in any second, however late a busy machine runs the timers.
    expect(startedAt.filter((t) => t - began < 900)).toHaveLength(4);
    for (const t of startedAt) expect(startedAt.filter((u) => u >= t && u - t < 950).length).toBeLessThanOrEqual(4);
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

  it('writes nothing that waited its turn once this replica no longer leads', async () => {
    const startedAt: number[] = [];
    const api = { create: async (_t: unknown, e: unknown) => (startedAt.push(Date.now()), e) } as unknown as KubeApi;
    const gate = new Leadership(true);
    const recorder = new EventRecorder(api, createLogger('silent'), new Metrics(), 'a', undefined, undefined, gate, {
      perSecond: 2,
      backlog: 100,
    });
    for (let i = 0; i < 6; i++) recorder.record(target(`db-${i}`), 'Warning', 'ClusterUnreachable', 'east is down');
    gate.set(false);
    await recorder.flushed();
    expect(startedAt).toHaveLength(2);
  });
});
