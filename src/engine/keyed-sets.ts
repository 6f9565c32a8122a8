import { intern } from '../shared.js';

/**
 * Sets of strings by key, for the index's lookups (key → mirrors, service → slices, ...). Most
 * sets are small — a service has one slice, a global one Service and a mirror per linked cluster —
 * so a lone member is kept as the string itself, a few as an array, and a Set is only made past
 * `arrayLimit`: at 10,000 globals a Set of three took about 190 bytes and 20,000 of them were made
 * (docs/benchmarks.md, Issue 18). Keys and members are interned (src/shared.ts): the same
 * `namespace/name` is held by several indexes and the caches.
 */
export class KeyedSets {
  private readonly sets = new Map<string, string | string[] | Set<string>>();

  constructor(private readonly arrayLimit = 8) {}

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
    if (present) this.add(key, held, value);
    else this.remove(key, held, value);
  }

  // Arrays are replaced, not grown (concat makes them to size): pushed or spread, an array of three keeps room for 16 more.
  private add(key: string, held: string | string[] | Set<string> | undefined, value: string): void {
    if (held === undefined) this.sets.set(intern(key), intern(value));
    else if (typeof held === 'string') {
      if (held !== value) this.sets.set(key, [held, intern(value)]);
    } else if (Array.isArray(held)) {
      if (held.includes(value)) return;
      this.sets.set(key, held.length < this.arrayLimit ? held.concat(intern(value)) : new Set([...held, intern(value)]));
    } else held.add(intern(value));
  }

  private remove(key: string, held: string | string[] | Set<string> | undefined, value: string): void {
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === value) this.sets.delete(key);
      return;
    }
    if (Array.isArray(held)) {
      if (!held.includes(value)) return;
      const rest = held.filter((v) => v !== value);
      this.sets.set(key, rest.length === 1 ? rest[0]! : rest);
      return;
    }
    held.delete(value);
    if (held.size === 1) this.sets.set(key, held.values().next().value!);
  }
}
