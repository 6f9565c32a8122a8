// The small helpers every layer shares, in one place: object keys, Kubernetes' time formats, and
// listen addresses. Nothing here knows of globals, bursting or the API client.
import type { KubeObject } from './domain/k8s-types.js';

/** `namespace/name`: the key of a namespaced object in every cache, index and work queue. */
export const objectKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** A property name V8 looks strings up by: storing one puts the string in V8's string table. */
const internTable: Record<string, 0> = Object.create(null) as Record<string, 0>;

/**
 * V8's one copy of the string's characters. The caches and indexes hold `namespace/name` keys,
 * names and namespaces by the hundred thousand, each built anew (by concatenation, or sliced out of
 * an object) at every event that brings it: at 10,000 globals 224,690 key strings and 171,187 ropes
 * for about 100,000 distinct keys, 15 MiB (docs/benchmarks.md, Issue 18). A string stored as a
 * property name is internalized: flat, in V8's string table, which holds its strings weakly (a key
 * nothing holds any more is collected as before). The table's copy is read back as the one property
 * name of an otherwise empty object and returned: the string passed in only becomes a forwarding
 * reference to it (a ThinString, 24 bytes), which garbage collection does not always replace where
 * it is held (31,711 of them at 10,000 globals, 2026-12-07's tenth session). About 0.4 µs a call.
 */
export function intern(s: string): string {
  internTable[s] = 0;
  const internalized = Object.keys(internTable)[0]!;
  delete internTable[s];
  return internalized;
}

/** metav1.Time: RFC 3339 in UTC with milliseconds (the API server keeps seconds). */
export const isoTime = (ms: number): string => new Date(ms).toISOString();

/** metav1.MicroTime (Lease renewals, events.k8s.io eventTime): RFC 3339 with exactly six fractional digits. */
export const microTime = (ms: number): string => isoTime(ms).replace(/\.(\d{3})Z$/, '.$1000Z');

export interface Address {
  host: string;
  port: number;
}

/** `:9090`, `0.0.0.0:9090`, `127.0.0.1:0` → host and port. An empty host means every interface. */
export function parseAddress(value: string): Address {
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${value}" is not a host:port address`);
  const host = value.slice(0, colon).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * Code-point order, as Go's sort.Strings: the same in every locale, and no ICU collator to load
 * (`localeCompare` brings one in, about 3 MiB, and is slower). For the DNS labels, port names and
 * cluster names the planner sorts it is the order localeCompare gave (a property test checks), so
 * no slice is written again for it.
 */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with every object's keys sorted: equal values give equal text, whatever order their keys came in (the API server sorts them). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b)))
      : v,
  );
}
