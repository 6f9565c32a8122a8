import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import { ObjectStore, type Change } from './object-store.js';
import { asObjects, compactServices, type StoreCodec } from '../domain/compact.js';
import { projectService } from '../domain/projection.js';

const svc = (name: string, rv: string, namespace = 'data'): Service => ({
  metadata: { name, namespace, resourceVersion: rv, uid: `uid-${name}` },
});

// Every behaviour holds whether the store keeps objects as they are or packed (the member caches).
describe.each([
  ['as objects', () => new ObjectStore<Service>(undefined, asObjects as StoreCodec<Service>)],
  ['packed', () => new ObjectStore<Service>(projectService, compactServices)],
])('the object store, %s', (_how, newStore) => {
  it('replaces a namespace scope on relist and reports what appeared, changed and vanished', () => {
    const store = newStore();
    store.apply({ type: 'relisted', namespace: undefined, items: [svc('a', '1'), svc('b', '1'), svc('c', '1', 'other')] });
    const changes = store.apply({ type: 'relisted', namespace: 'data', items: [svc('a', '1'), svc('b', '2'), svc('d', '3')] });
    expect(changes.map((c) => `${c.before?.metadata.name ?? '-'}→${c.after?.metadata.name ?? '-'}`).sort()).toEqual(['-→d', 'b→b']);
    expect(store.get('other', 'c')).toBeDefined();
    const gone = store.apply({ type: 'relisted', namespace: 'data', items: [] });
    expect(gone).toHaveLength(3);
  });

  it('takes a relist page by page as it takes it whole: what the last page ends is gone only then', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 6 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.constantFrom('1', '2')), { maxLength: 8 }),
        fc.array(fc.nat(3), { maxLength: 4 }),
        (before, listed, cuts) => {
          const items = [...new Map(listed).entries()].map(([name, rv]) => svc(name, rv));
          const whole = newStore();
          const paged = newStore();
          for (const store of [whole, paged]) store.apply({ type: 'relisted', namespace: 'data', items: before.map((n) => svc(n, '1')) });
          const wholeChanges = whole.apply({ type: 'relisted', namespace: 'data', items });
          // The same items cut into pages (some empty), each applied as it comes.
          const pages: Service[][] = [];
          let at = 0;
          for (const n of cuts) pages.push(items.slice(at, (at += n)));
          pages.push(items.slice(at));
          const pagedChanges = pages.flatMap((page, i) =>
            paged.apply({ type: 'relisted', namespace: 'data', items: page, page: { first: i === 0, last: i === pages.length - 1 } }),
          );
          const names = (s: ObjectStore<Service>) => [...s.values()].map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
          const told = (cs: Change<Service>[]) =>
            cs.map((c) => `${c.before?.metadata.name ?? '-'}→${c.after?.metadata.name ?? '-'}`).sort();
          expect(names(paged)).toEqual(names(whole));
          expect(told(pagedChanges)).toEqual(told(wholeChanges));
        },
      ),
    );
  });

  it('removes nothing before the last page, and a relist begun again forgets what a failed one saw', () => {
    const store = newStore();
    store.apply({ type: 'relisted', namespace: 'data', items: [svc('a', '1'), svc('b', '1')] });
    expect(store.apply({ type: 'relisted', namespace: 'data', items: [svc('a', '1')], page: { first: true, last: false } })).toEqual([]);
    expect(store.get('data', 'b')).toBeDefined();
    // The list failed midway; the next one begins again and brings only b.
    store.apply({ type: 'relisted', namespace: 'data', items: [svc('b', '1')], page: { first: true, last: false } });
    const ended = store.apply({ type: 'relisted', namespace: 'data', items: [], page: { first: false, last: true } });
    expect(ended.map((c) => `${c.before?.metadata.name ?? '-'}→${c.after?.metadata.name ?? '-'}`)).toEqual(['a→-']);
  });

  it('ignores a delete of an object it never held', () => {
    const store = newStore();
    expect(store.apply({ type: 'deleted', object: svc('x', '5') })).toEqual([]);
  });

  it('takes the watch echo of our own write as no change', () => {
    const store = newStore();
    store.recordWrite(svc('a', '7'));
    expect(store.apply({ type: 'modified', object: svc('a', '7') })).toEqual([]);
    expect(store.apply({ type: 'modified', object: svc('a', '8') })).toHaveLength(1);
  });

  it('keeps the newer copy when a write response arrives after the watch', () => {
    const store = newStore();
    store.apply({ type: 'added', object: svc('a', '10') });
    expect(store.recordWrite(svc('a', '9'))).toBeUndefined();
    expect(store.recordWrite(svc('a', '11'))).toBeDefined();
    expect(store.get('data', 'a')?.metadata.resourceVersion).toBe('11');
  });

  it('keeps what our write recorded when the lagging watch brings an older version of it', () => {
    // A policy's finalizer taken off (rv 12) while the watch still delivers its deletion mark (rv 11):
    // the older copy, finalizer and all, would have the next pass take the finalizer off again.
    const store = newStore();
    store.apply({ type: 'added', object: svc('a', '10') });
    store.recordWrite(svc('a', '12'));
    expect(store.apply({ type: 'modified', object: svc('a', '11') })).toEqual([]);
    expect(store.get('data', 'a')?.metadata.resourceVersion).toBe('12');
    // A new object of that name is news whatever its resourceVersion says.
    expect(
      store.apply({ type: 'added', object: { ...svc('a', '3'), metadata: { ...svc('a', '3').metadata, uid: 'uid-new' } } }),
    ).toHaveLength(1);
  });

  it('drops an object once our write takes off its last finalizer while it is being deleted', () => {
    const store = newStore();
    const deleting = (rv: string, finalizers: string[]): Service => ({
      metadata: { ...svc('a', rv).metadata, deletionTimestamp: '2026-12-02T18:44:51Z', finalizers },
    });
    store.apply({ type: 'modified', object: deleting('20', ['globalsvc.dev/replicas']) });
    expect(store.recordWrite(deleting('21', []))).toMatchObject({ after: undefined });
    expect(store.get('data', 'a')).toBeUndefined();
    // The lagging watch does not bring it back; its deletion closes the matter.
    expect(store.apply({ type: 'modified', object: deleting('20', ['globalsvc.dev/replicas']) })).toEqual([]);
    expect(store.apply({ type: 'deleted', object: deleting('21', []) })).toEqual([]);
    expect(store.get('data', 'a')).toBeUndefined();
    // A new object of the same name afterwards is taken as it comes.
    expect(store.apply({ type: 'added', object: svc('a', '30') })).toHaveLength(1);
  });

  it('does not bring back what our own delete removed when the watch still delivers its last change', () => {
    const store = newStore();
    store.apply({ type: 'added', object: svc('a', '10') });
    store.recordDelete('data', 'a', 'uid-a');
    expect(store.apply({ type: 'modified', object: svc('a', '11') })).toEqual([]);
    expect(store.get('data', 'a')).toBeUndefined();
    // Another object by that name (a new uid) is news, and ends the wait for the old one's deletion.
    const other: Service = { metadata: { ...svc('a', '12').metadata, uid: 'uid-other' } };
    expect(store.apply({ type: 'added', object: other })).toHaveLength(1);
    expect(store.apply({ type: 'modified', object: { metadata: { ...other.metadata, resourceVersion: '13' } } })).toHaveLength(1);
  });

  describe('while our write of an object is in flight', () => {
    it("holds the watch's events of it, and takes the write's own echo as no change once the answer is recorded", () => {
      const store = newStore();
      store.apply({ type: 'added', object: svc('a', '5') });
      store.beginWrite('data', 'a');
      expect(store.apply({ type: 'modified', object: svc('a', '7') })).toEqual([]);
      // Other objects are not held.
      expect(store.apply({ type: 'added', object: svc('b', '8') })).toHaveLength(1);
      expect(store.recordWrite(svc('a', '7'))).toMatchObject({ after: { metadata: { resourceVersion: '7' } } });
      expect(store.endWrite('data', 'a')).toEqual([]);
      // After the write, events flow as before.
      expect(store.apply({ type: 'modified', object: svc('a', '9') })).toHaveLength(1);
    });

    it('gives back a change that was not ours, in order, after the answer', () => {
      const store = newStore();
      store.beginWrite('data', 'a');
      store.apply({ type: 'added', object: svc('a', '7') });
      store.apply({ type: 'modified', object: svc('a', '8') });
      store.recordWrite(svc('a', '7'));
      const changes = store.endWrite('data', 'a');
      expect(changes.map((c) => `${c.before?.metadata.resourceVersion}→${c.after?.metadata.resourceVersion}`)).toEqual(['7→8']);
      expect(store.get('data', 'a')?.metadata.resourceVersion).toBe('8');
    });

    it('replays what it held when the write failed (no answer to recognise an echo by)', () => {
      const store = newStore();
      store.beginWrite('data', 'a');
      store.apply({ type: 'added', object: svc('a', '3') });
      expect(store.endWrite('data', 'a')).toMatchObject([{ before: undefined, after: { metadata: { resourceVersion: '3' } } }]);
    });

    it("takes a delete's echo as no change once the delete is recorded", () => {
      const store = newStore();
      store.apply({ type: 'added', object: svc('a', '3') });
      store.beginWrite('data', 'a');
      store.apply({ type: 'deleted', object: svc('a', '4') });
      expect(store.recordDelete('data', 'a', 'uid-a')).toBeDefined();
      expect(store.endWrite('data', 'a')).toEqual([]);
      expect(store.get('data', 'a')).toBeUndefined();
    });

    it('drops what it held when a relist of its scope comes: the relist is newer', () => {
      const store = newStore();
      store.apply({ type: 'added', object: svc('a', '3') });
      store.beginWrite('data', 'a');
      store.apply({ type: 'deleted', object: svc('a', '4') });
      store.apply({
        type: 'relisted',
        namespace: 'data',
        items: [{ ...svc('a', '6'), metadata: { ...svc('a', '6').metadata, uid: 'uid-again' } }],
      });
      expect(store.endWrite('data', 'a')).toEqual([]);
      expect(store.get('data', 'a')?.metadata.uid).toBe('uid-again');
    });

    it('holds until the last of two writes of one object ends', () => {
      const store = newStore();
      store.beginWrite('data', 'a');
      store.beginWrite('data', 'a');
      store.apply({ type: 'added', object: svc('a', '3') });
      expect(store.endWrite('data', 'a')).toEqual([]);
      expect(store.get('data', 'a')).toBeUndefined();
      expect(store.endWrite('data', 'a')).toHaveLength(1);
      expect(store.endWrite('data', 'a')).toEqual([]);
    });
  });
});
