import type { KubeObject } from '../domain/k8s-types.js';
import { objectKey } from '../domain/k8s-types.js';
import type { ResourceEvent } from '../cluster/watch-stream.js';
import { asObjects, type StoreCodec } from '../domain/compact.js';
import { intern } from '../shared.js';

/** One object's change as the store saw it: before and after (undefined when absent). */
export interface Change<T> {
  before: T | undefined;
  after: T | undefined;
}

/** A watch event of one object (not a relist). */
type ObjectEvent<T extends KubeObject> = Exclude<ResourceEvent<T>, { type: 'relisted' }>;

/** resourceVersions are opaque to clients, but etcd's are integers: use that to ignore stale copies. */
function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (!candidate || !current) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(current)) return BigInt(candidate) > BigInt(current);
  return candidate !== current;
}

/**
 * The cache of one resource type, fed by watch events and by the responses of our own writes
 * (so a reconcile that runs before the watch delivers our write does not redo it).
 *
 * It keeps what `transform` leaves of an object (src/domain/projection.ts). Watch events arrive
 * transformed already: the stream that feeds the store applies the same transform page by page,
 * so a relist never holds whole objects (watchResource's `transform`). Write responses are
 * transformed here. The codec decides how each is kept: as it is, or packed into one string
 * (the member caches, src/domain/compact.ts) and read back by `get` and `values`.
 */
export class ObjectStore<T extends KubeObject> {
  /** By `namespace/name`, each as the codec keeps it (src/domain/compact.ts): read back with `unpack`. */
  private readonly objects = new Map<string, unknown>();
  /**
   * What our own writes removed (by key, the uid removed) until the watch says so too: its lagging
   * events of the object would otherwise bring it back.
   */
  private readonly removed = new Map<string, string | undefined>();
  /**
   * Objects our own writes are changing (by key, how many writes), with the watch events of them
   * that arrived meanwhile: held until the write's answer is recorded, so the echo of the write
   * (often delivered before its answer) is known as ours and changes nothing.
   */
  private readonly writing = new Map<string, { writes: number; held: ObjectEvent<T>[] }>();
  /** The relists under way page by page, by namespace scope (undefined: every namespace): the keys their pages brought so far. */
  private readonly relisting = new Map<string | undefined, Set<string>>();

  constructor(
    readonly transform: (object: T) => T = (object) => object,
    private readonly codec: StoreCodec<T> = asObjects as StoreCodec<T>,
  ) {}

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string, name: string): T | undefined {
    return this.read(`${namespace}/${name}`);
  }

  has(namespace: string, name: string): boolean {
    return this.objects.has(`${namespace}/${name}`);
  }

  /** Every object, each read back as it is reached. */
  *values(): IterableIterator<T> {
    for (const [key, packed] of this.objects) yield this.codec.unpack(packed, key);
  }

  private read(key: string): T | undefined {
    const packed = this.objects.get(key);
    return packed === undefined ? undefined : this.codec.unpack(packed, key);
  }

  /** Keeps the object at its key, the key interned (src/shared.ts): the indexes hold the same string. */
  private keep(key: string, object: T): void {
    this.objects.set(intern(key), this.codec.pack(object));
  }

  /** Whether the kept copy at `key` is this object (same uid) at this resourceVersion or newer. */
  private holdsAtLeast(key: string, object: T): boolean {
    const packed = this.objects.get(key);
    return (
      packed !== undefined &&
      this.codec.uid(packed) === object.metadata.uid &&
      !isNewer(object.metadata.resourceVersion, this.codec.resourceVersion(packed))
    );
  }

  /** Applies a watch event; a relist replaces every object of its namespace scope. */
  apply(event: ResourceEvent<T>): Change<T>[] {
    if (event.type === 'relisted') {
      const inScope = (key: string) => event.namespace === undefined || key.startsWith(`${event.namespace}/`);
      const page = event.page ?? { first: true, last: true };
      let seen = this.relisting.get(event.namespace);
      // A relist begins: a page that says so, or a whole list (one begun before and never ended, its
      // list failed midway, is given up: what it saw says nothing of this one).
      if (page.first || !seen) {
        seen = new Set<string>();
        this.relisting.set(event.namespace, seen);
        for (const key of this.removed.keys()) if (inScope(key)) this.removed.delete(key);
        // A relist is the truth as of after every event held so far: those are dropped, not replayed.
        for (const [key, w] of this.writing) if (inScope(key)) w.held = [];
      }
      const changes: Change<T>[] = [];
      for (const item of event.items) {
        const key = objectKey(item);
        seen.add(key);
        const packed = this.objects.get(key);
        // The same resourceVersion is the same object: kept as it is, not packed again.
        if (packed !== undefined && this.codec.resourceVersion(packed) === item.metadata.resourceVersion) continue;
        changes.push({ before: this.read(key), after: item });
        this.keep(key, item);
      }
      if (!page.last) return changes;
      this.relisting.delete(event.namespace);
      for (const key of this.objects.keys()) {
        if (seen.has(key) || !inScope(key)) continue;
        const before = this.read(key);
        this.objects.delete(key);
        changes.push({ before, after: undefined });
      }
      return changes;
    }
    const key = objectKey(event.object);
    const writing = this.writing.get(key);
    if (writing) {
      writing.held.push(event);
      return [];
    }
    return this.applyOne(key, event);
  }

  private applyOne(key: string, event: ObjectEvent<T>): Change<T>[] {
    const object = event.object;
    if (this.removed.has(key)) {
      const uid = this.removed.get(key);
      if (event.type === 'deleted' || uid !== object.metadata.uid) this.removed.delete(key);
      if (uid === object.metadata.uid) return [];
    }
    if (event.type === 'deleted') {
      // A delete of something never seen (e.g. after our own write-through removal) changes nothing.
      const before = this.read(key);
      if (!before) return [];
      this.objects.delete(key);
      return [{ before, after: undefined }];
    }
    // The watch bringing back a version our own write already recorded, or one older than it (the watch
    // lags our writes), is no change at all: the older copy would undo what the cache knows.
    if (this.holdsAtLeast(key, object)) return [];
    const before = this.read(key);
    this.keep(key, object);
    return [{ before, after: object }];
  }

  /**
   * Says a write of this object is being sent: its watch events are held until `endWrite`, by
   * which time the write's answer (or failure) is known.
   */
  beginWrite(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const writing = this.writing.get(key);
    if (writing) writing.writes++;
    else this.writing.set(key, { writes: 1, held: [] });
  }

  /**
   * Ends a write `beginWrite` announced (call it after recording the answer, success or not) and
   * applies the events held meanwhile: the write's own echo changes nothing now, anyone else's
   * change is returned as a watch event's would have been.
   */
  endWrite(namespace: string, name: string): Change<T>[] {
    const key = `${namespace}/${name}`;
    const writing = this.writing.get(key);
    if (!writing) return [];
    if (--writing.writes > 0) return [];
    this.writing.delete(key);
    return writing.held.flatMap((event) => this.applyOne(key, event));
  }

  /**
   * Records the object an API write returned, unless the cache already holds a newer copy. An object
   * being deleted with no finalizer left is gone once written (the write took off the last one).
   */
  recordWrite(written: T): Change<T> | undefined {
    const object = this.transform(written);
    const key = objectKey(object);
    if (this.holdsAtLeast(key, object)) return undefined;
    const before = this.read(key);
    if (object.metadata.deletionTimestamp && !object.metadata.finalizers?.length) {
      if (!before || before.metadata.uid !== object.metadata.uid) return undefined;
      this.objects.delete(key);
      this.removed.set(key, object.metadata.uid);
      return { before, after: undefined };
    }
    this.keep(key, object);
    return { before, after: object };
  }

  /** Records a delete we made (the watch will confirm it). */
  recordDelete(namespace: string, name: string, uid: string | undefined): Change<T> | undefined {
    const key = `${namespace}/${name}`;
    const before = this.read(key);
    if (!before || (uid && before.metadata.uid !== uid)) return undefined;
    this.objects.delete(key);
    this.removed.set(key, before.metadata.uid);
    return { before, after: undefined };
  }
}
