import { expect, it } from 'vitest';
import { describeOnLocalBed, testBed } from '../support/bed.js';
import { soak } from '../soak/soak.js';

// The short soak of every test run (docs/soak.md): three minutes of churn and faults on the shared
// test bed, with a fixed seed, checked by the independent oracle. `npm run soak` runs long ones.
const SEED = 20261202;

describeOnLocalBed('a short chaos soak', () => {
  it('keeps every global right in every cluster through churn and faults, but for the time it takes to converge', async () => {
    const bed = await testBed();
    const report = await soak(bed, { durationMs: 180_000, seed: SEED, rate: 5 });
    console.log(`[e2e 21] soak report: ${JSON.stringify(report, null, 2)}`);
    expect(report.violations, 'differences that outlived the convergence bound').toEqual([]);
    expect(report.unexpectedRestarts, 'globalsvc restarts the soak did not cause').toBe(0);
    expect(
      Object.values(report.changes).reduce((a, b) => a + b, 0),
      'changes applied',
    ).toBeGreaterThan(400);
    expect(
      Object.values(report.faults).reduce((a, b) => a + b, 0),
      'faults injected',
    ).toBeGreaterThan(0);
  }, 600_000);
});
