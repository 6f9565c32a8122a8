import { describe, expect, it } from 'vitest';
import type { Service } from '../domain/k8s-types.js';
import { ObjectStore } from './object-store.js';

const svc = (name: string, rv: string, namespace = 'data'): Service => ({
  metadata: { name, namespace, resourceVersion: rv, uid: `uid-${name}` },
});

describe('the object store', () => {
  it('replaces a namespace scope on relist and reports what appeared, changed and vanished', () => {
    const store = new ObjectStore<Service>();
    store.apply({ type: 'relisted', namespace: undefined, items: [svc('a', '1'), svc('b', '1'), svc('c', '1', 'other')] });
    const changes = store.apply({ type: 'relisted', namespace: 'data', items: [svc('a', '1'), svc('b', '2'), svc('d', '3')] });
    expect(changes.map((c) => `${c.before?.metadata.name ?? '-'}→${c.after?.metadata.name ?? '-'}`).sort()).toEqual(['-→d', 'b→b']);
    expect(store.get('other', 'c')).toBeDefined();
    const gone = store.apply({ type: 'relisted', namespace: 'data', items: [] });
    expect(gone).toHaveLength(3);
  });

  it('ignores a delete of an object it never held', () => {
    const store = new ObjectStore<Service>();
    expect(store.apply({ type: 'deleted', object: svc('x', '5') })).toEqual([]);
  });

  it('takes the watch echo of our own write as no change', () => {
    const store = new ObjectStore<Service>();
    store.recordWrite(svc('a', '7'));
    expect(store.apply({ type: 'modified', object: svc('a', '7') })).toEqual([]);
    expect(store.apply({ type: 'modified', object: svc('a', '8') })).toHaveLength(1);
  });

  it('keeps the newer copy when a write response arrives after the watch', () => {
    const store = new ObjectStore<Service>();
    store.apply({ type: 'added', object: svc('a', '10') });
    expect(store.recordWrite(svc('a', '9'))).toBeUndefined();
    expect(store.recordWrite(svc('a', '11'))).toBeDefined();
    expect(store.get('data', 'a')?.metadata.resourceVersion).toBe('11');
  });
});
