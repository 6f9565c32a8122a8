import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, NotLeaderError, retryDelay } from './error-policy.js';
import { KubeApiError } from './kube-api.js';

const backoff = { initialMs: 200, maxMs: 60_000 };

describe('the error policy', () => {
  it('backs off exponentially within ±20%, up to the maximum, for any number of failures in a row', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
        const ms = backoffDelay(attempt, backoff.initialMs, backoff.maxMs, () => r);
        return ms >= Math.floor(base * 0.8) && ms <= Math.ceil(base * 1.2);
      }),
    );
  });

  it('waits at least what the API server asked for, read from the typed Retry-After', () => {
    const slowDown = new KubeApiError('apply', 'EndpointSlice', 'data/x', 429, 'TooManyRequests', 'slow down', 5_000);
    expect(retryDelay(slowDown, 1, backoff, () => 0.5)).toBe(5_000);
    // A plain object that merely looks like it is not trusted.
    expect(retryDelay({ retryAfterMs: 5_000 }, 1, backoff, () => 0.5)).toBe(200);
  });

  it('does not retry what only a leader may write', () => {
    expect(retryDelay(new NotLeaderError('not the leader'), 3, backoff)).toBeUndefined();
  });
});
