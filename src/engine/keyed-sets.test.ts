import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedSets } from './keyed-sets.js';

describe('sets of strings by key', () => {
  it('holds what a Map of Sets would after any adds and removes, a member, an array or a Set each', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      value: fc.constantFrom('1', '2', '3', '4', '5', '6'),
      present: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 2, max: 8 }), (ops, arrayLimit) => {
        const sets = new KeyedSets(arrayLimit);
        const model = new Map<string, Set<string>>();
        for (const { key, value, present } of ops) {
          sets.update(key, value, present);
          const set = model.get(key) ?? new Set<string>();
          if (present) set.add(value);
          else set.delete(value);
          if (set.size) model.set(key, set);
          else model.delete(key);
        }
        expect(sets.size).toBe(model.size);
        expect([...sets.keys()].sort()).toEqual([...model.keys()].sort());
        for (const key of ['a', 'b', 'c']) {
          expect(sets.has(key)).toBe(model.has(key));
          expect([...sets.get(key)].sort()).toEqual([...(model.get(key) ?? [])].sort());
        }
      }),
    );
  });
});
