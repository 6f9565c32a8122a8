import { describe, expect, it } from 'vitest';
import type { KubeApi } from './kube-api.js';
import { EventRecorder } from '../observability/events.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Leadership, NotLeaderError } from './leadership.js';

describe('the leadership gate', () => {
  it('refuses every write with one error while this replica does not lead, and tells who listens when that changes', () => {
    const gate = new Leadership(false);
    const seen: boolean[] = [];
    gate.onChange((leading) => seen.push(leading));
    expect(() => gate.assert('create Service data/db-global')).toThrow(NotLeaderError);
    expect(() => gate.assert('create Service data/db-global')).toThrow('not the leader: create Service data/db-global not written');
    gate.set(true);
    gate.set(true);
    expect(() => gate.assert('anything')).not.toThrow();
    gate.set(false);
    expect(seen).toEqual([true, false]);
  });

  it('has a standby say nothing and mark nothing said, so that a new leader tells every problem it knows of at once', async () => {
    const written: { reason: string; instance: string }[] = [];
    const api = {
      create: async (_t: unknown, e: { reason: string; reportingInstance: string }) => {
        written.push({ reason: e.reason, instance: e.reportingInstance });
        return e;
      },
    } as unknown as KubeApi;
    const gate = new Leadership(false);
    const metrics = new Metrics();
    const recorder = new EventRecorder(api, createLogger('silent'), metrics, 'b', undefined, undefined, gate);
    const target = { kind: 'Service', apiVersion: 'v1', namespace: 'data', name: 'db-east' };
    recorder.record(target, 'Warning', 'MissingRemoteName', 'no remote name');
    expect(written).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('globalsvc_problems_total')).not.toContain('MissingRemoteName');
    gate.set(true);
    recorder.record(target, 'Warning', 'MissingRemoteName', 'no remote name');
    recorder.record(target, 'Warning', 'MissingRemoteName', 'no remote name');
    await recorder.flushed();
    expect(written).toEqual([{ reason: 'MissingRemoteName', instance: 'b' }]);
  });
});
