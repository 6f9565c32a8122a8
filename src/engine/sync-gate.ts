import type { Leadership } from '../cluster/leadership.js';

/**
 * Whether work may be queued: nothing is decided from a partial picture (before every watched
 * collection is listed, a missing mirror would read as "delete this global"), and a standby
 * decides nothing. Opens once, when the last collection has been listed.
 */
export class SyncGate {
  private readonly unsynced = new Set<string>();
  private opened = false;
  private resolve!: () => void;
  /** Resolves once every collection has been listed. */
  readonly synced = new Promise<void>((r) => (this.resolve = r));

  constructor(private readonly leadership: Leadership) {}

  /** A collection to wait for, e.g. `services/*`. */
  expect(collection: string): void {
    if (!this.opened) this.unsynced.add(collection);
  }

  /** A collection was listed; true when that opened the gate. */
  listed(collection: string): boolean {
    if (!this.unsynced.delete(collection) || this.unsynced.size > 0 || this.opened) return false;
    this.opened = true;
    this.resolve();
    return true;
  }

  /** Every collection listed (the controller is ready). */
  get ready(): boolean {
    return this.opened;
  }

  /** Ready, and this replica leads: what is enqueued now will be reconciled. */
  get open(): boolean {
    return this.opened && this.leadership.isLeader;
  }
}
