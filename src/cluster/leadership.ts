import { NotLeaderError } from './error-policy.js';

export { NotLeaderError };

/**
 * The one answer to "may I write?". Every write asks it — the global's Services and slices,
 * Events, a BurstPolicy's status and finalizer, replicas and routes in peers — and a write it
 * refuses is a NotLeaderError, never a silent skip. Without leader election a replica always leads.
 */
export class Leadership {
  private leading: boolean;
  private readonly listeners: ((leading: boolean) => void)[] = [];

  constructor(leading: boolean) {
    this.leading = leading;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Called in order of subscription each time leadership changes. */
  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }

  /** Throws a NotLeaderError naming what was not written, unless this replica leads. */
  assert(what: string): void {
    if (!this.leading) throw new NotLeaderError(`not the leader: ${what} not written`);
  }
}
