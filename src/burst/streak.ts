// Hysteresis: how long the metric has stayed beyond one of the policy's thresholds, counted only
// between readings, so that time nobody could see the metric never counts as above or below.

/** A reading of the metric: a number, or why there is none. */
export type MetricReading = { ok: true; value: number } | { ok: false; reason: string; message: string };

export type Side = 'Above' | 'Below';

/** A reading as the decision takes it: a number that is not finite is no reading at all. */
export function checkedReading(reading: MetricReading): MetricReading {
  if (reading.ok && !Number.isFinite(reading.value))
    return { ok: false, reason: 'NotANumber', message: `the query returned ${reading.value}, not a finite number` };
  return reading;
}

export interface Streak {
  readonly side: Side;
  /** Time counted on this side: the sum of the gaps between consecutive readings on it. */
  readonly heldMs: number;
  /** The last reading on this side. */
  readonly lastReadingAt: number;
  /** A failed reading came after it: the time since is not counted. */
  readonly interrupted: boolean;
}

export interface Thresholds {
  readonly burstValue: number;
  readonly reconcileValue: number;
  readonly throttleDelayMs: number;
}

/** Above burstValue, below reconcileValue, or between the two (where nothing changes). */
export function sideOf(value: number, t: Thresholds): Side | undefined {
  if (value > t.burstValue) return 'Above';
  if (value < t.reconcileValue) return 'Below';
  return undefined;
}

/**
 * The streak after a reading at `now`. A value between the thresholds, or on the other side, starts
 * over. A failed reading leaves what was counted but marks the streak interrupted: the next good
 * reading on the same side resumes it without counting the gap, unless the gap outlasted
 * throttleDelay — evidence that old is not "continuously" anything, so it starts over.
 */
export function nextStreak(streak: Streak | undefined, reading: MetricReading, now: number, t: Thresholds): Streak | undefined {
  if (!reading.ok) return streak && { ...streak, interrupted: true };
  const side = sideOf(reading.value, t);
  if (side === undefined) return undefined;
  if (streak?.side !== side) return { side, heldMs: 0, lastReadingAt: now, interrupted: false };
  const elapsed = Math.max(0, now - streak.lastReadingAt);
  if (!streak.interrupted) return { side, heldMs: streak.heldMs + elapsed, lastReadingAt: now, interrupted: false };
  return { side, heldMs: elapsed > t.throttleDelayMs ? 0 : streak.heldMs, lastReadingAt: now, interrupted: false };
}

/** Whether the metric has held `side` for throttleDelay, up to a reading that is the latest one. */
export function held(streak: Streak | undefined, side: Side, t: Thresholds): boolean {
  return streak !== undefined && streak.side === side && !streak.interrupted && streak.heldMs >= t.throttleDelayMs;
}
