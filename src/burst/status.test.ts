import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';
import { stateOf, statusOf } from './status.js';
import { policy, T0 } from '../test-support/burst-timeline.js';

const p = policy();

describe("a BurstPolicy's status", () => {
  it('holds the phase, the count beyond a threshold, the last reading and the conditions', () => {
    const d = decide(undefined, { metric: { ok: true, value: 150 }, replica: 'Absent' }, T0, p);
    expect(statusOf(d, undefined, T0)).toEqual({
      phase: 'Idle',
      phaseSince: '2026-01-01T00:00:00.000Z',
      threshold: { side: 'Above', heldMilliseconds: 0, lastReadingTime: '2026-01-01T00:00:00.000Z', interrupted: false },
      metric: { value: 150, time: '2026-01-01T00:00:00.000Z' },
      observedGeneration: 1,
      conditions: [
        expect.objectContaining({
          type: 'MetricAvailable',
          status: 'True',
          reason: 'Read',
          lastTransitionTime: '2026-01-01T00:00:00.000Z',
        }),
        expect.objectContaining({ type: 'ReplicaReady', status: 'False', reason: 'NotBursting' }),
        expect.objectContaining({ type: 'CoolingDown', status: 'False', reason: 'MayBurst', observedGeneration: 1 }),
      ],
    });
  });

  it('moves a condition’s lastTransitionTime only when its status changes', () => {
    const first = decide(undefined, { metric: { ok: true, value: 150 }, replica: 'Absent' }, T0, p);
    const s1 = statusOf(first, undefined, T0);
    const second = decide(stateOf(s1), { metric: { ok: true, value: 140 }, replica: 'Absent' }, T0 + 15_000, p);
    const s2 = statusOf(second, s1, T0 + 15_000);
    const third = decide(stateOf(s2), { metric: { ok: false, reason: 'NoData', message: 'no series' }, replica: 'Absent' }, T0 + 30_000, p);
    const s3 = statusOf(third, s2, T0 + 30_000);
    const metric = (s: typeof s1) => s.conditions.find((c) => c.type === 'MetricAvailable')!;
    expect(metric(s2)).toMatchObject({
      status: 'True',
      message: 'the last reading was 140',
      lastTransitionTime: '2026-01-01T00:00:00.000Z',
    });
    expect(metric(s3)).toMatchObject({ status: 'False', reason: 'NoData', lastTransitionTime: '2026-01-01T00:00:30.000Z' });
    expect(stateOf(s3)).toEqual(third.state);
  });

  it('without a phase, or with one it does not know, holds no state', () => {
    expect(stateOf(undefined)).toBeUndefined();
    expect(stateOf({})).toBeUndefined();
    expect(stateOf({ phase: 'Exploded' as never, phaseSince: '2026-01-01T00:00:00Z' })).toBeUndefined();
  });
});
