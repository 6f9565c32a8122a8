import { describe, expect, it } from 'vitest';
import { decide, initialState } from './decide.js';
import { hold, policy, run, T0, trace, type Step, type World } from '../test-support/burst-timeline.js';
import type { HTTPRoute } from './route.js';

// burstValue 100, reconcileValue 60, throttleDelay 2m, readinessDeadline 60s, cooldown 5m, readings
// every 15s; the replica is ready 30s after Replicate and gone at once after Withdraw, unless a case
// says otherwise.
const base = policy();

interface Timeline {
  story: string;
  steps: Step[];
  world?: World;
  expected: string[];
}

const timelines: Timeline[] = [
  {
    story: 'bursts after the load stays above burstValue for throttleDelay, and comes home after it stays below reconcileValue as long',
    steps: [...hold(0, 285, 150), ...hold(300, 450, 30)],
    expected: ['120s Bursting replicate:east', '150s Burst route', '420s ScalingBack home+withdraw:east', '435s Idle'],
  },
  {
    story: 'a spike shorter than throttleDelay does nothing',
    steps: [...hold(0, 105, 150), ...hold(120, 600, 80)],
    expected: [],
  },
  {
    story: 'exactly at burstValue is not above it, exactly at reconcileValue not below it',
    steps: [...hold(0, 300, 100), ...hold(315, 330, 101), ...hold(345, 600, 60)],
    expected: [],
  },
  {
    story: 'a reading between the thresholds starts the count over',
    steps: [...hold(0, 90, 150), { t: 105, metric: 80 }, ...hold(120, 300, 150)],
    expected: ['240s Bursting replicate:east', '270s Burst route'],
  },
  {
    story: 'while burst, a load between the thresholds keeps the burst however long it lasts',
    steps: [...hold(0, 150, 150), ...hold(165, 3600, 80)],
    expected: ['120s Bursting replicate:east', '150s Burst route'],
  },
  {
    story: 'Prometheus down: nothing happens, and the time it was down counts neither as above nor below',
    steps: [...hold(0, 60, 150), ...hold(75, 105, 'down'), ...hold(120, 200, 150)],
    // 60s held before the gap, 60s more from 120s on: the 60s around the gap are not counted.
    expected: ['180s Bursting replicate:east'],
  },
  {
    story: 'NaN and no data are no readings either',
    steps: [...hold(0, 60, 150), { t: 75, metric: 'NaN' }, { t: 90, metric: 'nodata' }, ...hold(105, 180, 150)],
    expected: ['165s Bursting replicate:east'],
  },
  {
    story: 'a gap longer than throttleDelay makes the count start over',
    steps: [...hold(0, 90, 150), ...hold(105, 255, 'down'), ...hold(270, 400, 150)],
    expected: ['390s Bursting replicate:east'],
  },
  {
    story: 'metric unavailable while burst: no scale-back, however low it was before',
    steps: [...hold(0, 150, 150), ...hold(165, 270, 10), ...hold(285, 900, 'down')],
    expected: ['120s Bursting replicate:east', '150s Burst route'],
  },
  {
    story: 'the metric never read: nothing ever happens',
    steps: hold(0, 3600, 'down'),
    expected: [],
  },
  {
    story: 'a replica not ready within the deadline fails the burst, which is retried after the cooldown',
    steps: hold(0, 520, 150),
    world: { readyAfter: undefined, goneAfter: 0 },
    // Bursting from 120s; 180s is 60s later, not past the deadline; 195s is. Cooldown 5m: Idle at 495s.
    expected: ['120s Bursting replicate:east', '195s Failed withdraw:east', '495s Idle', '510s Bursting replicate:east'],
  },
  {
    story: 'a replica ready exactly at the deadline is in time',
    steps: hold(0, 200, 150),
    world: { readyAfter: 60, goneAfter: 0 },
    expected: ['120s Bursting replicate:east', '180s Burst route'],
  },
  {
    story: 'no burst again within the cooldown after a scale-back, however high the load',
    steps: [...hold(0, 285, 150), ...hold(300, 435, 30), ...hold(450, 800, 150)],
    expected: [
      '120s Bursting replicate:east',
      '150s Burst route',
      '420s ScalingBack home+withdraw:east',
      '435s Idle',
      '735s Bursting replicate:east',
      '765s Burst route',
    ],
  },
  {
    story: 'scaling back lasts until the replica is gone, and the cooldown counts from then',
    steps: [...hold(0, 285, 150), ...hold(300, 500, 30), ...hold(510, 900, 150, 30)],
    world: { readyAfter: 30, goneAfter: 45 },
    expected: [
      '120s Bursting replicate:east',
      '150s Burst route',
      '420s ScalingBack home+withdraw:east',
      '465s Idle',
      // The cooldown ends at 765s; the next reading is at 780s.
      '780s Bursting replicate:east',
      '810s Burst route',
    ],
  },
];

describe('the burst decision over whole timelines', () => {
  it.each(timelines)('$story', ({ steps, world, expected }) => {
    expect(trace(run(base, steps, world))).toEqual(expected);
  });
});

describe('the burst decision, moment by moment', () => {
  it('reports a failed reading as MetricAvailable=False with its reason, and a good one as True', () => {
    const moments = run(base, [
      { t: 0, metric: 150 },
      { t: 15, metric: 'down' },
      { t: 30, metric: 'nodata' },
      { t: 45, metric: 120 },
    ]);
    const metricCondition = moments.map((m) => m.decision.conditions.find((c) => c.type === 'MetricAvailable'));
    expect(metricCondition.map((c) => [c?.status, c?.reason])).toEqual([
      ['True', 'Read'],
      ['False', 'PrometheusUnreachable'],
      ['False', 'NoData'],
      ['True', 'Read'],
    ]);
    expect(moments[2]!.decision.state.metric).toEqual({ value: 150, at: T0 });
  });

  it('before any reading, the metric is Unknown and nothing happens', () => {
    const d = decide(undefined, { replica: 'Absent' }, T0, base);
    expect(d.state).toEqual(initialState(base, T0));
    expect(d.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'MetricAvailable=Unknown',
      'ReplicaReady=False',
      'CoolingDown=False',
    ]);
  });

  it('replicates to the peers and splits traffic with the weights of the policy', () => {
    const fixed = policy({ peers: ['east', 'north'], weights: { mode: 'Fixed', local: 75, peers: 25 } });
    const moments = run(fixed, hold(0, 150, 150));
    expect(trace(moments)).toEqual(['120s Bursting replicate:east+replicate:north', '150s Burst route']);
    const [route] = [...moments.at(-1)!.after.routes.values()];
    expect((route!.object as HTTPRoute).spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight])).toEqual([
      ['web', 75],
      ['web-east', 13],
      ['web-north', 12],
    ]);
  });

  it('a spec change while burst replicates to the new peers, shifts with the new weights and counts afresh', () => {
    const changed = policy({ peers: ['north'], reconcileValue: 20 }, 2);
    const moments = run(base, [
      ...hold(0, 150, 150),
      ...hold(165, 255, 30),
      { t: 270, metric: 30, policy: changed },
      ...hold(285, 600, 10),
    ]);
    expect(trace(moments)).toEqual([
      '120s Bursting replicate:east',
      '150s Burst route',
      // The new peer's replica and the route to it first, then the old peer's replica goes.
      '270s Burst replicate:north+route+withdraw:east',
      // north's replica ready: its weight follows (ReadyReplicas).
      '300s Burst route',
      // 30 is below 60 but not below 20: the count starts at 285s, with the first reading below 20.
      '405s ScalingBack home+withdraw:north',
      '420s Idle',
    ]);
    expect(moments.at(-1)!.decision.state.observedGeneration).toBe(2);
  });

  it('a spec change while bursting restarts the readiness deadline', () => {
    const moments = run(
      base,
      [...hold(0, 165, 150), { t: 180, metric: 150, policy: policy({ peers: ['north'] }, 2) }, ...hold(195, 300, 150)],
      { readyAfter: undefined },
    );
    expect(trace(moments)).toEqual([
      '120s Bursting replicate:east',
      '180s Bursting replicate:north+withdraw:east',
      '255s Failed withdraw:north',
    ]);
  });

  it('a spec change raising burstValue above the load while idle stops the count', () => {
    const higher = policy({ burstValue: 200 }, 2);
    expect(trace(run(base, [...hold(0, 90, 150), { t: 105, metric: 150, policy: higher }, ...hold(120, 900, 150)]))).toEqual([]);
  });
});
