import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, TRANSITIONS, type Phase } from './decide.js';
import { describeBurstWrite } from './plan.js';
import { policy, rerun, run, T0, type Reading, type Step, type World } from '../test-support/burst-timeline.js';

const arbPolicy = fc
  .record({
    reconcileValue: fc.integer({ min: 0, max: 100 }),
    gap: fc.integer({ min: 1, max: 100 }),
    throttle: fc.constantFrom(0, 15, 30, 60, 120),
    deadline: fc.constantFrom(15, 30, 60),
    cooldown: fc.constantFrom(0, 15, 60, 300),
  })
  .map(({ reconcileValue, gap, throttle, deadline, cooldown }) =>
    policy({
      burstValue: reconcileValue + gap,
      reconcileValue,
      throttleDelay: `${throttle}s`,
      readinessDeadline: `${deadline}s`,
      cooldown: `${cooldown}s`,
    }),
  );

const arbReading = (max: number): fc.Arbitrary<Reading> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max }) },
    { weight: 1, arbitrary: fc.constantFrom<Reading>('down', 'NaN', 'nodata', undefined) },
  );

/** Runs of 1 to 12 equal readings, 1 to 60 seconds apart: loads that hold for a while, then change. */
const arbSteps = (reading: fc.Arbitrary<Reading>) =>
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: 60 }), reading, fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 30 })
    .map((runs) => {
      let t = 0;
      return runs.flatMap(([dt, metric, n]) => Array.from({ length: n }, (): Step => ({ t: (t += dt), metric })));
    });

const arbWorld: fc.Arbitrary<World> = fc.record({
  readyAfter: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
  goneAfter: fc.integer({ min: 0, max: 90 }),
});

const arbStory = arbPolicy.chain((p) => fc.record({ p: fc.constant(p), steps: arbSteps(arbReading(p.burstValue * 2)), world: arbWorld }));

const entered = (moments: ReturnType<typeof run>, phase: Phase) => {
  const times: number[] = [];
  let previous: Phase = 'Idle';
  for (const m of moments) {
    if (m.decision.state.phase === phase && previous !== phase) times.push(m.t);
    previous = m.decision.state.phase;
  }
  return times;
};

describe('the burst decision, whatever the timeline', () => {
  it('only makes the transitions of the table, and the timelines reach every phase', () => {
    const phasesSeen = new Set<Phase>();
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        let previous: Phase = 'Idle';
        const moments = run(p, steps, world);
        for (const m of moments) phasesSeen.add(m.decision.state.phase);
        for (const m of moments) {
          const phase = m.decision.state.phase;
          if (phase !== previous) expect(TRANSITIONS[previous], `${previous} → ${phase} at ${m.t}s`).toContain(phase);
          previous = phase;
        }
      }),
      { numRuns: 300 },
    );
    expect([...phasesSeen].sort()).toEqual([...Object.keys(TRANSITIONS)].sort());
  });

  it('never starts two bursts within the cooldown', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        const starts = entered(run(p, steps, world), 'Bursting');
        for (let i = 1; i < starts.length; i++) expect((starts[i]! - starts[i - 1]!) * 1000).toBeGreaterThanOrEqual(p.cooldownMs);
      }),
    );
  });

  it('starts a burst or a scale-back only on a good reading beyond the threshold, after throttleDelay beyond it', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        let last: Reading;
        let previous: Phase = 'Idle';
        for (const m of run(p, steps, world)) {
          const step = steps.find((s) => s.t === m.t)!;
          if (step.metric !== undefined) last = step.metric;
          const phase = m.decision.state.phase;
          const startsBurst = phase === 'Bursting' && previous !== 'Bursting';
          const startsScaleBack = phase === 'ScalingBack' && previous !== 'ScalingBack';
          previous = phase;
          if (!startsBurst && !startsScaleBack) continue;
          expect(typeof last, `at ${m.t}s the latest reading was ${String(last)}`).toBe('number');
          if (startsBurst) expect(last as number).toBeGreaterThan(p.burstValue);
          if (startsScaleBack) expect(last as number).toBeLessThan(p.reconcileValue);
          expect(m.decision.state.streak!.heldMs).toBeGreaterThanOrEqual(p.throttleDelayMs);
        }
      }),
    );
  });

  it('does nothing at all while the metric cannot be read', () => {
    const unreadable = fc.constantFrom<Reading>('down', 'NaN', 'nodata', undefined);
    fc.assert(
      fc.property(arbPolicy, arbSteps(unreadable), arbWorld, (p, steps, world) => {
        for (const m of run(p, steps, world)) {
          expect(m.writes.filter((w) => w.op !== 'status')).toEqual([]);
          expect(m.decision.state.phase).toBe('Idle');
        }
      }),
    );
  });

  it('with the metric always between the thresholds, nothing ever changes', () => {
    fc.assert(
      fc.property(
        arbPolicy.chain((p) => fc.tuple(fc.constant(p), arbSteps(fc.integer({ min: p.reconcileValue, max: p.burstValue })))),
        ([p, steps]) => {
          for (const m of run(p, steps)) {
            expect(m.writes.filter((w) => w.op !== 'status')).toEqual([]);
            expect(m.decision.state.phase).toBe('Idle');
            expect(m.decision.state.streak).toBeUndefined();
          }
        },
      ),
    );
  });

  it('decides the same after a restart: the status keeps the whole state', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        const throughStatus = run(p, steps, world, true);
        expect(throughStatus.map((m) => [m.decision.state, m.writes])).toEqual(
          run(p, steps, world).map((m) => [m.decision.state, m.writes]),
        );
      }),
    );
  });

  it('is a function of its inputs: the same call twice gives the same decision', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        const moments = run(p, steps, world);
        for (let i = 1; i < moments.length; i++) {
          const again = decide(
            moments[i - 1]!.decision.state,
            { metric: moments[i]!.reading, replica: moments[i]!.replica },
            T0 + moments[i]!.t * 1000,
            p,
          );
          expect(again).toEqual(moments[i]!.decision);
        }
      }),
    );
  });
});

describe('the burst plan, whatever the timeline', () => {
  it('never sends traffic to a replica that is gone or going, after any write of a plan', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        for (const m of run(p, steps, world)) expect(m.misrouted, `at ${m.t}s`).toEqual([]);
      }),
    );
  });

  it('has the phase as a level: Burst has a split to the peers, Idle neither replica nor split', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        for (const m of run(p, steps, world)) {
          const live = <T extends { deletedAt?: number }>(m: ReadonlyMap<string, T>) =>
            [...m.values()].filter((o) => o.deletedAt === undefined);
          const replicas = [...m.after.replicas.values()].flatMap(live);
          if (m.decision.state.phase === 'Burst') {
            expect(
              live(m.after.routes).map((r) => r.object.metadata.name),
              `at ${m.t}s`,
            ).toEqual(['web-burst-8080']);
            expect(replicas.map((r) => `${r.kind}/${r.object.metadata.name}`).sort()).toEqual([
              'ConfigMap/web-env',
              'Deployment/web',
              'Service/web',
            ]);
          }
          if (m.decision.state.phase === 'Idle') {
            expect(live(m.after.routes), `at ${m.t}s`).toEqual([]);
            expect(replicas, `at ${m.t}s`).toEqual([]);
          }
        }
      }),
    );
  });

  it('writes only what differs: passes repeated over the clusters a pass left, at the same moment, soon write nothing', () => {
    fc.assert(
      fc.property(arbStory, ({ p, steps, world }) => {
        for (const m of run(p, steps, world)) {
          // The same moment again, with no new reading, a few times (a pass may move the phase on,
          // and the next record what the one before wrote in the status): a plan that rewrote what
          // is already there would write every time.
          const again = rerun(m, 6);
          expect(again.at(-1), `at ${m.t}s: ${again.map((w) => w.map(describeBurstWrite).join(', ')).join(' | ')}`).toEqual([]);
        }
      }),
    );
  });
});
