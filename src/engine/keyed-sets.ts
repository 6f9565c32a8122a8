/**
 * Sets of strings by key, for the index's lookups (key → mirrors, service → slices, ...). Most
 * sets hold one member — a service has one slice, a global one Service — so a lone member is kept
 * as the string itself and a Set only made for a second: at 10,000 globals that is 40,000 Sets of
 * one (about 110 bytes each) not made.
 */
export class KeyedSets {
  private readonly sets = new Map<string, string | Set<string>>();

  get size(): number {
    return this.sets.size;
  }

  has(key: string): boolean {
    return this.sets.has(key);
  }

  keys(): IterableIterator<string> {
    return this.sets.keys();
  }

  /** The members of `key`'s set (none when there is no set). */
  get(key: string): Iterable<string> {
    const held = this.sets.get(key);
    return held === undefined ? [] : typeof held === 'string' ? [held] : held;
  }

  /** Adds `value` to `key`'s set, or takes it out (the set goes with its last member). */
  update(key: string, value: string, present: boolean): void {
    const held = this.sets.get(key);
    if (present) {
      if (held === undefined) this.sets.set(key, value);
      else if (typeof held === 'string') {
        if (held !== value) this.sets.set(key, new Set([held, value]));
      } else held.add(value);
      return;
    }
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === value) this.sets.delete(key);
      return;
    }
    held.delete(value);
    if (held.size === 1) this.sets.set(key, held.values().next().value!);
  }
}
