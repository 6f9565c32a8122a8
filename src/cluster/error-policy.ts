import { KubeApiError } from './kube-api.js';

// How everything that fails is tried again — a reconcile in the work queue (the aggregator's and
// bursting's), a watch or a list that fails — in one place, as kube-rs's error_policy is: failures
// in a row back off exponentially with jitter, never sooner than the API server asked (the typed
// Retry-After of a 429 or a 503), and a write refused for want of leadership is not retried at all.

/** Thrown instead of a write when this replica does not lead (or no longer does). */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

export interface Backoff {
  /** The first retry's delay; it doubles with each failure in a row. */
  initialMs: number;
  maxMs: number;
}

/** `attempt` failures in a row (1 for the first): initial × 2^(attempt-1), at most max, ±20% jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** How long the API server asked to wait, when it did (Retry-After). */
export const retryAfterOf = (error: unknown): number => (error instanceof KubeApiError ? (error.retryAfterMs ?? 0) : 0);

/**
 * When to try again after `error`, the `attempt`-th failure in a row; undefined when not to: a
 * write this replica may not make comes back only with leadership (a new leader looks at everything).
 */
export function retryDelay(error: unknown, attempt: number, backoff: Backoff, random = Math.random): number | undefined {
  if (error instanceof NotLeaderError) return undefined;
  return Math.max(retryAfterOf(error), backoffDelay(attempt, backoff.initialMs, backoff.maxMs, random));
}
